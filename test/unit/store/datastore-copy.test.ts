// atoll-hub datastore copy (hub/store/copy/): its table list is every table of both schemas (a table a
// migration adds and the copy forgets fails here), a copy goes in batches and is all or nothing, and
// a target that holds data is refused untouched. SQLite to SQLite here; PostgreSQL in
// test/integration/datastore-copy.test.ts.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../../hub/store/index.js';
import { PG_MIGRATIONS } from '../../../hub/store/pg-schema.js';
import { COPY_TABLES, STORE_INTERNAL_TABLES } from '../../../hub/store/copy/copy-tables.js';
import { copyDatastore, parseCopyEnd, type CopyEnd } from '../../../hub/store/copy/datastore-copy.js';
import { openSqliteSource, sqliteTarget } from '../../../hub/store/copy/copy-sqlite.js';
import { StoreError } from '../../../hub/store/types.js';
import { removeTree } from '../../helpers/processes.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => removeTree(d)));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'atoll-copy-unit-'));
  dirs.push(d);
  return d;
}

const sorted = (xs: Iterable<string>): string[] => [...xs].sort();
const copyable = (tables: string[]): string[] => tables.filter((t) => !STORE_INTERNAL_TABLES.includes(t));

async function sqliteTables(path: string): Promise<string[]> {
  await (await openSqliteStore({ path })).close();
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`)
      .all()
      .map((r) => r.name);
  } finally {
    db.close();
  }
}

test('the copy list is every table of the SQLite schema', async () => {
  const tables = await sqliteTables(join(tempDir(), 'hub.db'));
  assert.deepEqual(sorted(copyable(tables)), sorted(COPY_TABLES));
});

test('the copy list is every table of the PostgreSQL schema', () => {
  const created = PG_MIGRATIONS.flatMap((m) => m.statements)
    .map((s) => (typeof s === 'string' ? s : s.text))
    .flatMap((s) => [...s.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?"?(\w+)"?/gi)].map((x) => x[1]));
  assert.deepEqual(sorted(copyable(created)), sorted(COPY_TABLES));
});

test('copy ends: sqlite:PATH, a path or a data dir, postgres://; anything else is refused', () => {
  const d = tempDir();
  assert.deepEqual(parseCopyEnd(`sqlite:${d}/x.db`, 'from'), { kind: 'sqlite', path: `${d}/x.db` });
  assert.deepEqual(parseCopyEnd(d, 'from'), { kind: 'sqlite', path: join(d, 'hub.db') });
  assert.deepEqual(parseCopyEnd('postgres://a@h/db', 'to'), { kind: 'postgres', url: 'postgres://a@h/db' });
  assert.throws(() => parseCopyEnd('mysql://a@h/db', 'to'), /--to: must be sqlite:PATH/);
});

/** A hub.db with `n` events, one node and a sealed secret, as a hub would leave it. */
async function sourceWith(n: number): Promise<string> {
  const path = join(tempDir(), 'hub.db');
  await (await openSqliteStore({ path })).close();
  const db = new Database(path);
  const at = new Date().toISOString();
  // A pool with size bounds and autoscale settings (schema version 10): the copy keeps them.
  db.prepare(
    `INSERT INTO pools (name, description, labels, taints, min_size, max_size, autoscale, created_at, updated_at)
     VALUES ('batch', '', '{}', '[]', 1, 5, '{"enabled":true,"scaleDownUnneeded":"2m"}', ?, ?)`,
  ).run(at, at);
  db.prepare(
    `INSERT INTO tokens (id, secret_hash, pool, created_at, expires_at, created_by) VALUES ('t1', 'h', 'default', ?, ?, 'admin')`,
  ).run(at, at);
  db.prepare(
    `INSERT INTO nodes (id, name, pool, state, facts, agent_version, token_id, created_at) VALUES ('n1', 'one', 'default', 'ready', '{}', '1', 't1', ?)`,
  ).run(at);
  db.prepare(`INSERT INTO secrets (name, sealed, created_at) VALUES ('ca', ?, ?)`).run(Buffer.from([0, 1, 255]), at);
  const ev = db.prepare(`INSERT INTO events (at, type, actor, message) VALUES (?, 'test.event', 'test', ?)`);
  db.transaction(() => {
    for (let i = 0; i < n; i++) ev.run(at, `event ${i}`);
  })();
  db.prepare(`DELETE FROM events WHERE id > ?`).run(n - 3); // pruned: the counter stays past them
  db.close();
  return path;
}

const sqlite = (path: string): CopyEnd => ({ kind: 'sqlite', path });
const hooks = {
  openSource: (e: CopyEnd) => Promise.resolve(openSqliteSource((e as { path: string }).path)),
  openTarget: (e: CopyEnd) => Promise.resolve(sqliteTarget((e as { path: string }).path)),
};

function rows(path: string, sql: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).raw(true).all();
  } finally {
    db.close();
  }
}

test('SQLite to SQLite in batches: the same rows, blobs intact, event ids continue after the pruned ones', async () => {
  const from = await sourceWith(1200);
  const to = join(tempDir(), 'data', 'hub.db');
  const seen: Array<[string, number]> = [];
  const report = await copyDatastore(sqlite(from), sqlite(to), {
    ...hooks,
    batchRows: 100,
    onTable: (t, n) => seen.push([t, n]),
  });
  assert.deepEqual(
    seen.map(([t]) => t),
    [...COPY_TABLES],
  );
  assert.equal(report.tables.find((t) => t.table === 'events')?.rows, 1197);
  assert.equal(report.lastEventId, 1201, 'the store.copied event, after the pruned ids');
  for (const q of [
    'SELECT * FROM events WHERE id <= 1200 ORDER BY id',
    'SELECT * FROM nodes',
    'SELECT * FROM pools',
    'SELECT * FROM secrets',
  ])
    assert.deepEqual(rows(to, q), rows(from, q), q);
  assert.deepEqual(rows(to, `SELECT seq FROM sqlite_sequence WHERE name = 'events'`), [[1201]]);
  assert.deepEqual(rows(to, 'SELECT type, actor FROM events WHERE id = 1201'), [['store.copied', 'hub']]);
});

test('a copy that fails half-way leaves the target as it was; a target with data is refused untouched', async () => {
  const from = await sourceWith(1000);
  const to = join(tempDir(), 'hub.db');
  let batches = 0;
  const failing = {
    ...hooks,
    batchRows: 100,
    openTarget: async (e: CopyEnd) => {
      const t = await hooks.openTarget(e);
      return {
        ...t,
        insert: async (table: string, cols: readonly string[], r: readonly unknown[][]) => {
          if (table === 'events' && ++batches === 4) throw new StoreError('IO', 'disk gone (test)');
          await t.insert(table, cols, r);
        },
      };
    },
  };
  await assert.rejects(copyDatastore(sqlite(from), sqlite(to), failing), /disk gone/);
  assert.deepEqual(rows(to, 'SELECT COUNT(*) FROM events'), [[0]]);
  assert.deepEqual(rows(to, 'SELECT COUNT(*) FROM nodes'), [[0]]);
  assert.deepEqual(rows(to, 'SELECT name FROM pools'), [['default']], 'the migration default only');

  await copyDatastore(sqlite(from), sqlite(to), hooks);
  const before = rows(to, 'SELECT COUNT(*) FROM events');
  const other = await sourceWith(10);
  await assert.rejects(
    copyDatastore(sqlite(other), sqlite(to), hooks),
    (err: Error) =>
      err instanceof StoreError &&
      err.code === 'CONFLICT' &&
      /already holds data \(pools: 1, tokens: 1, nodes: 1/.test(err.message),
  );
  assert.deepEqual(rows(to, 'SELECT COUNT(*) FROM events'), before);
});
