// A hub cut off from the shared PostgreSQL while another hub still has it: its GET /readyz turns 503,
// it sends its agent away (HUB_DRAINING) and the agent is ready on the other hub, with the same node
// id; when the database is back for it, /readyz is 200 again. And when the database itself stops for
// every hub, no hub is ready, so none sends its agents away: they stay connected where they are.
// Hub A logs in as its own role (a member of the owner role), so it alone can be cut off.
// Needs a build (dist/) and PostgreSQL.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { removeTree, startAgentJoin, waitFor, type AgentHandle, type HubHandle } from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { createToken, stopProc } from '../helpers/bad-input.js';
import { HubGroup } from '../helpers/hubs.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
let server: PgServer | undefined;
let group: HubGroup | undefined;
let agent: AgentHandle | undefined;
const dirs: string[] = [];

after(async () => {
  await stopProc(agent?.proc);
  await group?.cleanup();
  server?.stop();
  for (const d of dirs) removeTree(d);
});

interface NodeView {
  id: string;
  state: string;
  connected: boolean;
}

/** GET /readyz on the hub's API, or on its gateway (what a load balancer and the other hubs ask). */
function readyz(h: HubHandle, on: 'api' | 'gateway' = 'api'): Promise<number> {
  return new Promise((resolve) => {
    const base = on === 'api' ? h.apiUrl : h.gatewayUrl;
    const req = request(new URL('/readyz', base), { ca: h.caPem(), timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

test(
  'a hub cut off from the database sends its agent to a hub that has it; with the database down for all, agents stay',
  { skip, timeout: 180_000 },
  async () => {
    const pg = await startPostgres();
    server = pg;
    group = new HubGroup(pg, 'cutoff', { viaEnv: true, prefix: 'atoll-cutoff-' });
    const pw = randomBytes(9).toString('hex');
    pg.psql(`CREATE ROLE hub_a LOGIN PASSWORD '${pw}' IN ROLE atoll`);
    const urlA = group.url.replace(/\/\/atoll:[^@]*@/, `//hub_a:${pw}@`);
    // B first, as the owner: it makes the tables; A (a member of the owner role) only uses them.
    const hubB = await group.add({ id: 'hub-b' });
    const hubA = await group.add({ id: 'hub-a', datastoreUrl: urlA });
    assert.equal(await readyz(hubA), 200);
    assert.equal(await readyz(hubB), 200);
    assert.equal(await readyz(hubA, 'gateway'), 200);

    const readyOn = async (hub: HubHandle): Promise<NodeView | undefined> => {
      const r = await hub.api<{ items: NodeView[] }>('GET', '/v1/nodes').catch(() => undefined);
      const items = r?.status === 200 ? r.body.items : [];
      return items.length === 1 && items[0].state === 'ready' && items[0].connected ? items[0] : undefined;
    };
    // The agent joins through A and learns B from A's welcome (membership).
    agent = startAgentJoin(hubA, (await createToken(hubA)).token, {
      dataDir: join(mkdtempSync(join(tmpdir(), 'atoll-cutoff-agent-')), 'data'),
    });
    dirs.push(join(agent.dataDir, '..'));
    const a = agent;
    const node = await waitFor('the agent ready on hub A', () => readyOn(hubA), 30_000);
    await waitFor('the agent knows both hubs', () => /"hubs":2/.test(a.proc.stderr()), 15_000);
    const linkedTo = (h: HubHandle): boolean => {
      const port = new URL(h.gatewayUrl).port;
      const lines = a.proc
        .stderr()
        .split('\n')
        .filter((l) => l.includes('connected to the hub'));
      return lines.at(-1)?.includes(`:${port}"`) ?? false;
    };
    assert.ok(linkedTo(hubA));

    // Cut A off: its role may not log in, its sessions end. B keeps the database.
    pg.psql(`ALTER ROLE hub_a NOLOGIN`);
    pg.psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'hub_a'`);
    const cutAt = Date.now();
    await waitFor('hub A not ready', async () => (await readyz(hubA)) === 503, 20_000);
    assert.equal(await readyz(hubA, 'gateway'), 503, "the gateway's /readyz says so too");
    assert.equal(await readyz(hubB, 'gateway'), 200);
    const onB = await waitFor(
      'the agent ready on hub B',
      async () => (linkedTo(hubB) ? readyOn(hubB) : undefined),
      30_000,
      200,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}\nagent:\n${a.proc.stderr().slice(-3000)}\nhub A:\n${hubA.proc.stderr().slice(-2000)}`,
      );
    });
    process.stdout.write(`# the agent moved to hub B ${Date.now() - cutAt} ms after hub A was cut off\n`);
    assert.equal(onB.id, node.id, 'the same node, no re-join');
    assert.match(hubA.proc.stderr(), /cut off from the datastore while another hub has it/);

    // A's database comes back: it is ready again.
    pg.psql(`ALTER ROLE hub_a LOGIN`);
    await waitFor('hub A ready again', async () => (await readyz(hubA)) === 200, 20_000);

    // The database stops for everyone: nobody is ready, nobody sheds; the agent stays on B.
    const reconnects = (): number =>
      a.proc
        .stderr()
        .split('\n')
        .filter((l) => l.includes('connected to the hub')).length;
    const before = reconnects();
    pg.pause();
    try {
      await waitFor('hub B not ready', async () => (await readyz(hubB)) === 503, 20_000);
      // Past the live window and a few shed checks.
      await new Promise((r) => setTimeout(r, 5_000));
      assert.equal(reconnects(), before, 'no agent was sent away while no hub had the database');
      assert.ok(linkedTo(hubB));
    } finally {
      pg.start();
    }
    await waitFor('hub B ready again', async () => (await readyz(hubB)) === 200, 30_000);
  },
);
