// One consistent backup of a hub, safe beside the running hub: the store (SQLite's online backup of
// hub.db, or the hub's tables from PostgreSQL copied into a fresh SQLite file), the cluster secret
// (and admin token) sealed with a passphrase when one is given, and the k3s datastore (the embedded
// SQLite's online backup; the stand-in's state file; `k3s etcd-snapshot save` for embedded etcd; a
// note for an external database).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BackupError } from '../errors.js';
import { readHubVersion } from '../version.js';
import type { DatastoreSpec } from '../store/datastore-url.js';
import { redactUrl } from '../store/datastore-url.js';
import { inspectDatabaseFile } from '../store/integrity.js';
import { sqliteOnlineCopy } from '../store/sqlite-backup.js';
import { copyStore } from '../store/copy/index.js';
import { k3sDataDir } from '../k3s/server-args.js';
import { removeQuietly } from './files.js';
import { saveEtcdSnapshot, usesEmbeddedEtcd } from './etcd-snapshot.js';
import { ARCHIVE_SUFFIX, archiveMacKey, writeArchiveAsync, type Manifest, type ManifestHead } from './archive.js';
import { sealSecrets } from './passphrase.js';
import { K3S_KEYS_MEMBER, sealK3sServerKeys } from './k3s-keys.js';
import { readClusterSecret } from '../pki/cluster-secret.js';

export const HUB_DB_MEMBER = 'hub.db';
export const SECRETS_MEMBER = 'secrets.sealed';
export const K3S_SQLITE_MEMBER = 'k3s/server/db/state.db';
export const K3S_STANDIN_MEMBER = 'k3s/server/db/standin-state.json';
/** Restored to this path, and restored into etcd by k3s at the hub's next start (hub/k3s/etcd-restore.ts). */
export const K3S_ETCD_MEMBER = 'k3s/server/db/snapshots/atoll-backup-etcd-snapshot';
/** The members that hold the k3s datastore, one per kind. */
export const K3S_DATASTORE_MEMBERS = [K3S_SQLITE_MEMBER, K3S_STANDIN_MEMBER, K3S_ETCD_MEMBER];

export interface BackupSource {
  dataDir: string;
  datastore: DatastoreSpec;
  clusterSecretFile: string;
  /** The hub's --k3s (auto or a path): runs `k3s etcd-snapshot save` when k3s runs embedded etcd. */
  k3s?: string;
  /** The hub's k3s server port; default read from <data-dir>/kubeconfig.yaml. */
  k3sHttpsPort?: number;
}

export interface CreateOptions extends BackupSource {
  /** Default: <data-dir>/backups/atoll-<time>.atoll-backup. */
  out?: string;
  /** Seals the cluster secret and admin token into the archive; without one they stay out. */
  passphrase?: string;
  now?: Date;
}

export interface CreateResult {
  path: string;
  manifest: Manifest;
  bytes: number;
  ms: number;
  /** What the archive lacks though it was asked for (e.g. an etcd snapshot k3s could not take). */
  warnings: string[];
}

export function backupsDir(dataDir: string): string {
  return join(dataDir, 'backups');
}

export function defaultArchiveName(now: Date): string {
  return `atoll-${now.toISOString().replace(/[:.]/g, '-')}${ARCHIVE_SUFFIX}`;
}

async function storeCopy(spec: DatastoreSpec, work: string): Promise<Buffer> {
  const file = join(work, 'hub.db');
  if (spec.kind === 'sqlite') {
    if (!existsSync(spec.path)) throw new BackupError('BACKUP_FAILED', `no hub database at ${spec.path}`);
    await sqliteOnlineCopy(spec.path, file);
  } else {
    // One snapshot of the hub's tables (SERIALIZABLE READ ONLY DEFERRABLE), beside running hubs.
    await copyStore(spec.url, `sqlite:${file}`, { online: true });
  }
  return readFileSync(file);
}

