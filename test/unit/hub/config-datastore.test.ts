// --datastore / ATOLL_DATASTORE and --datastore-pool-size, parsed once in hub/config.ts: the SQLite
// file in the data dir by default, a PostgreSQL URL with a bounded pool, and errors that name the flag
// and never show the password.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseHubConfig, type HubFlags } from '../../../hub/config.js';
import { ConfigError } from '../../../hub/errors.js';

const base: HubFlags = { dataDir: '/var/lib/atoll-test', publicUrl: 'https://hub.example:9444' };

test('default: the SQLite file in the data dir; `sqlite` says the same', () => {
  assert.deepEqual(parseHubConfig(base, {}, false).datastore, { kind: 'sqlite', path: join(base.dataDir!, 'hub.db') });
  assert.equal(parseHubConfig({ ...base, datastore: 'sqlite' }, {}, false).datastore.kind, 'sqlite');
});

test('postgres:// from the flag or ATOLL_DATASTORE (the flag wins), pool size 10 unless set', () => {
  const env = { ATOLL_DATASTORE: 'postgres://atoll:pw@db.internal:5432/atoll' };
  assert.deepEqual(parseHubConfig(base, env, false).datastore, {
    kind: 'postgres',
    url: 'postgres://atoll:pw@db.internal:5432/atoll',
    poolSize: 10,
  });
  const flag = parseHubConfig(
    { ...base, datastore: 'postgresql://other@db2/atoll2', datastorePoolSize: '25' },
    env,
    false,
  ).datastore;
  assert.deepEqual(flag, { kind: 'postgres', url: 'postgresql://other@db2/atoll2', poolSize: 25 });
  const fromEnv = parseHubConfig(base, { ...env, ATOLL_DATASTORE_POOL_SIZE: '3' }, false).datastore;
  assert.equal(fromEnv.kind === 'postgres' ? fromEnv.poolSize : 0, 3, 'ATOLL_DATASTORE_POOL_SIZE');
});

test('bad values name the flag, never the password', () => {
  const refuses = (flags: HubFlags, re: RegExp) =>
    assert.throws(
      () => parseHubConfig({ ...base, ...flags }, {}, false),
      (e: unknown) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('s3cret'),
    );
  refuses({ datastore: 'mysql://u:s3cret@h/db' }, /^--datastore: must be postgres:\/\/USER@HOST:5432\/DATABASE/);
  refuses({ datastore: 'postgres://u:s3cret@h:5432' }, /^--datastore: .*names no database/);
  refuses({ datastore: 'postgres://u:s3cret@h/db', datastorePoolSize: '0' }, /^--datastore-pool-size: .*1 to 1000/);
  refuses({ datastore: 'postgres://u:s3cret@h/db', datastorePoolSize: '5000' }, /^--datastore-pool-size/);
  refuses({ datastore: 'postgres://u:s3cret@h/db', datastorePoolSize: 'ten' }, /^--datastore-pool-size/);
  refuses(
    { datastore: 'postgres://u:s3cret@h/db', reinitStore: true },
    /--reinit-store applies to the SQLite store only/,
  );
});

test("k3s's datastore: embedded on SQLite, `<database>_k3s` beside atoll's on PostgreSQL, or the flag's", () => {
  assert.equal(parseHubConfig(base, {}, false).k3sDatastoreEndpoint, undefined);
  const pg = { ATOLL_DATASTORE: 'postgres://atoll:pw@db.internal:5432/Atoll?sslmode=require' };
  // Same server, credentials and options; kine lower-cases the database name.
  assert.equal(
    parseHubConfig(base, pg, false).k3sDatastoreEndpoint,
    'postgres://atoll:pw@db.internal:5432/atoll_k3s?sslmode=require',
  );
  const own = 'postgres://k3s:pw2@db.internal:5432/kubernetes';
  assert.equal(parseHubConfig({ ...base, k3sDatastoreEndpoint: own }, pg, false).k3sDatastoreEndpoint, own);
  assert.equal(parseHubConfig(base, { ...pg, ATOLL_K3S_DATASTORE_ENDPOINT: own }, false).k3sDatastoreEndpoint, own);
  // One SQLite hub may still put k3s on an external datastore.
  assert.equal(parseHubConfig({ ...base, k3sDatastoreEndpoint: own }, {}, false).k3sDatastoreEndpoint, own);
  // A --datastore-endpoint given to k3s directly wins: the hub adds none.
  assert.equal(
    parseHubConfig({ ...base, k3sArg: ['--datastore-endpoint=mysql://x'] }, pg, false).k3sDatastoreEndpoint,
    undefined,
  );
  // Several hubs each on an embedded datastore would be several clusters: refused, with the reason.
  assert.throws(
    () => parseHubConfig({ ...base, k3sDatastoreEndpoint: 'embedded' }, pg, false),
    (e: Error) => e instanceof ConfigError && /cluster of its own/.test(e.message),
  );
  assert.throws(
    () => parseHubConfig({ ...base, k3sDatastoreEndpoint: 'ftp://x/y' }, {}, false),
    (e: Error) => e instanceof ConfigError && /--k3s-datastore-endpoint/.test(e.message),
  );
});
