// The node's identity on disk: its key (made here, 0600, never sent), its certificate, the hub CA,
// and where the hub is. Renewal writes new files first, then swaps the pointer atomically, so a
// crash at any moment leaves a matching key and certificate.
import { existsSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writePublicFile, writeSecretFile, checkSecretFileMode } from '../certs/files.js';
import { certInfo } from '../certs/inspect.js';
import { AgentError } from './errors.js';
import { k3sPaths } from './k3s/paths.js';

export interface IdentityMeta {
  nodeId: string;
  nodeName: string;
  pool: string;
  hubUrl: string;
  joinedAt: string;
  /** Local time the current certificate arrived; renewal is timed from here, not from the backdated notBefore. */
  certReceivedAt?: string;
  /** k3s mode chosen at join (`run` keeps it unless told otherwise). */
  k3s?: 'auto' | 'off';
  /** File names (in the data dir) of the current key and certificate. */
  keyFile: string;
  certFile: string;
}

export interface Identity extends IdentityMeta {
  keyPem: string;
  certPem: string;
  caPem: string;
  notBefore: Date;
  notAfter: Date;
}

const META = 'identity.json';
const CA = 'ca.crt';

export function hasIdentity(dataDir: string): boolean {
  return existsSync(join(dataDir, META));
}

export function loadIdentity(dataDir: string): Identity {
  const metaPath = join(dataDir, META);
  if (!existsSync(metaPath)) {
    throw new AgentError(
      'NO_IDENTITY',
      `no identity in ${dataDir}: join first with "atoll-agent join --hub URL --token TOKEN"`,
    );
  }
  let meta: IdentityMeta;
  try {
    meta = JSON.parse(readFileSync(metaPath, 'utf8')) as IdentityMeta;
  } catch (err) {
    throw new AgentError(
      'IDENTITY_CORRUPT',
      `${metaPath} is unreadable (${(err as Error).message}); remove the data dir and join again`,
    );
  }
  const keyPath = join(dataDir, meta.keyFile);
  checkSecretFileMode(keyPath);
  const keyPem = readFileSync(keyPath, 'utf8');
  const certPem = readFileSync(join(dataDir, meta.certFile), 'utf8');
  const caPem = readFileSync(join(dataDir, CA), 'utf8');
  const info = certInfo(certPem);
  return { ...meta, keyPem, certPem, caPem, notBefore: info.notBefore, notAfter: info.notAfter };
}

/** Stores a key + certificate pair under serial-named files, then points identity.json at them. */
export function saveIdentity(
  dataDir: string,
  meta: Omit<IdentityMeta, 'keyFile' | 'certFile' | 'certReceivedAt'>,
  material: { keyPem: string; certPem: string; caPem?: string },
): Identity {
  const info = certInfo(material.certPem);
  const keyFile = `node-${info.serial}.key`;
  const certFile = `node-${info.serial}.crt`;
  writeSecretFile(join(dataDir, keyFile), material.keyPem);
  writePublicFile(join(dataDir, certFile), material.certPem);
  if (material.caPem) writePublicFile(join(dataDir, CA), material.caPem);
  const full: IdentityMeta = { ...meta, keyFile, certFile, certReceivedAt: new Date().toISOString() };
  writePublicFile(join(dataDir, META), JSON.stringify(full, null, 2) + '\n');
  // Old pairs are no longer referenced: remove them.
  for (const f of readdirSync(dataDir)) {
    if (/^node-[0-9a-f]+\.(key|crt)$/.test(f) && f !== keyFile && f !== certFile)
      rmSync(join(dataDir, f), { force: true });
  }
  return loadIdentity(dataDir);
}

/** Files of this machine's node identity and of the node's state, forgotten by `join --force`. */
const IDENTITY_FILES = [META, 'renew.key', 'commands.json', 'status.json'];

/**
 * Forgets the node identity in `dataDir` (join --force on a cloned machine): key, certificates,
 * command journal, status, and the k3s agent's state for that node. Downloaded k3s binaries stay.
 */
export function discardIdentity(dataDir: string): void {
  for (const f of readdirSync(dataDir)) {
    if (/^node-[0-9a-f]+\.(key|crt)$/.test(f) || IDENTITY_FILES.includes(f)) rmSync(join(dataDir, f), { force: true });
  }
  const k3s = k3sPaths(dataDir);
  for (const p of [k3s.dataDir, k3s.tokenFile, k3s.assignment, k3s.config]) rmSync(p, { recursive: true, force: true });
}

/**
 * Two thirds through its lifetime, a certificate should be renewed. The hub backdates notBefore to
 * absorb clock skew, so the lifetime counts from when the certificate arrived when that is known.
 */
export function renewDueAt(id: Pick<Identity, 'notBefore' | 'notAfter' | 'certReceivedAt'>): number {
  const received = id.certReceivedAt ? Date.parse(id.certReceivedAt) : NaN;
  const start = Number.isFinite(received)
    ? Math.max(id.notBefore.getTime(), Math.min(received, id.notAfter.getTime()))
    : id.notBefore.getTime();
  return start + ((id.notAfter.getTime() - start) * 2) / 3;
}
