import {
  chmodSync,
  closeSync,
  fchmodSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { AtollError } from './atoll-error.js';

/** Raised when a file holding a secret can be read, written or run by group or others. */
export class FileModeError extends AtollError<'INSECURE_PERMISSIONS'> {
  override readonly name = 'FileModeError';

  constructor(
    readonly path: string,
    readonly mode: number,
  ) {
    const octal = `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
    super(
      'INSECURE_PERMISSIONS',
      `${path} holds a secret but has mode ${octal} (group or others have access); fix it with: chmod 600 ${path}`,
    );
  }
}

/** Writes a key or token atomically with mode 0600, whatever the umask. */
export function writeSecretFile(path: string, data: string | Uint8Array): void {
  writeAtomic(path, data, 0o600);
}

/**
 * Creates a secret file (0600) only when `path` does not exist: written in full beside it, then
 * hard-linked into place, so no reader sees it half-written and of two writers the first one wins.
 * Returns false, writing nothing, when `path` exists.
 */
export function createSecretFile(path: string, data: string | Uint8Array): boolean {
  const dir = dirname(path);
  ensureDir(dir);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    try {
      fchmodSync(fd, 0o600);
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
  }
  fsyncDir(dir);
  return true;
}

/** Writes a public file (certificate, CA bundle) atomically with mode 0644. */
export function writePublicFile(path: string, data: string | Uint8Array): void {
  writeAtomic(path, data, 0o644);
}

/** Throws FileModeError when group or others have any permission bit on `path`. */
export function checkSecretFileMode(path: string): void {
  const { mode } = statSync(path);
  if ((mode & 0o077) !== 0) throw new FileModeError(path, mode);
}

/** Temp file in the same directory, fchmod, fsync, rename over the target, fsync the directory. */
function writeAtomic(path: string, data: string | Uint8Array, mode: number): void {
  const dir = dirname(path);
  ensureDir(dir);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    try {
      fchmodSync(fd, mode);
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw err;
  }
  fsyncDir(dir);
}

function ensureDir(dir: string): void {
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) {
    // mkdir applies the umask; the innermost directory is the one that holds the files.
    chmodSync(dir, 0o700);
  }
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
