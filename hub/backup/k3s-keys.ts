// The k3s server's identity in a backup: its token and its CAs and keys (server/token, server/tls/,
// server/cred/), what k3s's own docs say to keep beside the datastore. Without them a restored k3s
// server makes new CAs: the kubelets' certificates, the node tokens (their CA hash) and every
// kubeconfig stop working, and no node can reach it. They are secrets, so they travel sealed with the
// cluster secret (as the store's CA key is): a restore opens them with the cluster secret it puts in
// place. Only regular files are kept (k3s re-creates its node-token/agent-token links), bounded in
// count and size.
import { lstatSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { writeSecretFile } from '../../certs/files.js';
import { seal, unseal, type SealKey } from '../../certs/sealed.js';
import { BackupError } from '../errors.js';

export const K3S_KEYS_MEMBER = 'k3s/server/keys.sealed';
const PURPOSE = 'backup';
const NAME = 'k3s-server-keys';
/** What is kept, relative to <k3s data dir>/server. */
const KEPT = ['token', 'tls', 'cred'];
const MAX_FILES = 500;
const MAX_BYTES = 16 * 1024 * 1024;

function walk(root: string, rel: string, out: Map<string, Buffer>, total: { bytes: number }): void {
  const path = join(root, rel);
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // absent: nothing to keep
  }
  if (st.isDirectory()) {
    for (const e of readdirSync(path).sort()) walk(root, join(rel, e), out, total);
    return;
  }
  if (!st.isFile()) return;
  total.bytes += st.size;
  if (out.size >= MAX_FILES || total.bytes > MAX_BYTES)
    throw new BackupError(
      'BACKUP_FAILED',
      `the k3s server keys in ${root} are larger than a k3s server's (over ${MAX_FILES} files or ${MAX_BYTES} bytes)`,
    );
  out.set(rel.split(sep).join('/'), readFileSync(path));
}

/** The k3s server's token and keys under `serverDir` (<k3s data dir>/server), sealed; undefined when there are none. */
export function sealK3sServerKeys(serverDir: string, key: SealKey): { sealed: Buffer; files: number } | undefined {
  const files = new Map<string, Buffer>();
  const total = { bytes: 0 };
  for (const k of KEPT) walk(serverDir, k, files, total);
  if (!files.has('token')) return undefined; // no k3s server ran here
  const body = JSON.stringify(Object.fromEntries([...files].map(([n, b]) => [n, b.toString('base64')])));
  return { sealed: seal(key, PURPOSE, NAME, body), files: files.size };
}

/** Writes the sealed keys back under `serverDir` (0600, folders 0700); BackupError when they do not open or do not fit. */
export function restoreK3sServerKeys(sealed: Buffer, serverDir: string, key: SealKey, archive: string): number {
  let files: Record<string, unknown>;
  try {
    files = JSON.parse(unseal(key, PURPOSE, NAME, sealed).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new BackupError(
      'BACKUP_CORRUPT',
      `${archive}: the k3s server keys do not open with this cluster secret (${(err as Error).message}); nothing was changed`,
    );
  }
  const names = Object.keys(files ?? {});
  if (names.length > MAX_FILES) throw new BackupError('BACKUP_CORRUPT', `${archive}: too many k3s server key files`);
  for (const name of names) {
    const data = files[name];
    const path = join(serverDir, ...name.split('/'));
    const rel = relative(serverDir, path);
    if (
      typeof data !== 'string' ||
      !KEPT.includes(name.split('/')[0]) ||
      rel.startsWith('..') ||
      name.split('/').some((p) => p === '' || p === '.' || p === '..')
    )
      throw new BackupError('BACKUP_CORRUPT', `${archive}: a k3s server key file has a bad name; nothing was changed`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeSecretFile(path, Buffer.from(data, 'base64'));
  }
  return names.length;
}