async function k3sSnapshot(
  o: BackupSource,
  work: string,
  members: Map<string, Buffer>,
  warnings: string[],
): Promise<Manifest['k3s'] & { incomplete?: string }> {
  const db = join(k3sDataDir(o.dataDir), 'server', 'db');
  if (usesEmbeddedEtcd(o.dataDir)) {
    const dir = join(work, 'etcd');
    mkdirSync(dir, { mode: 0o700 });
    let snap: { name: string; data: Buffer };
    try {
      snap = await saveEtcdSnapshot({ dataDir: o.dataDir, k3s: o.k3s, k3sHttpsPort: o.k3sHttpsPort, workDir: dir });
    } catch (err) {
      if (!(err instanceof BackupError)) throw err;
      // The hub's store and keys matter most when k3s is down: they are still backed up, and it is said.
      const why = err.message;
      warnings.push(`${why}: this archive has the hub's store and keys but NOT the Kubernetes objects`);
      return {
        kind: 'none',
        note: `${why} (the Kubernetes objects are not in this archive)`,
        incomplete: `no Kubernetes objects: ${why}`,
      };
    }
    members.set(K3S_ETCD_MEMBER, snap.data);
    return { kind: 'etcd-snapshot', note: `embedded etcd: k3s etcd-snapshot save (${snap.name})` };
  }
  if (existsSync(join(db, 'state.db'))) {
    const file = join(work, 'state.db');
    await sqliteOnlineCopy(join(db, 'state.db'), file);
    members.set(K3S_SQLITE_MEMBER, readFileSync(file));
    return { kind: 'sqlite', note: 'online backup of the embedded SQLite datastore (server/db/state.db)' };
  }
  if (existsSync(join(db, 'standin-state.json'))) {
    // Written whole and renamed into place by the stand-in: a read sees one complete state.
    members.set(K3S_STANDIN_MEMBER, readFileSync(join(db, 'standin-state.json')));
    return { kind: 'standin-file', note: "the k3s stand-in's state file (server/db/standin-state.json)" };
  }
  return {
    kind: 'none',
    note: `no embedded k3s datastore in ${db}: k3s is off, or it uses an external database whose own backups apply`,
  };
}

export async function createBackup(o: CreateOptions): Promise<CreateResult> {
  const started = Date.now();
  const now = o.now ?? new Date();
  const out = o.out ?? join(backupsDir(o.dataDir), defaultArchiveName(now));
  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  const work = mkdtempSync(join(dirname(out), '.backup-work-'));
  try {
    const members = new Map<string, Buffer>();
    members.set(HUB_DB_MEMBER, await storeCopy(o.datastore, work));
    const caPin = inspectDatabaseFile(join(work, 'hub.db'), 'quick').caPin;
    const warnings: string[] = [];
    const { incomplete, ...k3s } = await k3sSnapshot(o, work, members, warnings);
    // The archive is signed with the cluster secret: a restore checks it before it writes anything.
    if (!existsSync(o.clusterSecretFile))
      throw new BackupError(
        'BACKUP_FAILED',
        `the cluster secret ${o.clusterSecretFile} does not exist: the archive is signed with it (--cluster-secret-file)`,
      );
    const clusterSecret = readClusterSecret(o.clusterSecretFile);
    // The k3s server's token and CAs: without them a restored k3s server is a new cluster to the nodes.
    const keys = sealK3sServerKeys(join(k3sDataDir(o.dataDir), 'server'), clusterSecret);
    if (keys) {
      members.set(K3S_KEYS_MEMBER, keys.sealed);
      k3s.note += `; the k3s server's token and CAs (${keys.files} files, sealed with the cluster secret)`;
    }
    if (o.passphrase !== undefined)
      members.set(
        SECRETS_MEMBER,
        sealSecrets({ clusterSecret: readFileSync(o.clusterSecretFile, 'utf8').trim() }, o.passphrase),
      );
    const head: ManifestHead = {
      atollVersion: readHubVersion(),
      createdAt: now.toISOString(),
      datastore: o.datastore.kind,
      caPin,
      secrets: o.passphrase !== undefined ? 'passphrase' : 'none',
      k3s,
      ...(incomplete ? { incomplete } : {}),
    };
    const manifest = await writeArchiveAsync(out, head, members, archiveMacKey(clusterSecret.secret));
    return { path: out, manifest, bytes: statSync(out).size, ms: Date.now() - started, warnings };
  } finally {
    removeQuietly(work);
  }
}

/** Where the store is, as shown in messages (a URL without its password). */
export function shownDatastore(spec: DatastoreSpec): string {
  return spec.kind === 'sqlite' ? spec.path : redactUrl(spec.url);
}
