import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { openSqliteStore, StoreError, latestVersion } from '../../../hub/store/index.js';
import { tempDir } from './helpers.js';

test('a fresh file is migrated, and reopening is idempotent', async (t) => {
  const path = join(tempDir(t), 'sub', 'hub.db');
  const store = await openSqliteStore({ path });
  assert.deepEqual((await store.listPools()).map((p) => p.name), ['default']);
  await store.setSetting('k', 1);
  await store.close();
  await store.close(); // idempotent

  const again = await openSqliteStore({ path });
  assert.deepEqual((await again.listPools()).map((p) => p.name), ['default']);
  assert.equal(await again.getSetting('k'), 1);
  await again.close();

  const db = new Database(path, { readonly: true });
  const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
  assert.deepEqual(rows.map((r) => r.version), Array.from({ length: latestVersion() }, (_, i) => i + 1));
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
});

test('the database file and its WAL files have mode 0600, and loose modes are tightened', async (t) => {
  const path = join(tempDir(t), 'hub.db');
  const store = await openSqliteStore({ path });
  await store.appendEvent({ type: 'x', actor: 'hub', message: 'm' });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  for (const side of ['-wal', '-shm']) {
    if (existsSync(path + side)) assert.equal(statSync(path + side).mode & 0o777, 0o600, side);
  }
  await store.close();

  const loose = join(tempDir(t), 'loose.db');
  writeFileSync(loose, '', { mode: 0o644 });
  const s2 = await openSqliteStore({ path: loose });
  assert.equal(statSync(loose).mode & 0o777, 0o600);
  await s2.close();
});

test('a database with a newer schema version is refused with CORRUPT', async (t) => {
  const path = join(tempDir(t), 'hub.db');
  await (await openSqliteStore({ path })).close();
  const db = new Database(path);
  db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(latestVersion() + 7, 'x');
  db.close();
  await assert.rejects(openSqliteStore({ path }), (err: unknown) => {
    assert.ok(err instanceof StoreError);
    assert.equal(err.code, 'CORRUPT');
    assert.match(err.message, /newer atoll/);
    assert.match(err.message, new RegExp(`version ${latestVersion() + 7}`));
    return true;
  });
});

test('a file that is not a database is refused with CORRUPT', async (t) => {
  const path = join(tempDir(t), 'hub.db');
  writeFileSync(path, 'this is not a sqlite database, just some text that is long enough to have a header'.repeat(20));
  await assert.rejects(openSqliteStore({ path }), (err: unknown) => err instanceof StoreError && err.code === 'CORRUPT');
});

test('a closed store rejects calls with a StoreError', async (t) => {
  const store = await openSqliteStore({ path: join(tempDir(t), 'hub.db') });
  await store.close();
  await assert.rejects(store.listPools(), (err: unknown) => err instanceof StoreError && /closed/.test(err.message));
});
