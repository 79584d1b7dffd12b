// Embedded etcd (`k3s server --cluster-init`) as the stand-in keeps it: the same folders as k3s
// (server/db/etcd, server/db/snapshots, server/db/reset-flag), with the cluster state as JSON in
// server/db/etcd/member/snap/db (k3s keeps a bbolt file there). A snapshot is that state plus its
// SHA-256, so a damaged or truncated one is refused at restore, as etcd checks a snapshot's hash.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoreSnapshot } from './object-store.js';

export function dbDir(dataDir: string): string {
  return join(dataDir, 'server', 'db');
}

export function etcdDir(dataDir: string): string {
  return join(dbDir(dataDir), 'etcd');
}

/** Where the state of the etcd member lives. */
export function etcdStatePath(dataDir: string): string {
  return join(etcdDir(dataDir), 'member', 'snap', 'db');
}

/** The state file of k3s's default datastore (SQLite in k3s): the stand-in's JSON file. */
export function sqliteStatePath(dataDir: string): string {
  return join(dbDir(dataDir), 'standin-state.json');
}

export function defaultSnapshotDir(dataDir: string): string {
  return join(dbDir(dataDir), 'snapshots');
}

/** Written by a cluster reset; a normal start removes it; a second reset while it is there is refused. */
export function resetFlagPath(dataDir: string): string {
  return join(dbDir(dataDir), 'reset-flag');
}

/** Embedded etcd: asked for with --cluster-init, and kept once it exists (as k3s does). */
export function usesEtcd(cfg: { dataDir: string; clusterInit: boolean; datastoreEndpoint: string }): boolean {
  return cfg.datastoreEndpoint === '' && (cfg.clusterInit || existsSync(etcdDir(cfg.dataDir)));
}

interface SnapshotFile {
  standinEtcdSnapshot: 1;
  sha256: string;
  state: string;
}

export function encodeSnapshot(state: StoreSnapshot): Buffer {
  const text = JSON.stringify(state);
  const body: SnapshotFile = {
    standinEtcdSnapshot: 1,
    sha256: createHash('sha256').update(text).digest('hex'),
    state: text,
  };
  return Buffer.from(JSON.stringify(body));
}

/** The member's state file as StateFile writes it. */
export function encodeSnapshotState(state: StoreSnapshot): string {
  return JSON.stringify(state);
}

export class SnapshotError extends Error {}

/** The state in a snapshot file; throws SnapshotError with etcd's wording when it does not check out. */
export function readSnapshot(path: string): StoreSnapshot {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw new SnapshotError(
      `open ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
    );
  }
  let body: Partial<SnapshotFile>;
  try {
    body = JSON.parse(raw.toString('utf8')) as Partial<SnapshotFile>;
  } catch {
    throw new SnapshotError(`snapshot file ${path} is not an etcd snapshot: invalid database`);
  }
  if (body?.standinEtcdSnapshot !== 1 || typeof body.state !== 'string' || typeof body.sha256 !== 'string')
    throw new SnapshotError(`snapshot file ${path} is not an etcd snapshot: invalid database`);
  if (createHash('sha256').update(body.state).digest('hex') !== body.sha256)
    throw new SnapshotError(`snapshot file ${path}: snapshot file integrity check failed: sha256 mismatch`);
  const state = JSON.parse(body.state) as StoreSnapshot;
  if (typeof state.resourceVersion !== 'number') throw new SnapshotError(`snapshot file ${path}: invalid database`);
  return state;
}
