// Two hubs on one PostgreSQL (the same cluster secret, separate data dirs and ports): both list each
// other in GET /v1/hubs and `atoll-hub hubs`; exactly one leads each singleton role; SIGSTOP of the
// leader past its lease hands every role to the other, and after SIGCONT the old leader claims
// nothing (sampled every 100 ms on both hubs: never two hubs acting in one role); kill -9 of the
// leader, and the other leads within 15 s. Needs a build (dist/hub/main.js).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HUB_BIN, runCli, waitFor, type HubHandle } from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { HubGroup } from '../helpers/hubs.js';

// Every role but `backups`: only hubs with --backup-interval take it (hubs-backups.test.ts).
const ROLES = ['autoheal', 'autoscale', 'event-retention', 'lifespan', 'purges', 'support-watch', 'upgrades'];
const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';

interface HubItem {
  id: string;
  publicUrl: string;
  apiUrl: string;
  agents: number;
  lastBeat: string;
  live: boolean;
  leader: string[];
  self: boolean;
}

let server: PgServer | undefined;
let group: HubGroup | undefined;

before(async () => {
  if (!skip) server = await startPostgres();
});
after(async () => {
  await group?.cleanup();
  server?.stop();
});

async function listHubs(h: HubHandle, timeoutMs = 2000): Promise<HubItem[] | undefined> {
  const r = await Promise.race([
    h.api<{ items: HubItem[] }>('GET', '/v1/hubs'),
    sleep(timeoutMs).then(() => undefined),
  ]);
  return r?.status === 200 ? r.body.items : undefined;
}

/** What a hub says it acts on now (its own row's leader), or [] when it does not answer (paused, dead). */
async function claims(h: HubHandle): Promise<string[]> {
  const items = await listHubs(h, 300).catch(() => undefined);
  return items?.find((i) => i.self)?.leader ?? [];
}

test(
  'two hubs on one PostgreSQL: membership, one leader per role, SIGSTOP and kill -9 failover',
  { skip, timeout: 180_000 },
  async () => {
    group = new HubGroup(server!, 'ha', { poolSize: 4 });
    const [a, b] = await group.addAll([{ id: 'hub-a' }, { id: 'hub-b' }]);

    // Both list both, live, with their direct URLs; every role has exactly one leader.
    for (const h of [a, b]) {
      const items = await waitFor(
        'both hubs listed live',
        async () => {
          const l = await listHubs(h);
          return l && l.filter((i) => i.live).length === 2 && l;
        },
        15_000,
        200,
      );
      assert.deepEqual(items.map((i) => i.id).sort(), ['hub-a', 'hub-b']);
      assert.equal(items.find((i) => i.id === 'hub-b')!.publicUrl, b.gatewayUrl);
      assert.equal(items.find((i) => i.id === 'hub-a')!.apiUrl, a.apiUrl);
    }
    const led = async () => {
      const [ca, cb] = await Promise.all([claims(a), claims(b)]);
      return { a: ca, b: cb };
    };
    const first = await waitFor(
      'every role led',
      async () => {
        const l = await led();
        return l.a.length + l.b.length === ROLES.length && l;
      },
      15_000,
      200,
    );
    assert.deepEqual([...first.a, ...first.b].sort(), ROLES, 'each role exactly once');
    assert.deepEqual(first.a.sort(), ROLES, 'the first hub took every role');

    // The CLI shows the same table.
    const table = await runCli(HUB_BIN, ['hubs', '--data-dir', b.dataDir]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+STATE\s+URL\s+AGENTS\s+LEADS\s+LAST BEAT/m);
    assert.match(
      table.stdout,
      /hub-a\s+live\s+https:\/\/127\.0\.0\.1:\d+\s+0\s+autoheal,autoscale,event-retention,lifespan,purges,support-watch,upgrades/,
    );
    assert.match(table.stdout, /hub-b \*\s+live/);
    const json = JSON.parse((await runCli(HUB_BIN, ['hubs', '-o', 'json', '--data-dir', a.dataDir])).stdout) as {
      items: HubItem[];
    };
    assert.equal(json.items.length, 2);

    // SIGSTOP the leader past its lease (10 s), sampling both hubs' claims every 100 ms throughout.
    let sampling = true;
    const overlaps: string[] = [];
    let samples = 0;
    const sampler = (async () => {
      while (sampling) {
        const l = await led();
        samples++;
        const both = l.a.filter((r) => l.b.includes(r));
        if (both.length) overlaps.push(`${new Date().toISOString()}: ${both.join(',')}`);
        await sleep(100);
      }
    })();
    const stoppedAt = Date.now();
    a.proc.child.kill('SIGSTOP');
    let tookOver = 0;
    try {
      await waitFor(
        'hub-b to lead every role while hub-a is paused',
        async () => (await claims(b)).length === ROLES.length,
        15_000,
        100,
      );
      tookOver = Date.now() - stoppedAt;
      await sleep(Math.max(0, 13_000 - (Date.now() - stoppedAt)));
    } finally {
      a.proc.child.kill('SIGCONT');
    }
    // Resumed: hub-a acts on nothing more, and says why in its log.
    await waitFor('hub-a answers again', async () => (await listHubs(a)) !== undefined, 10_000, 100);
    await sleep(4000); // a renew round and more on both hubs
    sampling = false;
    await sampler;
    assert.deepEqual(overlaps, [], 'never two hubs acting in one role');
    assert.ok(samples > 50, `sampled ${samples} times`);
    assert.deepEqual(await claims(a), []);
    assert.deepEqual((await claims(b)).sort(), ROLES);
    assert.match(a.proc.stdout() + a.proc.stderr(), /no longer leading a role/);
    const leases = server!.psql("SELECT role || '=' || holder || ':' || term FROM leases ORDER BY role", 'ha').trim();
    assert.deepEqual(
      leases.split('\n').map((l) => l.trim()),
      ROLES.map((r) => `${r}=hub-b:2`),
      'every lease moved to hub-b with a new term',
    );
    console.log(`takeover after SIGSTOP: ${tookOver} ms`);

    // kill -9 of the leader (now hub-b): hub-a leads every role within 15 s.
    const killedAt = Date.now();
    b.proc.child.kill('SIGKILL');
    await b.proc.exited;
    await waitFor(
      'hub-a to lead every role after kill -9',
      async () => (await claims(a)).length === ROLES.length,
      15_000,
      100,
    );
    const failover = Date.now() - killedAt;
    console.log(`takeover after kill -9: ${failover} ms`);
    assert.ok(failover < 15_000);
    // hub-b stops being live within the liveness window.
    await waitFor(
      'hub-b shown gone',
      async () => (await listHubs(a))?.find((i) => i.id === 'hub-b')?.live === false,
      10_000,
      200,
    );
  },
);
