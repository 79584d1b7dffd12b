// A hub on PostgreSQL is backed up beside the running hub, during a join storm: the hub's tables are
// read in one snapshot (SERIALIZABLE READ ONLY DEFERRABLE) and copied into a SQLite file inside the
// archive. Every archive is consistent (every node in it has its certificate), the hub never stops
// serving, and the restore is a data dir whose hub.db starts a working hub with the same CA and
// exactly the archive's nodes. Needs a build and PostgreSQL's binaries (test/helpers/postgres.ts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { HUB_BIN, removeDir, runCli, startHub, type HubHandle } from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { createToken, rawJoin, stopProc } from '../helpers/bad-input.js';
import { readArchive } from '../../hub/backup/archive.js';

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

/** The nodes in an archive's hub.db, and those of them without a certificate. */
function nodesIn(archive: string, work: string): { names: string[]; orphans: string[] } {
  const file = join(work, 'check.db');
  writeFileSync(file, readArchive(archive).members.get('hub.db')!);
  const db = new Database(file, { readonly: true });
  try {
    return {
      names: db
        .prepare<[], { name: string }>('SELECT name FROM nodes ORDER BY name')
        .all()
        .map((r) => r.name),
      orphans: db
        .prepare<[], { name: string }>('SELECT name FROM nodes WHERE id NOT IN (SELECT node_id FROM certs)')
        .all()
        .map((r) => r.name),
    };
  } finally {
    db.close();
  }
}

test(
  'backup of a hub on PostgreSQL beside the running hub during a join storm: consistent, and it restores to a working hub',
  { skip, timeout: 180_000 },
  async () => {
    server!.createDatabase('hubdb');
    const url = server!.urlFor('hubdb');
    const hub = await startHub({ extraArgs: ['--datastore', url, '--join-rate-limit', '100000'] });
    hubs.push(hub);
    await rawJoin(hub, (await createToken(hub)).token, 'pg-node');
    const ca = hub.caPem();
    const work = dirname(hub.dataDir);
    const pass = join(work, 'passphrase');
    writeFileSync(pass, 'postgres passphrase\n', { mode: 0o600 });
    const args = ['backup', 'create', '--data-dir', hub.dataDir, '--datastore', url, '--passphrase-file', pass];

    // The storm: workers join nodes until the backups are done (bounded), the hub answering throughout.
    const token = (await createToken(hub, { reusable: true })).token;
    const MAX_JOINS = 400;
    let joined = 0;
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop && joined < MAX_JOINS) {
        const i = joined++;
        await rawJoin(hub, token, `storm-${String(i).padStart(3, '0')}`);
      }
    };
    const storm = Promise.all(Array.from({ length: 6 }, worker));
    const archives: string[] = [];
    try {
      for (let i = 0; i < 3 && joined < MAX_JOINS; i++) {
        const out = join(work, `storm-${i}.atoll-backup`);
        const r = await runCli(HUB_BIN, [...args, '--out', out], {}, 60_000);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /the hub store from postgres:\/\//);
        assert.doesNotMatch(r.stdout + r.stderr, /postgres:\/\/[^@\s]*:[^@\s]*@/, 'no password printed');
        archives.push(out);
      }
    } finally {
      stop = true;
      await storm;
    }
    assert.equal(hub.proc.child.exitCode, null, 'the hub kept running');
    assert.equal((await hub.api('GET', '/readyz')).status, 200);
    const total = joined + 1;
    assert.ok(joined < MAX_JOINS, `the storm outlasted the backups (${joined} joins)`);
    const seen = archives.map((f) => nodesIn(f, work));
    for (const [i, s] of seen.entries()) assert.deepEqual(s.orphans, [], `${archives[i]}: nodes without a certificate`);
    const counts = seen.map((s) => s.names.length);
    assert.ok(
      counts.every((n) => n > 1 && n < total),
      `each backup was taken mid-storm: nodes per archive ${counts}, ${total} in the end`,
    );
    assert.equal(
      server!.psql("SELECT COUNT(*) FROM events WHERE type = 'backup.created'", 'hubdb').trim(),
      String(archives.length),
    );

    // The last archive restores to a hub (on SQLite) with the same CA and exactly its nodes, and it works.
    const target = join(work, 'restored');
    const last = archives[archives.length - 1];
    const r = await runCli(HUB_BIN, ['restore', last, '--data-dir', target, '--passphrase-file', pass]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /the store was PostgreSQL: it is restored as .*hub\.db/);
    await stopProc(hub.proc);
    const back = await startHub({ dataDir: target, extraArgs: ['--datastore', 'sqlite'] });
    hubs.push(back);
    assert.equal(back.caPem(), ca, 'the same CA');
    const nodes = await back.api<{ items: { name: string }[] }>('GET', '/v1/nodes');
    assert.deepEqual(nodes.body.items.map((n) => n.name).sort(), seen[seen.length - 1].names);
    const fresh = await rawJoin(back, (await createToken(back)).token, 'after-restore');
    assert.ok(fresh.certPem.includes('BEGIN CERTIFICATE'), 'the restored hub signs new nodes');
  },
);
