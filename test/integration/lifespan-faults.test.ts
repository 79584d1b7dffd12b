// Node lifespan faults, with real processes. The hook fails to create the new node: the old node
// stays, each failure is an event, an alert is raised, and the next try backs off (doubling). A pool
// without a hook: one `lifespan.exceeded` notice per over-age node (not one per tick) and an alert.
// A bad maxNodeAge is refused with a stable code.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
  removeTree,
  runCli,
  HUB_BIN,
  type AgentHandle,
  type HubHandle,
} from '../helpers/processes.js';
import { writeLifespanHook } from '../helpers/lifespan-hook.js';

interface Ev {
  id: number;
  type: string;
  nodeId: string | null;
  message: string;
  data: Record<string, unknown>;
}
interface Node {
  id: string;
  name: string;
  state: string;
  connected: boolean;
}
interface Alert {
  id: string;
  severity: string;
  message: string;
}

const work = mkdtempSync(join(tmpdir(), 'atoll-lifespan-faults-'));
const hubs: HubHandle[] = [];
const agents: AgentHandle[] = [];

after(async () => {
  for (const a of agents) await a.proc.kill('SIGKILL');
  for (const h of hubs) {
    await h.stop('SIGKILL');
    removeDir(h.dataDir);
  }
  removeTree(work);
});

const ALWAYS_OPEN = { day: 'any', startHour: 0, durationHours: 24, timeZone: 'UTC' };

async function hubWithOldNode(name: string, pool: Record<string, unknown>): Promise<{ h: HubHandle; old: Node }> {
  const dir = join(work, name);
  mkdirSync(dir);
  const h = await startHub({ extraArgs: ['--autoheal-interval', '300ms'] });
  hubs.push(h);
  assert.equal((await h.api('PUT', '/v1/cluster/auto-upgrade', { window: ALWAYS_OPEN })).status, 200);
  const p = await h.api('PATCH', '/v1/pools/default', pool);
  assert.equal(p.status, 200, JSON.stringify(p.body));
  const tok = await h.api<{ token: string }>('POST', '/v1/tokens', { uses: 1, ttl: '10m' });
  agents.push(startAgentJoin(h, tok.body.token, { dataDir: join(dir, 'old-agent'), args: ['--node-name', 'old'] }));
  const old = await waitFor(
    'the old agent Ready',
    async () =>
      (await h.api<{ items: Node[] }>('GET', '/v1/nodes')).body.items.find(
        (n) => n.name === 'old' && n.state === 'ready' && n.connected,
      ),
    30_000,
  );
  return { h, old };
}

const eventsOf = async (h: HubHandle, type: string): Promise<Ev[]> =>
  (await h.api<{ items: Ev[] }>('GET', `/v1/events?type=${type}&limit=1000`)).body.items;
const alerts = async (h: HubHandle): Promise<Alert[]> =>
  (await h.api<{ items: Alert[] }>('GET', '/v1/alerts')).body.items;

test('the hook fails to create the new node: the old node stays, an alert is raised, and the next try backs off', async () => {
  const dir = join(work, 'hook-fails');
  mkdirSync(dir);
  const hook = writeLifespanHook(dir, { failCreate: true });
  const { h, old } = await hubWithOldNode('fails', {
    maxNodeAge: '2s',
    autoheal: { hook: hook.path, cooldownMin: '1s', cooldownMax: '1m' },
  });
  const creates = await waitFor(
    'three tries of the hook',
    () => {
      const c = hook.calls().filter((x) => x.action === 'create');
      return c.length >= 3 ? c : undefined;
    },
    40_000,
  );
  // Backoff doubles from cooldownMin: about 1 s, then about 2 s (ticks every 300 ms add up to one).
  const gap1 = creates[1].atMs - creates[0].atMs;
  const gap2 = creates[2].atMs - creates[1].atMs;
  assert.ok(gap1 >= 950 && gap1 < 2_500, `first wait ${gap1} ms`);
  assert.ok(gap2 >= 1_950 && gap2 < 3_500, `second wait ${gap2} ms`);
  assert.ok(gap2 > gap1, `the waits grow: ${gap1} then ${gap2} ms`);

  const failed = await waitFor('two failure events', async () => {
    const f = (await eventsOf(h, 'lifespan.failed')).filter((e) => e.nodeId === old.id);
    return f.length >= 2 ? f : undefined;
  });
  const messages = failed.map((e) => e.message).join('\n');
  assert.match(messages, /could not create a replacement: hook .* exited 3: no capacity in this zone \(test\)/);
  assert.match(messages, /the old node stays; failure 1, next try in 1 s/);
  assert.match(messages, /failure 2, next try in 2 s/);

  // The old node stays, Ready and connected; nothing else joined; no machine was deleted.
  const nodes = (await h.api<{ items: Node[] }>('GET', '/v1/nodes')).body.items;
  assert.deepEqual(
    nodes.map((n) => [n.name, n.state, n.connected]),
    [['old', 'ready', true]],
  );
  assert.equal(
    hook.calls().some((c) => c.action === 'delete'),
    false,
  );
  const alert = await waitFor('the lifespan alert', async () =>
    (await alerts(h)).find((a) => a.id === 'lifespan-failed:default'),
  );
  assert.equal(alert.severity, 'warning');
  assert.match(alert.message, /failed replacement\(s\).*no capacity/);
  // Lifespan turned off for the pool: its failures are history, the alert goes.
  assert.equal((await h.api('PATCH', '/v1/pools/default', { maxNodeAge: null })).status, 200);
  await waitFor('the failure alert gone', async () => !(await alerts(h)).some((a) => a.id.startsWith('lifespan-')));
});

