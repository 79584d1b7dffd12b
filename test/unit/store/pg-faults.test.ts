// The PostgreSQL store under load and faults: a stopped server is DATASTORE_UNAVAILABLE and the same
// store works again once it is back; a serialization failure is retried inside the store; the pool
// never holds more connections than its size; a health batch is one statement whatever its size.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { systemClock } from '../../../hub/clock.js';
import { StoreError, openPostgresStore, type Store } from '../../../hub/store/index.js';
import { PgDb } from '../../../hub/store/pg-db.js';
import { PgClusterStore } from '../../../hub/store/pg-cluster-store.js';
import { createPgPool } from '../../../hub/store/pg-store.js';
import { postgresBinDir, startPostgres, type PgServer } from '../../helpers/postgres.js';
import { enrollInput, health, iso, token } from './helpers.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
let server: PgServer | undefined;
let dbs = 0;

before(async () => {
  if (!skip) server = await startPostgres();
});
after(() => server?.stop());

async function freshStore(opts: { poolSize?: number } = {}): Promise<{ store: Store; db: string }> {
  const db = `faults_${++dbs}`;
  server!.createDatabase(db);
  return { store: await openPostgresStore({ url: server!.urlFor(db), connectTimeoutMs: 2000, ...opts }), db };
}

const unavailable = (err: unknown) =>
  err instanceof StoreError &&
  err.code === 'DATASTORE_UNAVAILABLE' &&
  /PostgreSQL datastore is unavailable/.test(err.message);

test(
  'PostgreSQL stopped: writes and reads fail DATASTORE_UNAVAILABLE; once it is back the same store works',
  { skip },
  async () => {
    const { store } = await freshStore();
    try {
      const before = await store.appendEvent({ type: 't', actor: 'hub', message: 'before' });
      server!.pause();
      try {
        await assert.rejects(store.appendEvent({ type: 't', actor: 'hub', message: 'during' }), unavailable);
        await assert.rejects(store.setSetting('k', 1), unavailable);
        await assert.rejects(store.listEvents({}), unavailable);
        await assert.rejects(
          store.updateSetting('k', () => 2),
          unavailable,
          'a transaction too',
        );
      } finally {
        server!.start();
      }
      // The pool drops the dead connections and opens new ones: no restart of the store.
      let after: Awaited<ReturnType<Store['appendEvent']>> | undefined;
      for (let i = 0; i < 50 && !after; i++) {
        after = await store.appendEvent({ type: 't', actor: 'hub', message: 'after' }).catch(() => undefined);
        if (!after) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(after, 'the store works again within 10 s');
      assert.deepEqual(
        (await store.listEvents({})).map((e) => e.message),
        ['before', 'after'],
        'nothing acknowledged was lost, nothing refused was written',
      );
      assert.ok(after.id > before.id);
    } finally {
      await store.close();
    }
  },
);

test(
  'a serialization failure is retried inside the store (bounded, with jitter) until it commits',
  { skip },
  async () => {
    const { db } = await freshStore().then(async (r) => (await r.store.close(), r));
    server!.psql(
      'CREATE TABLE counter (n integer NOT NULL); INSERT INTO counter VALUES (0); ALTER TABLE counter OWNER TO atoll',
      db,
    );
    const pool = new pg.Pool({ connectionString: server!.urlFor(db), max: 8 });
    const pgdb = new PgDb(pool, 'test', { attempts: 50, baseDelayMs: 2, maxDelayMs: 50 });
    let tries = 0;
    try {
      const read = { name: 'test_counter_read', text: 'SELECT n FROM counter' };
      const write = { name: 'test_counter_write', text: 'UPDATE counter SET n = $1' };
      // Read, wait, write back: under SERIALIZABLE all but one of 8 concurrent increments fail 40001 per round.
      await Promise.all(
        Array.from({ length: 8 }, () =>
          pgdb.tx(
            'incrementing',
            async (ex) => {
              tries++;
              const n = (await ex.row<{ n: number }>(read))!.n;
              await new Promise((r) => setTimeout(r, 5));
              await ex.count(write, [n + 1]);
            },
            { serializable: true },
          ),
        ),
      );
      assert.equal(server!.psql('SELECT n FROM counter', db).trim(), '8', 'every increment landed once');
      assert.ok(tries > 8, `${tries} tries: some were retried`);
    } finally {
      await pgdb.close();
    }
  },
);

test('the pool holds at most poolSize connections under 200 concurrent calls', { skip }, async () => {
  const { store, db } = await freshStore({ poolSize: 3 });
  const admin = new pg.Client({ connectionString: server!.urlFor(db) });
  await admin.connect();
  try {
    let most = 0;
    let load = true;
    const work = Promise.all(Array.from({ length: 200 }, (_, i) => store.setSetting(`k${i % 20}`, i))).finally(
      () => (load = false),
    );
    while (load) {
      const r = await admin.query<{ n: number }>(
        `SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE application_name = 'atoll-hub' AND datname = $1`,
        [db],
      );
      most = Math.max(most, r.rows[0].n);
    }
    await work;
    assert.ok(most >= 1 && most <= 3, `${most} connections at most`);
  } finally {
    await admin.end();
    await store.close();
  }
});

test('a health batch of 1000 nodes with samples is one statement, not one per node', { skip }, async () => {
  const { store: seeded, db } = await freshStore();
  await seeded.createToken(token('tok', { maxUses: null }));
  const ids = Array.from({ length: 1000 }, (_, i) => `n${i}`);
  for (const id of ids) assert.equal(await seeded.enroll(enrollInput('tok', id)), 'ok');
  await seeded.close();
  const pool = createPgPool({ url: server!.urlFor(db), poolSize: 2 });
  const statements: string[] = [];
  const query = pool.query.bind(pool) as (...a: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: unknown }).query = (...args: unknown[]) => {
    statements.push((args[0] as { name?: string }).name ?? String(args[0]));
    return query(...args);
  };
  let connects = 0;
  pool.on('acquire', () => connects++);
  const store = new PgClusterStore(new PgDb(pool, 'test'), systemClock);
  try {
    const at = Date.now();
    await store.recordHealth(
      ids.map((nodeId) => ({ nodeId, lastSeen: iso(at), health: health(42) })),
      {
        samples: ids.map((nodeId) => ({ nodeId, at: iso(at), cpuPercent: 42, memoryPercent: 1, diskPercent: 2 })),
        pruneBefore: iso(at - 3_600_000),
      },
    );
    assert.deepEqual(statements, ['atoll_health_record']);
    assert.equal(connects, 1, 'one connection, no transaction around it');
    assert.equal((await store.getNode('n999'))?.health?.cpuPercent, 42);
    assert.equal((await store.listHealthSamples('n500', iso(0))).length, 1);
  } finally {
    await store.close();
  }
});
