// atoll-hub cluster reset: a broken control plane back to a clean state, with the hub stopped. The k3s
// datastore (server/db) is moved aside, kept, and replaced by the one in the newest backup holding one
// (or --from FILE), or left empty (--empty only: with no usable backup it stops and says why); the new one is written in full
// first, and a failure anywhere puts the old one back with the tokens untouched. Every node's k3s bootstrap token is
// forgotten: at the next start the hub makes each connected node a new one and the agents register
// again by themselves. The hub's own store (nodes, certificates, the CA) is not touched.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeSecretFile } from '../../certs/files.js';
import { DirLockedError, lockDataDir, lockHolder } from '../../certs/dir-lock.js';
import { BackupError } from '../errors.js';
import { k3sDataDir } from '../k3s/server-args.js';
import { resetK3sTokens } from '../store/sqlite-backup.js';
import { archiveMacKey, readArchive, verifyArchive } from './archive.js';
import { readClusterSecret } from '../pki/cluster-secret.js';
import { K3S_DATASTORE_MEMBERS, K3S_ETCD_MEMBER, backupsDir } from './create.js';
import { clearEtcdRestore, markEtcdRestore, pendingRestoreFile } from '../k3s/etcd-restore.js';
import { listBackups } from './list.js';

export interface ResetOptions {
  dataDir: string;
  /** The archive whose k3s datastore to use; default the newest in the backup folder that has one. */
  from?: string;
  /** The backup folder (--backup-dir); default <data-dir>/backups. */
  backupDir?: string;
  /** Start the k3s datastore empty, whatever backups there are. */
  empty?: boolean;
  /** The cluster secret that signed the archives; default <data-dir>/cluster-secret. */
  clusterSecretFile?: string;
  /** Use an archive whose signature cannot be checked (format 1). */
  acceptUnsigned?: boolean;
  now?: Date;
}

export interface ResetResult {
  /** Where the old k3s datastore was moved (null: there was none). */
  movedAside: string | null;
  /** The archive the datastore came from, or null for an empty one. */
  from: string | null;
  /** Nodes whose k3s bootstrap token was forgotten (they get a new one). */
  tokensReissued: number;
  /** Newer archives refused (damaged, unsigned, or signed with another cluster secret), with why. */
  skipped: string[];
}

type K3sMember = { name: string; data: Buffer };
type Check = { macKey: Buffer | undefined; acceptUnsigned: boolean };

function k3sMemberOf(file: string, check: Check): K3sMember | undefined {
  const archive = readArchive(file);
  verifyArchive(file, archive, check.macKey, check.acceptUnsigned);
  const { members } = archive;
  for (const name of K3S_DATASTORE_MEMBERS) {
    const data = members.get(name);
    if (data) return { name, data };
  }
  return undefined;
}

/**
 * The newest good archive with a k3s datastore, read and checked. Archives passed over on the way
 * (damaged, unsigned, signed with another secret, made without the Kubernetes objects) are named in
 * `skipped`. When none can be used the reset stops, naming the folder and why: it never starts the
 * datastore empty unless asked (--empty).
 */
async function newestWithK3s(
  dir: string,
  check: Check,
  skipped: string[],
): Promise<{ file: string; member: K3sMember }> {
  let refusal: Error | undefined;
  for (const b of await listBackups(dir)) {
    if (b.problem) {
      skipped.push(`${b.name}: ${b.problem}`);
      continue;
    }
    try {
      const member = k3sMemberOf(b.path, check);
      if (member) return { file: b.path, member };
      skipped.push(`${b.name}: ${b.incomplete ?? 'it holds no k3s datastore'}`);
    } catch (err) {
      refusal ??= err as Error;
      skipped.push(`${b.name}: ${(err as Error).message}`);
    }
  }
  const looked = skipped.length ? ` (${skipped.length} looked at: ${skipped.slice(0, 5).join('; ')})` : '';
  if (refusal)
    throw new BackupError(
      refusal instanceof BackupError ? refusal.code : 'BACKUP_FAILED',
      `no backup in ${dir} can be used: ${refusal.message}${looked} (or pass --from FILE or --empty); nothing was changed`,
    );
  throw new BackupError(
    'BACKUP_FAILED',
    `no backup in ${dir} holds a k3s datastore${looked}: pass --from FILE, --backup-dir DIR, or --empty to start the k3s datastore empty; nothing was changed`,
  );
}

function resetFailed(what: string, err: unknown): BackupError {
  return new BackupError(
    'BACKUP_FAILED',
    `${what}: ${(err as Error).message}; the old k3s datastore is in place, nothing was changed`,
    { cause: err },
  );
}

/**
 * The new k3s datastore written in full beside the old one (server/db.reset-new-<time>), then swapped in
 * with two renames: a full disk fails the write with the old datastore untouched. rollBack() puts the
 * old one back.
 */
