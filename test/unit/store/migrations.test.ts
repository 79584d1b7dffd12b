import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { MIGRATIONS, openSqliteStore, StoreError, latestVersion } from '../../../hub/store/index.js';
import { runMigrations } from '../../../hub/store/migrations.js';
import { tempDir } from './helpers.js';

test('a fresh file is migrated, and reopening is idempotent', async (t) => {
  const path = join(tempDir(t), 'sub', 'hub.db');
  const store = await openSqliteStore({ path });
  assert.deepEqual(
    (await store.listPools()).map((p) => p.name),
    ['default'],
  );
  await store.setSetting('k', 1);
  await store.close();
  await store.close(); // idempotent

  const again = await openSqliteStore({ path });
  assert.deepEqual(
    (await again.listPools()).map((p) => p.name),
    ['default'],
  );
  assert.equal(await again.getSetting('k'), 1);
  await again.close();

  const db = new Database(path, { readonly: true });
  const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
  assert.deepEqual(
    rows.map((r) => r.version),
    // Every known migration, in order (a version another branch owns may be absent on this one).
    MIGRATIONS.map((m) => m.version).sort((a, b) => a - b),
  );
  assert.equal(rows.at(-1)?.version, latestVersion());
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
  await assert.rejects(
    openSqliteStore({ path }),
    (err: unknown) => err instanceof StoreError && err.code === 'CORRUPT',
  );
});

test('a closed store rejects calls with a StoreError', async (t) => {
  const store = await openSqliteStore({ path: join(tempDir(t), 'hub.db') });
  await store.close();
  await assert.rejects(store.listPools(), (err: unknown) => err instanceof StoreError && /closed/.test(err.message));
});

test('migration 4 moves settings documents of a hub at version 3 into their tables and deletes the keys', async (t) => {
  const path = join(tempDir(t), 'hub.db');
  const db = new Database(path);
  runMigrations(
    db,
    MIGRATIONS.filter((m) => m.version <= 3),
  );
  const put = db.prepare('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)');
  const at = '2030-01-01T00:00:00.000Z';
  const rollout = (id: string, state: string, ms: number) => ({
    id,
    kind: 'k3s',
    state,
    version: 'v1.31.1+k3s1',
    createdAt: new Date(ms).toISOString(),
    updatedAt: at,
    nodes: [],
  });
  const apiTokens = [
    {
      id: 'abc',
      role: 'operator',
      description: 'ci',
      secretHash: 'ef'.repeat(32),
      createdAt: at,
      createdBy: 'admin',
      revokedAt: null,
    },
  ];
  const rows: Array<[string, unknown]> = [
    ['api-tokens', apiTokens],
    ['upgrades.rollouts', ['r1', 'r2']],
    ['upgrades.rollout.r1', rollout('r1', 'done', Date.parse(at))],
    ['upgrades.rollout.r2', rollout('r2', 'running', Date.parse(at) + 1000)],
    ['k3s.node-token.n1', { id: 'kt1', token: 'secret-1' }],
    ['k3s.desired-version.n1', 'v1.30.2+k3s1'],
    ['k3s.desired-version.n2', 'v1.31.0+k3s1'],
    ['k3s.pending-purges', [{ id: 'gone', name: 'gone-node', pool: 'default', agentStopped: true }]],
    ['autoheal.node.n1', { step: 2, condition: 'degraded' }],
    ['autoheal.node.n1.switch', { enabled: false, paused: false }],
    ['autoheal.pool.default', { maxUnhealthyPercent: 10 }],
    ['autoheal.pool.default.pacing', { width: 4, cooldownUntil: 123 }],
    ['autoheal.cluster', { enabled: true, paused: true }],
    ['upgrades.auto-upgrade', { enabled: true }],
  ];
  for (const [key, value] of rows) put.run(key, JSON.stringify(value), at);
  db.close();

  const store = await openSqliteStore({ path });
  t.after(() => store.close());
  assert.deepEqual(await store.listApiTokens(), apiTokens);
  assert.deepEqual(
    (await store.listRollouts()).map((r) => r.id),
    ['r2', 'r1'],
  );
  assert.deepEqual(await store.getRollout('r2'), rollout('r2', 'running', Date.parse(at) + 1000));
  assert.deepEqual(
    (await store.listRollouts({ active: true })).map((r) => r.id),
    ['r2'],
  );
  assert.deepEqual(await store.getK3sToken('n1'), { id: 'kt1', token: 'secret-1' });
  assert.deepEqual(await store.listDesiredK3sVersions(), [
    { nodeId: 'n1', version: 'v1.30.2+k3s1' },
    { nodeId: 'n2', version: 'v1.31.0+k3s1' },
  ]);
  assert.deepEqual(await store.listPendingPurges(), [
    { id: 'gone', name: 'gone-node', pool: 'default', agentStopped: true },
  ]);
  assert.deepEqual(await store.getAutohealRecord('n1'), { step: 2, condition: 'degraded' });
  assert.deepEqual(await store.getAutohealPacing('default'), { width: 4, cooldownUntil: 123 });
  // Moved keys are gone; the small policy documents stay settings.
  for (const [key] of [...rows.slice(0, 9), rows[11]]) assert.equal(await store.getSetting(key), undefined, key);
  assert.deepEqual(await store.getSetting('autoheal.node.n1.switch'), { enabled: false, paused: false });
  assert.deepEqual(await store.getSetting('autoheal.pool.default'), { maxUnhealthyPercent: 10 });
  assert.deepEqual(await store.getSetting('autoheal.cluster'), { enabled: true, paused: true });
  assert.deepEqual(await store.getSetting('upgrades.auto-upgrade'), { enabled: true });
});
