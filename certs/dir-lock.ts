// One process per data dir: `<dir>/lock`, created with O_EXCL, holds the owner's pid and its start
// time (/proc/PID/stat). A lock whose pid is gone, or whose pid now belongs to another process (a
// different start time after a reboot or pid reuse), is stale and taken over. No native code: this
// is a lock file, not flock(2), so it works the same for the hub, the agent and their tests.
import {
  closeSync,
  fstatSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { AtollError } from './atoll-error.js';

export const LOCK_FILE = 'lock';

export interface LockOwner {
  pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot); absent where there is no /proc. */
  startTime?: string;
  /**
   * The kernel's boot id when the lock was taken: a lock written under another boot (a reboot, or a
   * data dir copied from another machine, e.g. a VM image) names no live process here.
   */
  bootId?: string;
  /** What the owner runs, for the refusal message. */
  command?: string;
  since: string;
}

/** Another live process holds the data dir. */
export class DirLockedError extends AtollError<'DATA_DIR_LOCKED'> {
  override readonly name = 'DirLockedError';

  constructor(
    readonly dir: string,
    readonly owner: LockOwner,
  ) {
    const who =
      owner.pid > 0
        ? `pid ${owner.pid}${owner.command ? `: ${owner.command}` : ''}, since ${owner.since}`
        : (owner.command ?? 'starting up');
    super(
      'DATA_DIR_LOCKED',
      `${dir} is in use by another process (${who}); ` +
        `stop it first, or use another data dir (lock file: ${join(dir, LOCK_FILE)})`,
    );
  }
}

export interface DirLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

const MAX_ATTEMPTS = 5;
/** A lock file with no readable owner is taken for one being written unless older than this. */
const HALF_WRITTEN_GRACE_MS = 5_000;

/** /proc/PID/stat field 22; undefined when /proc does not tell (not Linux, or the pid is gone). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This boot's id (Linux), or undefined where the kernel does not say. */
export function currentBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `owner` still runs. */
export function ownerAlive(owner: LockOwner): boolean {
  if (!Number.isInteger(owner.pid) || owner.pid <= 0 || !alive(owner.pid)) return false;
  const boot = currentBootId();
  if (owner.bootId && boot && owner.bootId !== boot) return false;
  if (owner.pid === process.pid) return true;
  const now = processStartTime(owner.pid);
  // The same pid with another start time is another process (pid reuse, or a reboot).
  return owner.startTime === undefined || now === undefined || now === owner.startTime;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as LockOwner;
    return Number.isInteger(o.pid) ? o : undefined;
  } catch {
    return undefined;
  }
}

function ownCommand(): string {
  return process.argv
    .slice(1, 3)
    .map((a) => a.split('/').pop())
    .join(' ');
}

/** The live process holding `<dir>/lock`, if any. */
export function lockHolder(dir: string): LockOwner | undefined {
  const owner = readLock(join(dir, LOCK_FILE))?.owner;
  return owner && ownerAlive(owner) ? owner : undefined;
}

/** Reads the lock file through one descriptor: its owner (if readable) and its inode. */
function readLock(path: string): { owner?: LockOwner; ino: number; mtimeMs: number } | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return { owner: parseOwner(buf.subarray(0, n).toString('utf8')), ino: st.ino, mtimeMs: st.mtimeMs };
  } finally {
    closeSync(fd);
  }
}

/**
 * Moves a stale lock aside, but only the very file judged stale (same inode): if another process
 * replaced it meanwhile, its lock is put back and false returned.
 */
function removeStale(path: string, ino: number): boolean {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  if (statSync(aside).ino !== ino) {
    try {
      linkSync(aside, path);
    } catch {
      /* a third process holds it now; it wins */
    }
    unlinkSync(aside);
    return false;
  }
  unlinkSync(aside);
  return true;
}

function tryCreate(path: string, owner: LockOwner): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new AtollError(
        'DATA_DIR_UNWRITABLE',
        `cannot create ${path}: ${code === 'EROFS' ? 'read-only file system' : 'permission denied'} (uid ${process.getuid?.() ?? '?'}); run as the data dir's owner, or pick another data dir`,
      );
    }
    throw err;
  }
  try {
    writeSync(fd, JSON.stringify(owner) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Takes `<dir>/lock` for this process, or throws DirLockedError naming the live owner. The lock is
 * released by release() and, failing that, when the process exits normally; after a crash the
 * next start finds it stale.
 */
export function lockDataDir(dir: string): DirLock {
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    bootId: currentBootId(),
    command: ownCommand(),
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (tryCreate(path, me)) return held(path, me);
    const found = readLock(path);
    if (!found) continue; // released between our open and our read
    if (found.owner && ownerAlive(found.owner)) throw new DirLockedError(dir, found.owner);
    if (!found.owner && Date.now() - found.mtimeMs < HALF_WRITTEN_GRACE_MS) {
      throw new DirLockedError(dir, {
        pid: 0,
        command: 'a process is writing its lock file',
        since: new Date(found.mtimeMs).toISOString(),
      });
    }
    removeStale(path, found.ino);
  }
  const last = readLock(path)?.owner;
  throw new DirLockedError(
    dir,
    last ?? { pid: 0, since: new Date().toISOString(), command: 'several processes are racing for its lock' },
  );
}

function held(path: string, me: LockOwner): DirLock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    const found = readLock(path);
    if (found?.owner?.pid === me.pid && found.owner.since === me.since) {
      try {
        unlinkSync(path);
      } catch {
        /* gone already */
      }
    }
  };
  process.on('exit', release);
  return { path, release };
}
