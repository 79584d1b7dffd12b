// A hub on PostgreSQL is backed up by copying its tables into a SQLite file inside the archive (with
// the hubs stopped: a connected hub is refused); the restore is a data dir whose hub.db starts with the
// same CA and the same nodes. Needs a build and PostgreSQL's binaries (test/helpers/postgres.ts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HUB_BIN, removeDir, runCli, startHub, type HubHandle } from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { createToken, rawJoin, stopProc } from '../helpers/bad-input.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
let server: PgServer | undefined;
const hubs: HubHandle[] = [];
before(async () => {
  if (!skip) server = await startPostgres();
});
after(async () => {
  for (const h of hubs) await stopProc(h.proc);
  server?.stop();
  for (const h of hubs) removeDir(h.dataDir);
});

test(
  'backup of a hub on PostgreSQL (hubs stopped), restored onto SQLite with the same CA and nodes',
  { skip },
  async () => {
    server!.createDatabase('hubdb');
    const url = server!.urlFor('hubdb');
    const hub = await startHub({ extraArgs: ['--datastore', url] });
    hubs.push(hub);
    await rawJoin(hub, (await createToken(hub)).token, 'pg-node');
    const ca = hub.caPem();
    const work = dirname(hub.dataDir);
    const pass = join(work, 'passphrase');
    writeFileSync(pass, 'postgres passphrase\n', { mode: 0o600 });
    const archive = join(work, 'pg.atoll-backup');
    const args = ['backup', 'create', '--data-dir', hub.dataDir, '--datastore', url, '--passphrase-file', pass];

    const busy = await runCli(HUB_BIN, [...args, '--out', archive]);
    assert.equal(busy.code, 1, busy.stderr);
    assert.match(busy.stderr, /a hub is connected to .*stop every hub on it/);
    assert.doesNotMatch(busy.stderr, /postgres:\/\/[^@\s]*:[^@\s]*@/, 'no password printed');

    await hub.stop();
    const made = await runCli(HUB_BIN, [...args, '--out', archive]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /the hub store from postgres:\/\//);
    assert.equal(server!.psql("SELECT COUNT(*) FROM events WHERE type = 'backup.created'", 'hubdb').trim(), '1');

    const target = join(work, 'restored');
    const r = await runCli(HUB_BIN, ['restore', archive, '--data-dir', target, '--passphrase-file', pass]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /the store was PostgreSQL: it is restored as .*hub\.db/);
    const back = await startHub({ dataDir: target, extraArgs: ['--datastore', 'sqlite'] });
    hubs.push(back);
    assert.equal(back.caPem(), ca, 'the same CA');
    const nodes = await back.api<{ items: { name: string }[] }>('GET', '/v1/nodes');
    assert.deepEqual(
      nodes.body.items.map((n) => n.name),
      ['pg-node'],
    );
  },
);
