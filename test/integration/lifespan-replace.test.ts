// Node lifespan with real processes: a pool with maxNodeAge and a provider hook replaces an over-age
// node only inside the maintenance window. The hook's `create` starts a real agent with the token of
// the cloud-init it was given; once that node is Ready the old one is drained and removed, and its
// machine deleted through the hook. A hub killed while the new machine boots resumes the same
// replacement after its restart and never asks for a second machine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
  removeTree,
  type AgentHandle,
  type HubHandle,
} from '../helpers/processes.js';
import { writeLifespanHook, type HookScript } from '../helpers/lifespan-hook.js';

interface Ev {
  id: number;
  type: string;
  nodeId: string | null;
  message: string;
}
interface Node {
  id: string;
  name: string;
  state: string;
  connected: boolean;
}

const work = mkdtempSync(join(tmpdir(), 'atoll-lifespan-'));
const hubs: HubHandle[] = [];
const agents: AgentHandle[] = [];
const hooks: HookScript[] = [];

after(async () => {
  for (const a of agents) await a.proc.kill('SIGKILL');
  for (const h of hooks) h.killStarted();
  for (const h of hubs) {
    await h.stop('SIGKILL');
    removeDir(h.dataDir);
  }
  removeTree(work);
});

const ALWAYS_OPEN = { day: 'any', startHour: 0, durationHours: 24, timeZone: 'UTC' };

async function events(h: HubHandle, query = ''): Promise<Ev[]> {
  return (await h.api<{ items: Ev[] }>('GET', `/v1/events?limit=1000${query}`)).body.items;
}

async function nodes(h: HubHandle): Promise<Node[]> {
  return (await h.api<{ items: Node[] }>('GET', '/v1/nodes')).body.items;
}

/** A hub with a hook on the default pool and one real agent, `old`, joined and Ready. */
async function setUp(
  name: string,
  hookOpts: Parameters<typeof writeLifespanHook>[1],
  window: Record<string, unknown>,
): Promise<{ h: HubHandle; hook: HookScript; old: Node; dir: string }> {
  const dir = join(work, name);
  mkdirSync(dir);
  const hook = writeLifespanHook(dir, hookOpts);
  hooks.push(hook);
  const h = await startHub({ extraArgs: ['--autoheal-interval', '300ms'] });
  hubs.push(h);
  const w = await h.api('PUT', '/v1/cluster/auto-upgrade', { window });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  const p = await h.api('PATCH', '/v1/pools/default', {
    maxNodeAge: '3s',
    autoheal: { hook: hook.path, replaceTimeout: '60s', drainTimeout: '5s' },
  });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  assert.equal((p.body as { maxNodeAge: string }).maxNodeAge, '3s');
  const tok = await h.api<{ token: string }>('POST', '/v1/tokens', { uses: 1, ttl: '10m' });
  agents.push(startAgentJoin(h, tok.body.token, { dataDir: join(dir, 'old-agent'), args: ['--node-name', 'old'] }));
  const old = await waitFor(
    'the old agent Ready',
    async () => (await nodes(h)).find((n) => n.name === 'old' && n.state === 'ready' && n.connected),
    30_000,
  );
  return { h, hook, old, dir };
}

async function explain(h: HubHandle, dir: string, err: Error): Promise<never> {
  const evs = (await events(h)).map((e) => `${e.id} ${e.type}: ${e.message}`);
  const log = join(dir, 'machine-1.log');
  throw new Error(
    `${err.message}\n${evs.join('\n')}\n${existsSync(log) ? readFileSync(log, 'utf8').slice(-1500) : '(no machine log)'}`,
  );
}

