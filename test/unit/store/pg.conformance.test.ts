// The Store conformance suite against the PostgreSQL store: a real server (test/helpers/postgres.ts)
// for the whole file, stopped and removed in an after hook (also when a test fails). Each test gets a
// fresh database, copied from one that openPostgresStore's migrations made at the start (a copy takes
// milliseconds, a migration a quarter of a second). Skipped only where PostgreSQL is not installed.
import { after, before, test } from 'node:test';
import pg from 'pg';
import { migratePostgres, openPostgresStore } from '../../../hub/store/index.js';
import { postgresBinDir, startPostgres, type PgServer } from '../../helpers/postgres.js';
import { storeConformance } from './conformance/index.js';

if (!postgresBinDir()) {
  test(
    'Store conformance: postgres',
    { skip: 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)' },
    () => {},
  );
} else {
  let server: PgServer | undefined;
  let admin: pg.Client | undefined;
  let n = 0;
  before(async () => {
    server = await startPostgres();
    server.psql('ALTER ROLE atoll CREATEDB');
    server.createDatabase('conformance_template');
    await migratePostgres({ url: server.urlFor('conformance_template') });
    admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
  });
  after(async () => {
    await admin?.end().catch(() => undefined);
    server?.stop();
  });
  storeConformance('postgres', async () => {
    if (!server || !admin) throw new Error('the PostgreSQL server did not start');
    const name = `conformance_${++n}`;
    await admin.query(`CREATE DATABASE ${name} TEMPLATE conformance_template`);
    const store = await openPostgresStore({ url: server.urlFor(name) });
    return { store, cleanup: () => store.close() };
  });
}
