// The SQLite end of `atoll-hub datastore copy`: a hub.db read as a source (read-only) or written as a
// target (migrated by the SQLite store, then filled in one IMMEDIATE transaction).
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { openSqliteStore } from '../sqlite-store.js';
import { latestVersion } from '../migrations.js';
import { StoreError } from '../types.js';
import { quoteIdent, type CopySource, type CopyTarget, type Row } from './copy-types.js';

function tables(db: Database.Database): string[] {
  return db
    .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
    .all()
    .map((r) => r.name);
}

function columns(db: Database.Database, table: string): string[] {
  return db
    .prepare<[], { name: string }>(`SELECT name FROM pragma_table_info(${`'${table.replace(/'/g, "''")}'`})`)
    .all()
    .map((r) => r.name);
}

function count(db: Database.Database, table: string, where = ''): number {
  return db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM ${quoteIdent(table)} ${where}`).get()?.n ?? 0;
}

function sqliteError(err: unknown, what: string, path: string): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StoreError('IO', `${what} ${path} failed: ${message}`, { cause: err });
}

export function openSqliteSource(path: string): CopySource {
  if (!existsSync(path)) throw new StoreError('NOT_FOUND', `no hub database at ${path}`);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    throw sqliteError(err, 'opening', path);
  }
  const version = tables(db).includes('schema_migrations')
    ? (db.prepare<[], { v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations').get()?.v ?? 0)
    : 0;
  if (version !== latestVersion()) {
    db.close();
    throw new StoreError(
      'SCHEMA_VERSION',
      `${path} has schema version ${version}, this atoll writes version ${latestVersion()}: ` +
        (version < latestVersion()
          ? `run \`atoll-hub datastore migrate\` on it first`
          : 'it was written by a newer atoll; copy it with that one'),
    );
  }
  return {
    where: path,
    tables: () => Promise.resolve(tables(db)),
    columns: (table) => Promise.resolve(columns(db, table)),
    count: (table) => Promise.resolve(count(db, table)),
    async *batches(table, cols, size) {
      const stmt = db.prepare(`SELECT ${cols.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)}`).raw(true);
      let batch: Row[] = [];
      for (const row of stmt.iterate() as IterableIterator<Row>) {
        batch.push(row);
        if (batch.length >= size) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length) yield batch;
    },
    lastEventId: () =>
      Promise.resolve(
        Math.max(
          db.prepare<[], { seq: number }>(`SELECT seq FROM sqlite_sequence WHERE name = 'events'`).get()?.seq ?? 0,
          db.prepare<[], { m: number | null }>('SELECT MAX(id) AS m FROM events').get()?.m ?? 0,
        ),
      ),
    close: () => Promise.resolve(void db.close()),
  };
}

export function sqliteTarget(path: string): CopyTarget {
  let db: Database.Database | undefined;
  const open = (): Database.Database => {
    if (!db) throw new StoreError('IO', `${path} is not open`);
    return db;
  };
  const inserts = new Map<string, Database.Statement>();
  return {
    where: path,
    async migrate() {
      const store = await openSqliteStore({ path });
      await store.close();
      try {
        db = new Database(path, { fileMustExist: true });
        db.pragma('busy_timeout = 5000');
      } catch (err) {
        throw sqliteError(err, 'opening', path);
      }
    },
    columns: (table) => Promise.resolve(columns(open(), table)),
    begin: () => Promise.resolve(void open().exec('BEGIN IMMEDIATE')),
    count: (table, dataOnly) =>
      Promise.resolve(count(open(), table, dataOnly && table === 'pools' ? `WHERE name <> 'default'` : '')),
    clearSeeded: () => Promise.resolve(void open().exec(`DELETE FROM pools WHERE name = 'default'`)),
    insert(table, cols, rows) {
      const key = `${table}(${cols.join(',')})`;
      let stmt = inserts.get(key);
      if (!stmt) {
        stmt = open().prepare(
          `INSERT INTO ${quoteIdent(table)} (${cols.map(quoteIdent).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
        );
        inserts.set(key, stmt);
      }
      for (const r of rows) stmt.run(...r);
      return Promise.resolve();
    },
    setLastEventId(id) {
      const d = open();
      d.prepare(`DELETE FROM sqlite_sequence WHERE name = 'events'`).run();
      if (id > 0) d.prepare(`INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)`).run(id);
      return Promise.resolve();
    },
    commit: () => Promise.resolve(void open().exec('COMMIT')),
    rollback() {
      if (db?.inTransaction) db.exec('ROLLBACK');
      return Promise.resolve();
    },
    close() {
      db?.close();
      db = undefined;
      return Promise.resolve();
    },
  };
}
