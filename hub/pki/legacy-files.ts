// The secrets of a data dir written before they moved into the store (atoll without a cluster
// secret): ca.key (with ca.crt), serving.key, tls-ticket-keys, and the k3s server token k3s wrote
// into k3s/server/token. A hub imports them once, sealed (hub-secrets.ts); after that the store is
// the source of truth and these files are not read again, except that each start still refuses them
// when others may read them and refuses a ca.key that is not the store's CA. They are never deleted:
// key material is the operator's to remove (once hub.db and the cluster secret are backed up; a backup
// of hub.db from before the import needs them, as the older atoll that wrote it does).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkSecretFileMode } from '../../certs/files.js';
import type { CaMaterial } from '../../certs/ca.js';

export const LEGACY_SECRET_FILES = ['ca.key', 'serving.key', 'tls-ticket-keys'] as const;

const MAX_FILE_BYTES = 64 * 1024;

function readSecret(path: string, checkMode = true): Buffer | undefined {
  if (!existsSync(path)) return undefined;
  if (checkMode) checkSecretFileMode(path);
  if (statSync(path).size > MAX_FILE_BYTES) return undefined;
  return readFileSync(path);
}

/** Refuses (FileModeError) any old-layout secret file that others may read, even once imported. */
export function checkLegacyModes(dataDir: string): void {
  for (const name of LEGACY_SECRET_FILES) {
    const p = join(dataDir, name);
    if (existsSync(p)) checkSecretFileMode(p);
  }
}

/** ca.crt and ca.key, when both exist (ca.key checked 0600). */
export function readLegacyCa(dataDir: string): CaMaterial | undefined {
  const crt = join(dataDir, 'ca.crt');
  const key = readSecret(join(dataDir, 'ca.key'));
  if (!key || !existsSync(crt)) return undefined;
  return { certPem: readFileSync(crt, 'utf8'), keyPem: key.toString('utf8') };
}

/** ca.key alone (checked 0600), to compare with the store's CA. */
export function readLegacyCaKey(dataDir: string): string | undefined {
  return readSecret(join(dataDir, 'ca.key'))?.toString('utf8');
}

export function readLegacyServingKey(dataDir: string): string | undefined {
  return readSecret(join(dataDir, 'serving.key'))?.toString('utf8');
}

/** 48 bytes, or undefined (absent or not 48 bytes: new keys are made, as the old hub did). */
export function readLegacyTicketKeys(dataDir: string): Buffer | undefined {
  const b = readSecret(join(dataDir, 'tls-ticket-keys'));
  return b?.length === 48 ? b : undefined;
}

/**
 * The token k3s wrote at its first start (K10<hash>::server:<password>), when this hub ran k3s. k3s
 * keeps that file (0600) itself; its mode is k3s's business, so it is not checked here.
 */
export function readLegacyK3sServerToken(k3sDataDir: string): string | undefined {
  const text = readSecret(join(k3sDataDir, 'server', 'token'), false)
    ?.toString('utf8')
    .trim();
  return text || undefined;
}
