// `atoll-hub run --datastore postgres://...` against a real PostgreSQL (test/helpers/postgres.ts):
// `datastore migrate` alone; a wrong password, host or database is one line and exit 1; PostgreSQL
// stopped under a running hub answers writes with 503 DATASTORE_UNAVAILABLE, and the hub recovers
// by itself once the database is back. Needs a build (dist/hub/main.js).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_BIN, removeTree, runCli, startHub, waitFor, type HubHandle } from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { freePort } from '../helpers/ports.js';
import { PG_MIGRATIONS } from '../../hub/store/pg-schema.js';
import { stopProc } from '../helpers/bad-input.js';

const LATEST = PG_MIGRATIONS[PG_MIGRATIONS.length - 1].version;
const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
let server: PgServer | undefined;
let hub: HubHandle | undefined;
const dirs: string[] = [];

before(async () => {
  if (!skip) server = await startPostgres();
});
after(async () => {
  await stopProc(hub?.proc);
  server?.stop();
  for (const d of dirs) removeTree(d);
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'atoll-hub-pg-'));
  dirs.push(d);
  return join(d, 'data');
}

function hubRun(dir: string, datastore: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(
    HUB_BIN,
    [
      'run',
      '--data-dir',
      dir,
      '--api-listen',
      '127.0.0.1:0',
      '--gateway-listen',
      '127.0.0.1:0',
      '--public-url',
      'https://127.0.0.1:9444',
      '--k3s',
      'off',
      '--datastore',
      datastore,
    ],
    { ATOLL_DATA_DIR: undefined, ATOLL_DATASTORE: undefined },
    30_000,
  );
}

test('atoll-hub datastore migrate migrates a fresh database, then finds nothing to do', { skip }, async () => {
  server!.createDatabase('migrate_cli');
  const url = server!.urlFor('migrate_cli');
  const first = await runCli(HUB_BIN, ['datastore', 'migrate', '--datastore', url]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stdout,
    new RegExp(
      String.raw`postgres://atoll@127\.0\.0\.1:\d+/migrate_cli: migrated from schema version 0 to ${LATEST}\b`,
    ),
  );
  assert.equal(first.stdout.includes(new URL(url).password), false, 'no password on the screen');
  const again = await runCli(HUB_BIN, ['datastore', 'migrate'], { ATOLL_DATASTORE: url });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(String.raw`already at schema version ${LATEST}`));
  assert.equal(server!.psql('SELECT MAX(version) FROM schema_version', 'migrate_cli').trim(), String(LATEST));
});

test('a wrong password, host or database: one clear line on stderr, exit 1, no password', { skip }, async () => {
  const url = new URL(server!.url);
  const badPassword = new URL(url);
  badPassword.password = 'wrong-password';
  const badDb = new URL(url);
  badDb.pathname = '/nope';
  const badHost = new URL(url);
  badHost.port = String(await freePort());
  const cases: Array<[URL, RegExp]> = [
    [badPassword, /password authentication failed for user "atoll"/],
    [badDb, /database "nope" does not exist/],
    [badHost, /ECONNREFUSED/],
  ];
  for (const [u, re] of cases) {
    const dir = dataDir();
    const r = await hubRun(dir, u.toString());
    assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${r.stderr}`);
    assert.match(lines[0], /^error: DATASTORE_UNAVAILABLE: the PostgreSQL datastore is unavailable: /);
    assert.match(lines[0], re);
    for (const secret of [decodeURIComponent(url.password), 'wrong-password'])
      assert.equal(r.stderr.includes(secret) || r.stdout.includes(secret), false, 'the password is never printed');
    assert.doesNotMatch(r.stdout, /is running/);
  }
  const bad = await hubRun(dataDir(), 'mysql://atoll@127.0.0.1/atoll');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error: --datastore: must be postgres:\/\/USER@HOST:5432\/DATABASE/);
});

test(
  'PostgreSQL stopped under a running hub: writes answer 503 DATASTORE_UNAVAILABLE; the hub recovers by itself',
  { skip },
  async () => {
    server!.createDatabase('running_hub');
    hub = await startHub({ extraArgs: ['--datastore', server!.urlFor('running_hub'), '--datastore-pool-size', '4'] });
    const made = await hub.api<{ id: string }>('POST', '/v1/tokens', { ttl: '10m' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(
      server!.psql(`SELECT COUNT(*) FROM tokens WHERE id = '${made.body.id}'`, 'running_hub').trim(),
      '1',
      'the token is in PostgreSQL',
    );

    server!.pause();
    try {
      const refused = await hub.api<{ error: { code: string; message: string } }>('POST', '/v1/tokens', { ttl: '10m' });
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'DATASTORE_UNAVAILABLE');
      const list = await hub.api<{ error: { code: string } }>('GET', '/v1/tokens');
      assert.equal(list.status, 503, 'a read that needs the database too');
      assert.equal((await hub.api('GET', '/healthz')).status, 200, 'the hub itself keeps running');
    } finally {
      server!.start();
    }
    const after = await waitFor(
      'a write to succeed again',
      async () => {
        const r = await hub!.api<{ id: string }>('POST', '/v1/tokens', { ttl: '10m' });
        return r.status === 201 && r.body;
      },
      20_000,
      250,
    );
    const ids = (await hub.api<{ items: Array<{ id: string }> }>('GET', '/v1/tokens')).body.items.map((t) => t.id);
    assert.ok(ids.includes(made.body.id) && ids.includes(after.id), `both tokens listed: ${ids.join(', ')}`);
    assert.equal(hub.proc.child.exitCode, null, 'never restarted');
  },
);
