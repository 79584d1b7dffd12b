// The k3s datastore of a hub whose k3s server runs embedded etcd (`--k3s-arg --cluster-init`): one
// `k3s etcd-snapshot save` against the running server (k3s takes the snapshot in the server and
// writes it where it is told), read back into the archive. The server's port comes from the
// kubeconfig k3s wrote for the hub; the token from the k3s data dir (the k3s CLI reads it there).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { BackupError } from '../errors.js';
import { resolveK3s } from '../k3s/binary.js';
import { k3sDataDir, kubeconfigPath } from '../k3s/server-args.js';

export const ETCD_SNAPSHOT_NAME = 'atoll-backup';
const SAVE_TIMEOUT_MS = 5 * 60_000;

export interface EtcdSnapshotOptions {
  dataDir: string;
  /** The hub's --k3s: auto (PATH, then <data-dir>/k3s/bin/k3s) or a path. */
  k3s?: string;
  /** The k3s server's port; default from <data-dir>/kubeconfig.yaml. */
  k3sHttpsPort?: number;
  /** Where k3s writes the snapshot (a fresh, private folder). */
  workDir: string;
}

export function usesEmbeddedEtcd(dataDir: string): boolean {
  return existsSync(join(k3sDataDir(dataDir), 'server', 'db', 'etcd'));
}

function failed(message: string): BackupError {
  return new BackupError('BACKUP_FAILED', `no embedded etcd snapshot: ${message}`);
}

function serverPort(o: EtcdSnapshotOptions): number {
  if (o.k3sHttpsPort) return o.k3sHttpsPort;
  const file = kubeconfigPath(o.dataDir);
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const m = /^\s*server:\s*https:\/\/[^\s/]*:(\d{1,5})\s*$/m.exec(text);
  if (!m) throw failed(`cannot tell the k3s server's port from ${file}: is the hub's control plane running?`);
  return Number(m[1]);
}

async function binaryOf(o: EtcdSnapshotOptions): Promise<string> {
  const found = await resolveK3s(o.k3s && o.k3s !== 'off' ? o.k3s : 'auto', o.dataDir);
  if (found.kind === 'found') return found.path;
  const why = found.kind === 'off' ? 'k3s is off' : found.reason;
  throw failed(`taking it needs the k3s binary (${why}); pass --k3s PATH`);
}

/** Takes the snapshot; returns its bytes and the name k3s gave it. */
export async function saveEtcdSnapshot(o: EtcdSnapshotOptions): Promise<{ name: string; data: Buffer }> {
  const binary = await binaryOf(o);
  const r = await execa(
    binary,
    [
      'etcd-snapshot',
      'save',
      '--data-dir',
      k3sDataDir(o.dataDir),
      '--etcd-server',
      `https://127.0.0.1:${serverPort(o)}`,
      '--name',
      ETCD_SNAPSHOT_NAME,
      '--etcd-snapshot-dir',
      o.workDir,
    ],
    // Only what k3s needs: never the hub's own ATOLL_*/K3S_* settings (a K3S_TOKEN would win over the file).
    {
      reject: false,
      timeout: SAVE_TIMEOUT_MS,
      env: { PATH: process.env.PATH ?? '' },
      extendEnv: false,
      stdin: 'ignore',
    },
  );
  const out = `${String(r.stderr)}\n${String(r.stdout)}`;
  const saved = /Snapshot (\S+) saved\./.exec(out)?.[1];
  if (r.exitCode !== 0 || !saved) {
    const last = out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .at(-1);
    const reason = r.timedOut
      ? `k3s etcd-snapshot save gave no answer in ${SAVE_TIMEOUT_MS / 60_000} min`
      : `k3s etcd-snapshot save failed (exit ${r.exitCode ?? r.signal}): ${(last ?? '').slice(0, 300)}`;
    throw failed(`${reason}; the hub's k3s server must be running`);
  }
  // The name comes from k3s's output: only a plain file in our own work dir is read.
  if (!readdirSync(o.workDir).includes(saved))
    throw failed(`k3s reported ${saved.slice(0, 100)} but wrote no such file`);
  return { name: saved, data: readFileSync(join(o.workDir, saved)) };
}
