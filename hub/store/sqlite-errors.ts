// Turns SQLite and file-system failures into StoreErrors whose code the API and the operator can act on.
import Database from 'better-sqlite3';
import { StoreError } from './types.js';

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Maps `err`, thrown while doing `what` on the database at `path`, to a StoreError. StoreErrors pass
 * unchanged; errors that are neither SQLite nor file-system errors (programming errors) are returned as is.
 */
export function toStoreError(err: unknown, what: string, path: string): unknown {
  if (err instanceof StoreError) return err;
  const code = codeOf(err);
  const detail = `${what} failed on ${path}: ${messageOf(err)}`;
  const opts = { cause: err };
  if (err instanceof Database.SqliteError && code) {
    if (code === 'SQLITE_FULL') {
      return new StoreError('DISK_FULL', `the hub data disk is full: ${detail}; free space on that disk`, opts);
    }
    if (code.startsWith('SQLITE_READONLY')) {
      return new StoreError('READ_ONLY', `the hub database is read-only: ${detail}`, opts);
    }
    if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
      return new StoreError(
        'CORRUPT',
        `the hub database is corrupt or not a database: ${detail}; restore a backup`,
        opts,
      );
    }
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
      return new StoreError('CONFLICT', `already exists: ${detail}`, opts);
    }
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
      return new StoreError('CONFLICT', `a referenced record is missing or still in use: ${detail}`, opts);
    }
    if (code.startsWith('SQLITE_CONSTRAINT')) {
      return new StoreError('CONFLICT', `constraint violated: ${detail}`, opts);
    }
    return new StoreError('IO', `hub database error (${code}): ${detail}`, opts);
  }
  // Node file-system errors (while creating or chmod-ing the file).
  if (code && typeof (err as { syscall?: unknown }).syscall === 'string') {
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      return new StoreError('DISK_FULL', `the hub data disk is full: ${detail}; free space on that disk`, opts);
    }
    if (code === 'EROFS') return new StoreError('READ_ONLY', `the hub data disk is read-only: ${detail}`, opts);
    return new StoreError('IO', `hub database I/O error (${code}): ${detail}`, opts);
  }
  return err;
}
