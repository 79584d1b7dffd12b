// The cluster secret (--cluster-secret-file): 32 random bytes, written as 64 hex digits, 0600. Every
// secret the store holds (the CA key, the serving key, TLS ticket keys, k3s tokens) is sealed with a
// key derived from it (certs/sealed.ts), so the store alone gives none of them away. The same file
// belongs on every hub of a cluster; a lost file means the sealed CA is lost with it, so back it up
// apart from the database.
import { lstatSync, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { checkSecretFileMode, createSecretFile } from '../../certs/files.js';
import type { SealKey } from '../../certs/sealed.js';
import { ConfigError } from '../errors.js';

export interface ClusterSecret extends SealKey {
  /** Made by this start (there was no file). */
  readonly created: boolean;
}

const HEX_RE = /^[0-9a-fA-F]{64}$/;
const MAX_FILE_BYTES = 1024;

/** Whether the file exists (as anything: a dangling link or a directory is refused when read). */
export function clusterSecretExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Reads the cluster secret; ConfigError when it is unreadable, not one, or others may read it. */
export function readClusterSecret(path: string): ClusterSecret {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new ConfigError(`${path} (the cluster secret) is not a file`);
    checkSecretFileMode(path);
    size = st.size;
  } catch (err) {
    if (err instanceof ConfigError || (err as { code?: string }).code === 'INSECURE_PERMISSIONS') throw err;
    throw new ConfigError(`cannot read the cluster secret ${path}: ${(err as Error).message}`);
  }
  const text = size > MAX_FILE_BYTES ? '' : readFileSync(path, 'utf8').trim();
  if (!HEX_RE.test(text))
    throw new ConfigError(
      `${path} is not an atoll cluster secret (64 hex digits, as the hub writes at its first start, or as ` +
        '`openssl rand -hex 32` prints): use the file the cluster was made with',
    );
  return { secret: Buffer.from(text, 'hex'), source: path, created: false };
}

/** Makes a new cluster secret at `path` (0600), unless one appeared there meanwhile: then that one. */
export function createClusterSecret(path: string): ClusterSecret {
  const secret = randomBytes(32);
  if (!createSecretFile(path, `${secret.toString('hex')}\n`)) return readClusterSecret(path);
  return { secret, source: path, created: true };
}
