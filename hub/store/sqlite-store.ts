// The embedded store: one SQLite file (WAL, synchronous=FULL) in the hub's data dir, opened, checked,
// migrated and capped here; the store itself is SqliteStore (sqlite-store-impl.ts). better-sqlite3 is
// synchronous; the methods are async only to honour the Store interface, and every one maps SQLite
// failures to StoreErrors.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { runMigrations } from './migrations.js';
import { checkName, integrityProblems, type IntegrityLevel } from './integrity.js';
import { toStoreError } from './sqlite-errors.js';
import { SqliteStore } from './sqlite-store-impl.js';
import { StoreError, type Store } from './types.js';

export interface StoreLogger {
  warn(obj: object, msg?: string): void;
}

export interface SqliteStoreOptions {
  /** The database file, e.g. `<data-dir>/hub.db`. Created with mode 0600 when absent. */
  path: string;
  logger?: StoreLogger;
  /**
   * Caps the database size (SQLite max_page_count, never below its current size). Writes that would
   * grow it further fail with StoreError('DISK_FULL'), like a full disk. Default: no cap.
   */
  maxSizeBytes?: number;
  /** Checks the file before anything else reads or writes it; a damaged one is StoreError('CORRUPT'). */
  integrity?: IntegrityLevel;
}

const FILE_MODE = 0o600;

export async function openSqliteStore(opts: SqliteStoreOptions): Promise<Store> {
  const path = resolve(opts.path);
  let db: Database.Database | undefined;
  try {
    prepareFile(path, opts.logger);
    db = new Database(path);
    configure(db, path, opts);
    if (opts.integrity) assertIntact(db, path, opts.integrity);
    runMigrations(db);
    capSize(db, opts.maxSizeBytes);
    tightenSidecars(path, opts.logger);
    return new SqliteStore(db, path);
  } catch (err) {
    try {
      db?.close();
    } catch {
      /* already failing; keep the first error */
    }
    throw toStoreError(err, 'opening the hub database', path);
  }
}

function prepareFile(path: string, logger?: StoreLogger): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR, FILE_MODE));
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    tighten(path, logger);
  }
}

/** chmod 0600 when group or others have any access; a failure (not our file) is only a warning. */
function tighten(path: string, logger?: StoreLogger): void {
  try {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, FILE_MODE);
  } catch (err) {
    logger?.warn({ path, err }, 'could not restrict the hub database file to mode 0600');
  }
}

function tightenSidecars(path: string, logger?: StoreLogger): void {
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(path + suffix)) tighten(path + suffix, logger);
  }
}

function configure(db: Database.Database, path: string, opts: SqliteStoreOptions): void {
  db.pragma('busy_timeout = 5000');
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (String(mode).toLowerCase() !== 'wal') {
    opts.logger?.warn({ path, journalMode: mode }, 'the hub database could not switch to WAL mode');
  }
  // FULL: a commit is on disk (WAL fsynced) before it is acknowledged, so kill -9 loses nothing acknowledged.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
}

function assertIntact(db: Database.Database, path: string, level: IntegrityLevel): void {
  const problems = integrityProblems(db, level);
  if (problems.length === 0) return;
  throw new StoreError(
    'CORRUPT',
    `the hub database ${path} is damaged (SQLite ${checkName(level)}: ${problems.slice(0, 5).join('; ')}` +
      `${problems.length > 5 ? `; and ${problems.length - 5} more` : ''})`,
  );
}

/** After migrations, so the cap never stops the schema from being created. */
function capSize(db: Database.Database, maxSizeBytes: number | undefined): void {
  if (maxSizeBytes === undefined) return;
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  db.pragma(`max_page_count = ${Math.max(1, Math.floor(maxSizeBytes / pageSize))}`);
}
