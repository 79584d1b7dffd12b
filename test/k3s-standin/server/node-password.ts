// Node passwords (pkg/nodepassword): the server keeps an scrypt hash in the immutable Secret
// kube-system/<node>.node-password.k3s and refuses another password for the same node name.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { findType } from '../store/resource-types.js';
import type { ResourceService } from '../api/resource-service.js';

const SECRETS = findType('', 'v1', 'secrets');
const N_LOG2 = 15;

export function secretName(node: string): string {
  return `${node}.node-password.k3s`.toLowerCase();
}

function derive(password: string, salt: Buffer): Buffer {
  return scryptSync(password, salt, 64, { N: 2 ** N_LOG2, r: 8, p: 1, maxmem: 128 * 1024 * 1024 });
}

export function createHash(password: string): string {
  const salt = randomBytes(8);
  return `$1:${salt.toString('hex')}:${N_LOG2}:8:1:${derive(password, salt).toString('hex')}`;
}

export function verifyHash(hash: string, password: string): boolean {
  const parts = hash.split(':');
  if (parts.length !== 6 || parts[0] !== '$1') return false;
  const want = Buffer.from(parts[5] as string, 'hex');
  const got = derive(password, Buffer.from(parts[1] as string, 'hex'));
  return want.length === got.length && timingSafeEqual(want, got);
}

export class NodePasswordRejected extends Error {}

/** nodepassword.Ensure: verify against the Secret, or create it. */
export function ensureNodePassword(svc: ResourceService, node: string, password: string): void {
  if (!SECRETS) throw new Error('secrets type missing');
  const existing = svc.find(SECRETS, 'kube-system', secretName(node));
  if (existing) {
    const data = existing.data as Record<string, string> | undefined;
    const hash = data?.hash ? Buffer.from(data.hash, 'base64').toString('utf8') : '';
    if (!hash) throw new NodePasswordRejected(`unable to locate hash data for node secret '${secretName(node)}'`);
    if (!verifyHash(hash, password))
      throw new NodePasswordRejected(`unable to verify hash for node '${node}': hash does not match`);
    return;
  }
  svc.create(SECRETS, 'kube-system', {
    metadata: { name: secretName(node), namespace: 'kube-system' },
    immutable: true,
    type: 'Opaque',
    data: { hash: Buffer.from(createHash(password)).toString('base64') },
  });
}