function stageAndSwap(
  db: string,
  stamp: string,
  member: K3sMember | undefined,
): { movedAside: string | null; rollBack: () => void } {
  const stage = member ? `${db}.reset-new-${stamp}` : null;
  if (stage && member) {
    try {
      mkdirSync(stage, { recursive: true, mode: 0o700 });
      writeSecretFile(join(stage, ...member.name.split('/').slice(3)), member.data);
    } catch (err) {
      rmSync(stage, { recursive: true, force: true });
      throw resetFailed(`cannot write the new k3s datastore beside ${db}`, err);
    }
  }
  const movedAside = existsSync(db) ? `${db}.reset-${stamp}` : null;
  try {
    if (movedAside) renameSync(db, movedAside);
    if (stage) renameSync(stage, db);
  } catch (err) {
    if (movedAside && existsSync(movedAside) && !existsSync(db)) renameSync(movedAside, db);
    if (stage) rmSync(stage, { recursive: true, force: true });
    throw resetFailed(`cannot swap in the new k3s datastore at ${db}`, err);
  }
  const rollBack = (): void => {
    if (stage) renameSync(db, stage);
    if (movedAside) renameSync(movedAside, db);
    if (stage) rmSync(stage, { recursive: true, force: true });
  };
  return { movedAside, rollBack };
}

export async function resetCluster(o: ResetOptions): Promise<ResetResult> {
  const dbPath = join(o.dataDir, 'hub.db');
  if (!existsSync(dbPath))
    throw new BackupError(
      'BACKUP_FAILED',
      `no hub database at ${dbPath}: cluster reset works on a SQLite hub's data dir (restore the hub first with atoll-hub restore)`,
    );
  const holder = lockHolder(o.dataDir);
  if (holder) throw new DirLockedError(o.dataDir, holder);
  const lock = lockDataDir(o.dataDir);
  try {
    const secretFile = o.clusterSecretFile ?? join(o.dataDir, 'cluster-secret');
    const check: Check = {
      macKey: existsSync(secretFile) ? archiveMacKey(readClusterSecret(secretFile).secret) : undefined,
      acceptUnsigned: o.acceptUnsigned === true,
    };
    let source: { file: string; member: K3sMember } | undefined;
    const skipped: string[] = [];
    if (o.from) {
      const member = k3sMemberOf(o.from, check);
      if (!member) throw new BackupError('BACKUP_FAILED', `${o.from} holds no k3s datastore; nothing was changed`);
      source = { file: o.from, member };
    } else if (!o.empty) source = await newestWithK3s(o.backupDir ?? backupsDir(o.dataDir), check, skipped);
    const db = join(k3sDataDir(o.dataDir), 'server', 'db');
    const stamp = (o.now ?? new Date()).toISOString().replace(/[:.]/g, '-');
    const from = source ? source.file : null;
    const swap = stageAndSwap(db, stamp, source?.member);
    const k3sDir = k3sDataDir(o.dataDir);
    // A restore an earlier reset left pending is renamed aside (no space needed), and back if this one fails.
    const pending = pendingRestoreFile(k3sDir);
    const pendingAside = `${pending}.before-reset-${stamp}`;
    let tokensReissued: number;
    let step = `cannot set aside the pending restore ${pending}`;
    const hadPending = existsSync(pending);
    let setAside = false;
    try {
      if (hadPending) {
        renameSync(pending, pendingAside);
        setAside = true;
      }
      step = `cannot mark the etcd snapshot to be restored in ${pending}`;
      // An etcd snapshot is restored by k3s itself at the hub's next start (hub/k3s/etcd-restore.ts).
      if (source?.member.name === K3S_ETCD_MEMBER)
        markEtcdRestore(k3sDir, join(db, ...K3S_ETCD_MEMBER.split('/').slice(3)), basename(source.file));
      step = `cannot forget the nodes' k3s tokens in ${dbPath}`;
      tokensReissued = resetK3sTokens(dbPath, (n) => ({
        type: 'cluster.reset',
        actor: 'admin',
        message: `atoll-hub cluster reset: the k3s datastore ${from ? `from ${basename(from)}` : 'started empty'}; ${n} nodes get new k3s bootstrap tokens`,
        data: { from, movedAside: swap.movedAside, tokensReissued: n },
      }));
    } catch (err) {
      // Renames and removals only: they work on a full disk. The marker is this reset's only once the
      // earlier one (if any) was set aside.
      if (!hadPending || setAside) clearEtcdRestore(k3sDir);
      swap.rollBack();
      if (setAside) renameSync(pendingAside, pending);
      throw resetFailed(step, err);
    }
    rmSync(pendingAside, { force: true });
    const movedAside = swap.movedAside;
    return { movedAside, from, tokensReissued, skipped };
  } finally {
    lock.release();
  }
}
