// A restore (or cluster reset) of a hub whose k3s server runs embedded etcd leaves the snapshot in
// k3s/server/db/snapshots and a marker, k3s/atoll-etcd-restore.json. Before the hub's next k3s server
// starts, the supervisor runs `k3s server <its args> --cluster-reset --cluster-reset-restore-path=FILE`
// once (k3s restores the snapshot, resets the member to a cluster of one and exits), then removes
// the marker: the server then starts on the restored datastore.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import { writeSecretFile } from '../../certs/files.js';
import { BackupError } from '../errors.js';
import type { Logger } from '../logger.js';
import { clearServerPid, writeServerPid } from './server-pid.js';

export const PENDING_RESTORE_FILE = 'atoll-etcd-restore.json';
const RESTORE_TIMEOUT_MS = 10 * 60_000;

interface Marker {
  /** The snapshot, relative to the k3s data dir. */
  snapshot: string;
  /** What it came from (an archive's name). */
  from: string;
  at: string;
}

export function pendingRestoreFile(k3sDir: string): string {
  return join(k3sDir, PENDING_RESTORE_FILE);
}

/** Marks `snapshot` (a file inside k3sDir) to be restored at the next start of the k3s server. */
export function markEtcdRestore(k3sDir: string, snapshot: string, from: string, now = new Date()): void {
  const rel = relative(k3sDir, snapshot);
  const marker: Marker = { snapshot: rel, from, at: now.toISOString() };
  writeSecretFile(pendingRestoreFile(k3sDir), `${JSON.stringify(marker)}\n`);
}

export function hasPendingEtcdRestore(k3sDir: string): boolean {
  return existsSync(pendingRestoreFile(k3sDir));
}

export function clearEtcdRestore(k3sDir: string): void {
  rmSync(pendingRestoreFile(k3sDir), { force: true });
}

function readMarker(k3sDir: string): Marker | undefined {
  const file = pendingRestoreFile(k3sDir);
  if (!existsSync(file)) return undefined;
  let m: Partial<Marker>;
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    m = parsed !== null && typeof parsed === 'object' ? (parsed as Partial<Marker>) : {};
  } catch {
    m = {};
  }
  const snap = typeof m.snapshot === 'string' ? m.snapshot : '';
  // Written by a restore into this very folder: anything pointing elsewhere is not ours.
  if (!snap || isAbsolute(snap) || snap.split(/[\\/]/).includes('..'))
    throw new BackupError(
      'RESTORE_K3S_FAILED',
      `${file} is damaged: it names no snapshot inside ${k3sDir}; remove it to start k3s on its current datastore`,
    );
  return { snapshot: snap, from: typeof m.from === 'string' ? m.from : '?', at: typeof m.at === 'string' ? m.at : '?' };
}

export interface PendingRestore {
  binary: string;
  /** The `k3s server ...` arguments the supervisor runs. */
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  k3sDir: string;
  logger: Logger;
  timeoutMs?: number;
  /** Aborted when the control plane stops: the restore process is ended (and run again at the next start). */
  signal?: AbortSignal;
  /** The supervisor's pid file: a hub killed mid-restore has the next one stop this process first. */
  pidFile?: string;
}

/**
 * Runs a pending etcd restore, if any; returns what was restored, or undefined when nothing was pending.
 * Throws RESTORE_K3S_FAILED (the marker stays, so the next start tries again) when k3s refuses.
 */
export async function applyPendingEtcdRestore(p: PendingRestore): Promise<string | undefined> {
  const marker = readMarker(p.k3sDir);
  if (!marker) return undefined;
  const snapshot = resolve(p.k3sDir, marker.snapshot);
  if (!existsSync(snapshot))
    throw new BackupError(
      'RESTORE_K3S_FAILED',
      `the etcd snapshot to restore, ${snapshot}, is missing (marker ${pendingRestoreFile(p.k3sDir)})`,
    );
  if (existsSync(join(p.k3sDir, 'server', 'db', 'reset-flag'))) {
    // k3s made the restore and exited; the hub stopped before it could remove the marker.
    p.logger.warn({ snapshot }, 'the etcd restore was already made (k3s reset-flag present); starting k3s normally');
    clearEtcdRestore(p.k3sDir);
    return undefined;
  }
  p.logger.info({ snapshot, from: marker.from }, 'restoring the k3s datastore (embedded etcd) from a backup');
  const child = execa(p.binary, [...p.args, '--cluster-reset', `--cluster-reset-restore-path=${snapshot}`], {
    reject: false,
    env: p.env,
    stdin: 'ignore',
    timeout: p.timeoutMs ?? RESTORE_TIMEOUT_MS,
    ...(p.signal ? { cancelSignal: p.signal } : {}),
  });
  if (p.pidFile && child.pid) {
    try {
      writeServerPid(p.pidFile, child.pid);
    } catch (err) {
      // The restore goes on and is awaited (and stopped by stop()); only a hub killed meanwhile cannot find it.
      p.logger.warn({ err: (err as Error).message }, 'could not write the k3s server pid file for the etcd restore');
    }
  }
  const r = await child;
  if (p.pidFile) {
    try {
      clearServerPid(p.pidFile);
    } catch {
      // a pid file that cannot be removed names a process that has ended: the next start checks it is ours
    }
  }
  if (p.signal?.aborted)
    throw new BackupError(
      'RESTORE_K3S_FAILED',
      `the etcd restore from ${snapshot} was stopped; it runs again at the next start`,
    );
  if (r.exitCode !== 0) {
    const last = `${String(r.stderr)}\n${String(r.stdout)}`
      .split('\n')
      .filter((l) => l.trim() !== '')
      .at(-1);
    throw new BackupError(
      'RESTORE_K3S_FAILED',
      `k3s could not restore the etcd snapshot ${snapshot} (exit ${r.exitCode ?? r.signal}): ${(last ?? '').slice(0, 400)}`,
    );
  }
  clearEtcdRestore(p.k3sDir);
  return `k3s datastore restored from the etcd snapshot of ${marker.from}`;
}