test('an over-age node is replaced inside the window: the new node is Ready before the old one is drained and removed', async () => {
  // A window that is surely closed now: another day than today and yesterday.
  const day = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'][(new Date().getUTCDay() + 2) % 7];
  const { h, hook, old, dir } = await setUp('replace', {}, { day, startHour: 0, durationHours: 1, timeZone: 'UTC' });

  // Over its age (3s) for several ticks, but the window is closed: the hook is never called.
  await new Promise((r) => setTimeout(r, 5_000));
  assert.deepEqual(hook.calls(), [], 'nothing happens outside the maintenance window');
  assert.ok((await nodes(h)).some((n) => n.id === old.id));

  assert.equal((await h.api('PUT', '/v1/cluster/auto-upgrade', { window: ALWAYS_OPEN })).status, 200);
  await waitFor(
    'the old node removed',
    async () => (await h.api('GET', `/v1/nodes/${old.id}`)).status === 404,
    60_000,
  ).catch((err: Error) => explain(h, dir, err));
  // No cascade of replacements in the assertions below: the replacement's own age is not checked.
  await h.api('PATCH', '/v1/pools/default', { maxNodeAge: null });
  await waitFor('the old machine deleted through the hook', () => hook.calls().some((c) => c.action === 'delete'));

  const actions = hook.calls().map((c) => c.action);
  assert.deepEqual(actions.slice(0, 2), ['create', 'delete'], actions.join(','));
  const create = hook.request('create') as { action: string; pool: string; node?: unknown; cloudInit: string };
  assert.equal(create.action, 'create');
  assert.equal(create.pool, 'default');
  assert.equal(create.node, undefined, 'create names no node');
  assert.match(create.cloudInit, /^#cloud-config/);
  const del = hook.request('delete') as { action: string; node: { id: string; name: string; machineId: unknown } };
  assert.equal(del.node.id, old.id);
  assert.equal(del.node.name, 'old');

  const now = await nodes(h);
  const fresh = now.find((n) => n.name === 'replacement-1');
  assert.ok(fresh, JSON.stringify(now));
  assert.equal(fresh.state, 'ready');
  assert.ok(fresh.connected);

  // The order: the replacement joined and was Ready, then the old node was drained and removed.
  const evs = await events(h);
  const id = (pred: (e: Ev) => boolean, what: string): number => {
    const e = evs.find(pred);
    assert.ok(e, `${what}\n${evs.map((x) => `${x.id} ${x.type}: ${x.message}`).join('\n')}`);
    return e.id;
  };
  const joined = id((e) => e.type === 'node.joined' && e.nodeId === fresh.id, 'the replacement joined');
  const ready = id(
    (e) => e.type === 'lifespan.step' && e.nodeId === old.id && /replacement replacement-1 is Ready/.test(e.message),
    'the replacement Ready',
  );
  const removed = id((e) => e.type === 'node.removed' && e.nodeId === old.id, 'the old node removed');
  const deleted = id(
    (e) => e.type === 'lifespan.step' && e.nodeId === old.id && /deleted through the provider hook/.test(e.message),
    'the old machine deleted',
  );
  const asked = id(
    (e) => e.type === 'lifespan.step' && e.nodeId === old.id && /asking the provider hook/.test(e.message),
    'the replacement asked for',
  );
  assert.ok(
    asked < joined && joined < ready && ready < removed && removed < deleted,
    `${asked} ${joined} ${ready} ${removed} ${deleted}`,
  );
  // The setting change is audited.
  assert.ok(
    evs.some((e) => e.type === 'pool.updated' && /pool default updated/.test(e.message)),
    'pool.updated recorded',
  );
});

test('a hub killed while the new machine boots resumes the same replacement after its restart, with one create', async () => {
  const { h, hook, old, dir } = await setUp('restart', { delay: 8 }, ALWAYS_OPEN);
  await waitFor(
    'the machine created',
    async () => (await events(h, '&type=lifespan.step')).find((e) => /vm-1 created/.test(e.message)),
    30_000,
  ).catch((err: Error) => explain(h, dir, err));
  await h.stop('SIGKILL');
  await h.restart();
  await waitFor(
    'the old node removed after the restart',
    async () => (await h.api('GET', `/v1/nodes/${old.id}`)).status === 404,
    60_000,
  ).catch((err: Error) => explain(h, dir, err));
  await h.api('PATCH', '/v1/pools/default', { maxNodeAge: null });
  await waitFor('the old machine deleted through the hook', () => hook.calls().some((c) => c.action === 'delete'));
  const actions = hook.calls().map((c) => c.action);
  assert.deepEqual(actions.slice(0, 2), ['create', 'delete'], actions.join(','));
  const first = hook.calls().filter((c) => c.action === 'create');
  const deleted = hook.calls().find((c) => c.action === 'delete')!;
  assert.ok(first.filter((c) => c.atMs < deleted.atMs).length === 1, 'one create before the old machine was deleted');
  const names = (await nodes(h)).map((n) => n.name);
  assert.ok(names.includes('replacement-1'), names.join(','));
  assert.ok(!names.includes('replacement-2'), 'no second machine');
});
