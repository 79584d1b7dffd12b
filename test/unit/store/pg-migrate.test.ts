// Opening a PostgreSQL datastore: migrations run once (also with several hubs starting at once), a
// database migrated by a newer atoll or too old to migrate is refused unchanged, and a connection
// string with a wrong password, host or database is one clear line without the password.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { StoreError, latestPgVersion, migratePostgres, openPostgresStore } from '../../../hub/store/index.js';
import { PG_MIGRATIONS } from '../../../hub/store/pg-schema.js';
import { postgresBinDir, startPostgres, type PgServer } from '../../helpers/postgres.js';
import { freePort } from '../../helpers/ports.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
let server: PgServer | undefined;
let dbs = 0;

before(async () => {
  if (!skip) server = await startPostgres();
});
after(() => server?.stop());

function freshDatabase(): string {
  const name = `migrate_${++dbs}`;
  server!.createDatabase(name);
  return name;
}

const isStoreError = (code: string, re: RegExp) => (err: unknown) =>
  err instanceof StoreError && err.code === code && re.test(err.message);

test('a fresh database is migrated once; opening it again changes nothing', { skip }, async () => {
  const db = freshDatabase();
  const store = await openPostgresStore({ url: server!.urlFor(db) });
  assert.deepEqual(
    (await store.listPools()).map((p) => p.name),
    ['default'],
  );
  await store.close();
  const again = await openPostgresStore({ url: server!.urlFor(db) });
  await again.close();
  assert.equal(
    server!.psql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version", db).trim(),
    PG_MIGRATIONS.map((m) => m.version).join(','),
  );
  assert.deepEqual(await migratePostgres({ url: server!.urlFor(db) }), {
    from: latestPgVersion(),
    to: latestPgVersion(),
  });
});

test('four hubs opening a fresh database at once all start; the schema is migrated once', { skip }, async () => {
  const db = freshDatabase();
  const stores = await Promise.all(
    Array.from({ length: 4 }, () => openPostgresStore({ url: server!.urlFor(db), poolSize: 2 })),
  );
  try {
    const events = await Promise.all(stores.map((s, i) => s.appendEvent({ type: 't', actor: 'hub', message: `${i}` })));
    assert.equal(new Set(events.map((e) => e.id)).size, 4);
    assert.equal(server!.psql('SELECT COUNT(*) FROM schema_version', db).trim(), String(PG_MIGRATIONS.length));
    assert.equal(server!.psql(`SELECT COUNT(*) FROM pools WHERE name = 'default'`, db).trim(), '1');
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});

test('a database migrated by a newer atoll is refused, and left as it was', { skip }, async () => {
  const db = freshDatabase();
  await migratePostgres({ url: server!.urlFor(db) });
  const newer = latestPgVersion() + 1;
  server!.psql(`INSERT INTO schema_version (version, name, applied_at) VALUES (${newer}, 'from the future', 'x')`, db);
  await assert.rejects(
    openPostgresStore({ url: server!.urlFor(db) }),
    isStoreError(
      'SCHEMA_VERSION',
      new RegExp(`schema version ${newer}, but this atoll knows versions up to ${newer - 1}.*newer atoll`),
    ),
  );
  assert.equal(server!.psql('SELECT MAX(version) FROM schema_version', db).trim(), String(newer));
});

test(
  'a database too old to migrate is refused; one at the oldest migratable version is migrated on',
  { skip },
  async () => {
    const db = freshDatabase();
    await migratePostgres({ url: server!.urlFor(db) });
    const v = latestPgVersion();
    const next = { version: v + 1, name: 'a later column', statements: ['ALTER TABLE pools ADD COLUMN later text'] };
    await assert.rejects(
      openPostgresStore({
        url: server!.urlFor(db),
        migrate: { migrations: [...PG_MIGRATIONS, next], oldestMigratable: v + 1 },
      }),
      isStoreError('SCHEMA_VERSION', new RegExp(`schema version ${v}, too old for this atoll to migrate`)),
    );
    assert.equal(server!.psql('SELECT MAX(version) FROM schema_version', db).trim(), String(v));
    const store = await openPostgresStore({
      url: server!.urlFor(db),
      migrate: { migrations: [...PG_MIGRATIONS, next] },
    });
    await store.close();
    assert.equal(server!.psql('SELECT MAX(version) FROM schema_version', db).trim(), String(v + 1));
    assert.equal(
      server!.psql(`SELECT COUNT(*) FROM information_schema.columns WHERE column_name = 'later'`, db).trim(),
      '1',
    );
  },
);

test(
  'a wrong password, host or database: DATASTORE_UNAVAILABLE, one line that says why, no password',
  { skip },
  async () => {
    const url = new URL(server!.url);
    const password = decodeURIComponent(url.password);
    const wrongPassword = new URL(url);
    wrongPassword.password = 'not-the-password';
    const wrongDb = new URL(url);
    wrongDb.pathname = '/no_such_database';
    const wrongPort = new URL(url);
    wrongPort.port = String(await freePort());
    const cases: Array<[URL, RegExp]> = [
      [wrongPassword, /password authentication failed for user "atoll"/],
      [wrongDb, /database "no_such_database" does not exist/],
      [wrongPort, /ECONNREFUSED/],
    ];
    for (const [u, re] of cases) {
      const err = await openPostgresStore({ url: u.toString(), connectTimeoutMs: 3000 }).then(
        () => assert.fail(`${u.host}${u.pathname} opened`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof StoreError, String(err));
      assert.equal(err.code, 'DATASTORE_UNAVAILABLE');
      assert.match(err.message, re);
      assert.match(
        err.message,
        /^the PostgreSQL datastore is unavailable: migrating the schema failed on postgres:\/\/atoll@/,
      );
      assert.equal(err.message.includes('\n'), false, 'one line');
      assert.equal(err.message.includes(password), false, 'the password is never shown');
      assert.equal(err.message.includes('not-the-password'), false);
    }
  },
);

test(
  'a datastore URL that is not postgres://, or names no database, is refused before connecting',
  { skip },
  async () => {
    await assert.rejects(
      openPostgresStore({ url: 'mysql://x@h/db' }),
      isStoreError('DATASTORE_UNAVAILABLE', /must start with postgres:\/\//),
    );
    await assert.rejects(
      openPostgresStore({ url: 'postgres://x@127.0.0.1:5432' }),
      isStoreError('DATASTORE_UNAVAILABLE', /names no database/),
    );
    await assert.rejects(openPostgresStore({ url: 'not a url' }), isStoreError('DATASTORE_UNAVAILABLE', /not a URL/));
    await assert.rejects(
      openPostgresStore({ url: server!.url, poolSize: 0 }),
      isStoreError('DATASTORE_UNAVAILABLE', /pool size must be 1 to 1000/),
    );
  },
);
