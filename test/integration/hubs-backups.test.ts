// Scheduled backups with several hubs on one PostgreSQL: hubs A and B with --backup-interval and one
// shared --backup-dir, hub C with no backup flags. Only the leader of the `backups` role (A, the first
// up) writes archives; kill -9 of A hands the role to B, which writes the next ones into the same
// folder; every hub's /metrics shows the same last-backup age, also C's, whose own folder is empty
// (the age comes from the shared backup.created events). At the end every archive in the folder reads
// back whole with the cluster's signature, `backup list --backup-dir` lists them, none damaged, and
// pruning kept --backup-keep. Needs a build (dist/hub/main.js).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_BIN, removeTree, runCli, scrapeMetrics, waitFor, type HubHandle } from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { HubGroup } from '../helpers/hubs.js';
import { archiveMacKey, readArchive, verifyArchive } from '../../hub/backup/archive.js';
import { readClusterSecret } from '../../hub/pki/cluster-secret.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
const KEEP = 3;
let server: PgServer | undefined;
let group: HubGroup | undefined;
let root: string | undefined;

before(async () => {
  if (!skip) server = await startPostgres();
});
after(async () => {
  await group?.cleanup();
  server?.stop();
  if (root) removeTree(root);
});

interface BackupEvent {
  id: number;
  data: { hub: string | null; file: string; createdAt: string };
}

async function backupEvents(h: HubHandle): Promise<BackupEvent[]> {
  const r = await h.api<{ items: BackupEvent[] }>('GET', '/v1/events?type=backup.created&limit=1000');
  assert.equal(r.status, 200);
  return r.body.items;
}

async function leaderOf(h: HubHandle, role: string): Promise<string | undefined> {
  const r = await h.api<{ items: { id: string; live: boolean; leader: string[] }[] }>('GET', '/v1/hubs');
  return r.body.items.find((i) => i.live && i.leader.includes(role))?.id;
}

async function ageOf(h: HubHandle): Promise<number | undefined> {
  const m = /^atoll_hub_backup_last_success_age_seconds (\S+)$/m.exec((await scrapeMetrics(h)).body);
  return m ? Number(m[1]) : undefined;
}

/** The hubs' ages scraped at once agree within 0.5 s (a backup landing between two scrapes: try again). */
async function sameAge(hubs: HubHandle[]): Promise<number[]> {
  return waitFor(
    `the same last-backup age on ${hubs.length} hubs`,
    async () => {
      const ages = await Promise.all(hubs.map(ageOf));
      if (ages.some((a) => a === undefined)) return false;
      const n = ages as number[];
      return Math.max(...n) - Math.min(...n) < 0.5 && n;
    },
    15_000,
    100,
  );
}

const archives = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.atoll-backup'));

test(
  'two hubs, one shared backup dir: only the backups leader writes; kill -9 of it, the other writes the next; every hub shows the same age',
  { skip, timeout: 180_000 },
  async () => {
    root = mkdtempSync(join(tmpdir(), 'atoll-hubs-backups-'));
    const shared = join(root, 'shared-backups');
    const env = { ATOLL_TEST_MIN_BACKUP_INTERVAL_MS: '1000' };
    const backupArgs = ['--backup-interval', '2s', '--backup-keep', String(KEEP), '--backup-dir', shared];
    group = new HubGroup(server!, 'backups', { poolSize: 4 });
    const a = await group.add({ id: 'hub-a', extraArgs: backupArgs, env });
    const b = await group.add({ id: 'hub-b', extraArgs: backupArgs, env });
    const c = await group.add({ id: 'hub-c' });

    assert.equal(await waitFor('a backups leader', () => leaderOf(b, 'backups'), 15_000, 200), 'hub-a');
    const first = await waitFor(
      'three scheduled backups',
      async () => {
        const e = await backupEvents(c);
        return e.length >= 3 && e;
      },
      30_000,
      200,
    );
    assert.deepEqual([...new Set(first.map((e) => e.data.hub))], ['hub-a'], 'only the leader writes backups');
    assert.ok(
      first.every((e) => e.data.file.startsWith(`${shared}/`)),
      'into the shared folder',
    );
    for (const h of [a, b, c])
      assert.ok(!existsSync(join(h.dataDir, 'backups')), `nothing in ${h.id}'s own data dir (${h.dataDir})`);
    const ages = await sameAge([a, b, c]);
    assert.ok(
      ages.every((x) => x >= 0 && x < 10),
      `ages ${ages.join(', ')}`,
    );

    // The leader dies (maybe mid-backup): B takes the role and makes the next ones in the same folder.
    await a.kill();
    const lastOfA = Math.max(...(await backupEvents(b)).map((e) => e.id));
    await waitFor('B leads backups', async () => (await leaderOf(c, 'backups')) === 'hub-b', 20_000, 200);
    const byB = await waitFor(
      'two backups by hub-b',
      async () => {
        const e = (await backupEvents(c)).filter((x) => x.id > lastOfA);
        return e.length >= 2 && e;
      },
      30_000,
      200,
    );
    assert.deepEqual([...new Set(byB.map((e) => e.data.hub))], ['hub-b']);
    assert.ok(
      byB.every((e) => e.data.file.startsWith(`${shared}/`)),
      'into the shared folder',
    );
    assert.ok(!existsSync(join(b.dataDir, 'backups')));
    // C has no archive of its own: its age is the one B reads from the folder.
    assert.ok(!existsSync(join(c.dataDir, 'backups')));
    await sameAge([b, c]);
    for (const h of [b, c]) {
      const alerts = (await h.api<{ items: { id: string }[] }>('GET', '/v1/alerts')).body.items;
      assert.ok(!alerts.some((x) => x.id === 'backup-too-old'), `no backup-too-old on ${h.dataDir}`);
    }

    // Stopped (a backup in flight is finished first): every archive there reads back whole and signed.
    await b.stop();
    await c.stop();
    const macKey = archiveMacKey(readClusterSecret(join(b.dataDir, 'cluster-secret')).secret);
    const names = archives(shared);
    assert.equal(names.length, KEEP, `pruned to --backup-keep ${KEEP}`);
    for (const n of names) verifyArchive(join(shared, n), readArchive(join(shared, n)), macKey, false);
    const listed = await runCli(HUB_BIN, ['backup', 'list', '--data-dir', c.dataDir, '-o', 'json'], {
      ATOLL_BACKUP_DIR: shared,
    });
    assert.equal(listed.code, 0, listed.stderr);
    const items = (JSON.parse(listed.stdout) as { items: { name: string; problem: string | null }[] }).items;
    assert.deepEqual(items.map((i) => i.name).sort(), [...names].sort());
    assert.ok(
      items.every((i) => i.problem === null),
      'none damaged (a temp file of the killed leader is not listed)',
    );
    const viaFlag = await runCli(HUB_BIN, ['backup', 'list', '--data-dir', c.dataDir, '--backup-dir', shared]);
    assert.equal(viaFlag.code, 0, viaFlag.stderr);
    for (const n of names) assert.match(viaFlag.stdout, new RegExp(n.replace(/\./g, '\\.')));
  },
);