test('a pool without a hook: one lifespan.exceeded notice per over-age node, an alert, and no change to the node', async () => {
  const { h, old } = await hubWithOldNode('no-hook', { description: 'no hook here' });
  // Set through the CLI, as an operator would; `pool show` and `pool list` show it.
  const cli = (args: string[]) => runCli(HUB_BIN, [...args, '--data-dir', h.dataDir]);
  const set = await cli(['pool', 'update', 'default', '--max-node-age', '2s']);
  assert.equal(set.code, 0, set.stderr);
  assert.match((await cli(['pool', 'show', 'default'])).stdout, /^maxNodeAge: +2s$/m);
  assert.match((await cli(['pool', 'list'])).stdout, /^NAME +LABELS +TAINTS +MAX-AGE[\s\S]*^default +- +- +2s /m);
  await waitFor('the notice', async () => (await eventsOf(h, 'lifespan.exceeded')).length > 0, 20_000);
  await new Promise((r) => setTimeout(r, 3_000)); // ten more ticks
  const notices = await eventsOf(h, 'lifespan.exceeded');
  assert.equal(notices.length, 1, notices.map((e) => e.message).join('\n'));
  assert.equal(notices[0].nodeId, old.id);
  assert.match(notices[0].message, /old is older than pool default's maxNodeAge \(2s\); the pool has no provider hook/);
  const alert = await waitFor('the lifespan-exceeded alert', async () =>
    (await alerts(h)).find((a) => a.id === 'lifespan-exceeded:default'),
  );
  assert.match(alert.message, /1 node\(s\) in pool default are older than its maxNodeAge \(2s\)/);
  assert.equal((await h.api('GET', `/v1/nodes/${old.id}`)).status, 200);

  // Turned off: the alert goes; bad values are refused with a stable code and change nothing.
  const off = await cli(['pool', 'update', 'default', '--max-node-age', 'none']);
  assert.equal(off.code, 0, off.stderr);
  assert.match((await cli(['pool', 'show', 'default'])).stdout, /^maxNodeAge: +none/m);
  await waitFor('the alert gone', async () => !(await alerts(h)).some((a) => a.id.startsWith('lifespan-')), 10_000);
  for (const bad of ['30', 'soon', '500ms']) {
    const r = await h.api<{ error: { code: string; message: string } }>('PATCH', '/v1/pools/default', {
      maxNodeAge: bad,
    });
    assert.equal(r.status, 400, `${bad}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'VALIDATION');
    assert.match(r.body.error.message, /maxNodeAge/);
  }
  assert.equal((await h.api<{ maxNodeAge: string | null }>('GET', '/v1/pools/default')).body.maxNodeAge, null);
  const audit = (await eventsOf(h, 'pool.updated')).map((e) => e.data.fields as string[]);
  assert.ok(
    audit.some((f) => f.includes('maxNodeAge')),
    JSON.stringify(audit),
  );
});

test('a machine that never becomes a Ready node in time: the old node stays, the machine is deleted, the next try backs off', async () => {
  const dir = join(work, 'never-joins');
  mkdirSync(dir);
  const hook = writeLifespanHook(dir, { noAgent: true, maxCreates: 5 });
  const { h, old } = await hubWithOldNode('never', {
    maxNodeAge: '2s',
    autoheal: { hook: hook.path, replaceTimeout: '3s', cooldownMin: '30s', cooldownMax: '1m' },
  });
  await waitFor('the unjoined machine deleted', () => hook.calls().some((c) => c.action === 'delete'), 30_000);
  const del = hook.request('delete') as { node: { id: string; machineId: string } };
  assert.equal(del.node.machineId, 'vm-1', 'only the machine the create answered');
  assert.equal(del.node.id, '', 'no node is named: none joined');
  const failed = await waitFor('the failure event', async () =>
    (await eventsOf(h, 'lifespan.failed')).find((e) => /was not Ready within 3s/.test(e.message)),
  );
  assert.equal(failed.nodeId, old.id);
  assert.match(failed.message, /the old node stays; failure 1, next try in 30 s/);
  await new Promise((r) => setTimeout(r, 2_000));
  assert.equal(hook.calls().filter((c) => c.action === 'create').length, 1, 'backing off: no second create yet');
  const nodes = (await h.api<{ items: Node[] }>('GET', '/v1/nodes')).body.items;
  assert.deepEqual(
    nodes.map((n) => [n.name, n.state]),
    [['old', 'ready']],
  );
});
