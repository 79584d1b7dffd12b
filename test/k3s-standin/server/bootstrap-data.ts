// k3s's bootstrap data on an external datastore (pkg/cluster/storage.go, encrypt.go): the cluster
// CAs and keys as JSON, sealed with AES-256-GCM under a PBKDF2-SHA1 key (4096 rounds) derived from
// the token's password, stored at /bootstrap/<first 12 hex of sha256(password)>. The first server
// writes it; the others read it and so sign with the same CAs. Another token cannot read it.
import { createCipheriv, createDecipheriv, createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { RawKv } from '../store/open-store.js';

/** Bootstrap fields and the files under server/tls they hold. */
const FILES: readonly (readonly [string, string])[] = [
  ['ServerCA', 'server-ca.crt'],
  ['ServerCAKey', 'server-ca.key'],
  ['ClientCA', 'client-ca.crt'],
  ['ClientCAKey', 'client-ca.key'],
  ['RequestHeaderCA', 'request-header-ca.crt'],
  ['RequestHeaderCAKey', 'request-header-ca.key'],
  ['ServiceKey', 'service.key'],
];

/** Certificates signed by the CAs above: re-issued when a CA arrives from the datastore. */
const DEPENDENTS = ['client-admin', 'client-kube-proxy', 'client-k3s-controller', 'serving-kube-apiserver'];

const NONCE = 12;
const TAG = 16;

export class BootstrapError extends Error {
  readonly code = 'BOOTSTRAP';
}

export function storageKey(passphrase: string): string {
  return `/bootstrap/${createHash('sha256').update(passphrase).digest('hex').slice(0, 12)}`;
}

function keyFor(passphrase: string, salt: string): Buffer {
  return pbkdf2Sync(Buffer.from(passphrase), Buffer.from(salt), 4096, 32, 'sha1');
}

export function encrypt(passphrase: string, plaintext: Buffer): Buffer {
  const salt = randomBytes(8).toString('hex');
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', keyFor(passphrase, salt), nonce);
  const sealed = Buffer.concat([nonce, c.update(plaintext), c.final(), c.getAuthTag()]);
  return Buffer.from(`${salt}:${sealed.toString('base64')}`);
}

export function decrypt(passphrase: string, data: Buffer): Buffer {
  const text = data.toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) throw new BootstrapError('invalid cipher text, not : delimited');
  const sealed = Buffer.from(text.slice(i + 1), 'base64');
  if (sealed.length < NONCE + TAG) throw new BootstrapError('cipher: message authentication failed');
  const d = createDecipheriv('aes-256-gcm', keyFor(passphrase, text.slice(0, i)), sealed.subarray(0, NONCE));
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  try {
    return Buffer.concat([d.update(sealed.subarray(NONCE, sealed.length - TAG)), d.final()]);
  } catch {
    throw new BootstrapError('cipher: message authentication failed');
  }
}

/** The files as k3s serialises them: {"ServerCA": {"Timestamp": ..., "Content": base64}, ...}. */
function readFromDisk(tlsDir: string): Buffer {
  const out: Record<string, { Timestamp: string; Content: string }> = {};
  for (const [field, file] of FILES) {
    const path = join(tlsDir, file);
    if (!existsSync(path)) continue;
    out[field] = { Timestamp: statSync(path).mtime.toISOString(), Content: readFileSync(path).toString('base64') };
  }
  return Buffer.from(JSON.stringify(out));
}

function writeToDisk(tlsDir: string, data: Buffer): void {
  const parsed = JSON.parse(data.toString('utf8')) as Record<string, { Content?: string }>;
  let changed = false;
  for (const [field, file] of FILES) {
    const content = parsed[field]?.Content;
    if (content === undefined) continue;
    const bytes = Buffer.from(content, 'base64');
    const path = join(tlsDir, file);
    if (existsSync(path) && readFileSync(path).equals(bytes)) continue;
    writeFileAtomic(path, bytes, file.endsWith('.key') ? 0o600 : 0o644);
    changed = true;
  }
  if (!changed) return;
  for (const name of DEPENDENTS)
    for (const ext of ['crt', 'key', 'sans']) rmSync(join(tlsDir, `${name}.${ext}`), { force: true });
}

/**
 * storageBootstrap: loads the datastore's bootstrap data into server/tls. Returns false when the
 * datastore has none yet (this server creates the CAs and saves them); throws when the data there
 * was sealed with another token.
 */
export function loadBootstrap(kv: RawKv, passphrase: string, tlsDir: string): boolean {
  const rows = kv.list('/bootstrap/');
  if (rows.length === 0) return false;
  const mine = rows.find((r) => r.name === storageKey(passphrase));
  if (!mine?.value) throw new BootstrapError('bootstrap data already found and encrypted with different token');
  writeToDisk(tlsDir, decrypt(passphrase, Buffer.from(mine.value)));
  return true;
}

/** Save: seals this server's CAs into the datastore; false when another server saved first. */
export function saveBootstrap(kv: RawKv, passphrase: string, tlsDir: string): boolean {
  return kv.create(storageKey(passphrase), encrypt(passphrase, readFromDisk(tlsDir)));
}
