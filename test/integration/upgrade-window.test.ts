// Maintenance windows and hub restarts during a rolling k3s upgrade, on loopback with the k3s
// stand-in (namespaces add nothing to window arithmetic): a window that closes mid-rollout lets the
// node in progress finish and pauses the rest; a hub restart keeps the pause; the next window (made
// by moving the window's time) resumes it; a hub restart in the middle of a node resumes it too,
// never restarting the rollout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor, scrapeMetrics, type HubHandle, type AgentHandle } from '../helpers/processes.js';
import {
  buildStandin,
  importK3s,
  startUpgradeCluster,
  stopTracked,
  type UpgradeCluster,
  type RolloutView,
} from '../helpers/upgrade-cluster.js';

const V0 = 'v1.31.4+k3s1';
const V1 = 'v1.31.5+k3s1';
let work: string;
let c: UpgradeCluster;
const track: { hubs: HubHandle[]; agents: AgentHandle[] } = { hubs: [], agents: [] };

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'atoll-upgrade-window-'));
  buildStandin(join(work, 'k3s-v0'), V0);
  buildStandin(join(work, 'k3s-v1'), V1);
  c = await startUpgradeCluster(join(work, 'k3s-v0'), work, 2, 'win', track);
  await importK3s(c.hub, V1, join(work, 'k3s-v1'));
});

after(() => stopTracked(track, work));

const hour = new Date().getUTCHours();
const OPEN = { day: 'any', startHour: hour, durationHours: 2, timeZone: 'UTC' };
const CLOSED = { day: 'any', startHour: (hour + 3) % 24, durationHours: 1, timeZone: 'UTC' };

test('a window closing mid-rollout pauses it; hub restarts keep or resume it; the next window finishes it', async () => {
  const put = await c.hub.api<{ windowOpen: boolean }>('PUT', '/v1/cluster/auto-upgrade', { window: OPEN });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.equal(put.body.windowOpen, true);
  // On a loaded machine a node can blip to degraded (a slow kubelet probe); start from a healthy pool.
  await waitFor(
    'all nodes ready',
    async () =>
      (await c.hub.api<{ items: Array<{ state: string }> }>('GET', '/v1/nodes')).body.items.every(
        (n) => n.state === 'ready',
      ),
    30_000,
  );
  const start = await c.hub.api<RolloutView>('POST', '/v1/upgrades', {
    version: V1,
    window: 'next',
    dwell: '3s',
    verifyTimeout: '40s',
  });
  assert.equal(start.status, 201, JSON.stringify(start.body));
  const id = start.body.id;

  // The window closes while the first node is in progress: it finishes, the second waits.
  await c.waitRollout(
    id,
    (r) => ['cordon', 'drain', 'swap', 'verify'].includes(r.nodes[0].phase),
    'first node in progress',
    20_000,
  );
  assert.equal(
    (await c.hub.api<{ windowOpen: boolean }>('PUT', '/v1/cluster/auto-upgrade', { window: CLOSED })).body.windowOpen,
    false,
  );
  const paused = await c.waitRollout(id, (r) => r.state === 'paused', 'paused', 40_000);
  assert.deepEqual(
    paused.nodes.map((n) => n.phase),
    ['done', 'pending'],
  );
  const firstStarted = paused.nodes[0].startedAt;
  // Progress in /metrics: the control plane and the first node done, the second pending.
  const metrics = (await scrapeMetrics(c.hub)).body;
  assert.match(metrics, /^atoll_upgrade_nodes\{kind="k3s",phase="done"\} 2$/m);
  assert.match(metrics, /^atoll_upgrade_nodes\{kind="k3s",phase="pending"\} 1$/m);
  assert.deepEqual(
    (await c.kubeNodes()).map((n) => [n.name, n.version, n.unschedulable]),
    [
      ['win0', V1, false],
      ['win1', V0, false],
    ],
  );

  // A hub restart while paused: still the same rollout, still paused, nothing redone.
  await c.hub.stop();
  await c.hub.restart();
  await new Promise((r) => setTimeout(r, 2000));
  const still = await c.rollout(id);
  assert.equal(still.state, 'paused');
  assert.deepEqual(
    still.nodes.map((n) => n.phase),
    ['done', 'pending'],
  );
  assert.equal((await c.hub.api<{ items: unknown[] }>('GET', '/v1/upgrades')).body.items.length, 1);

  // The next window (moved to now) resumes it; a hub restart in the middle of the second node resumes that node.
  await c.hub.api('PUT', '/v1/cluster/auto-upgrade', { window: OPEN });
  await c.waitRollout(
    id,
    (r) => ['swap', 'verify'].includes(r.nodes[1].phase),
    'second node swapping or verifying',
    40_000,
  );
  await c.hub.stop();
  await c.hub.restart();
  const done = await c.waitRollout(
    id,
    (r) => r.state === 'done' || r.state === 'halted',
    'rollout done after the restart',
    60_000,
  );
  assert.equal(done.state, 'done', JSON.stringify(done));
  assert.deepEqual(
    done.nodes.map((n) => n.phase),
    ['done', 'done'],
  );
  assert.equal(done.nodes[0].startedAt, firstStarted, 'the first node was not redone');
  assert.deepEqual(
    (await c.kubeNodes()).map((n) => [n.name, n.version, n.ready, n.unschedulable]),
    [
      ['win0', V1, true, false],
      ['win1', V1, true, false],
    ],
  );
  const types = (
    await c.hub.api<{ items: Array<{ type: string; data: { rolloutId?: string } }> }>('GET', '/v1/events?limit=1000')
  ).body.items
    .filter((e) => e.data.rolloutId === id)
    .map((e) => e.type);
  for (const t of ['upgrade.started', 'upgrade.paused', 'upgrade.resumed', 'upgrade.done'])
    assert.ok(types.includes(t), `${t} in ${types.join(',')}`);
  assert.equal(types.filter((t) => t === 'upgrade.started').length, 1, 'never restarted');
  assert.equal((await c.hub.api<{ items: unknown[] }>('GET', '/v1/upgrades')).body.items.length, 1);
});

test('auto-upgrade: nothing outside the window; inside it, the newest patch artifact rolls out (control plane first), never a minor with scope patch', async () => {
  const V2 = 'v1.31.6+k3s1';
  buildStandin(join(work, 'k3s-v2'), V2);
  await importK3s(c.hub, V2, join(work, 'k3s-v2'));
  buildStandin(join(work, 'k3s-minor'), 'v1.32.0+k3s1');
  await importK3s(c.hub, 'v1.32.0+k3s1', join(work, 'k3s-minor')); // a minor: out of scope
  const before = (await c.hub.api<{ items: RolloutView[] }>('GET', '/v1/upgrades')).body.items.length;
  const put = await c.hub.api<{ enabled: boolean; scope: string; windowOpen: boolean }>(
    'PUT',
    '/v1/cluster/auto-upgrade',
    {
      enabled: true,
      window: CLOSED,
      rollout: { dwell: '1s', verifyTimeout: '40s', drainTimeout: '10s' },
    },
  );
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.deepEqual([put.body.enabled, put.body.scope, put.body.windowOpen], [true, 'patch', false]);
  await new Promise((r) => setTimeout(r, 3000)); // three policy ticks
  assert.equal(
    (await c.hub.api<{ items: RolloutView[] }>('GET', '/v1/upgrades')).body.items.length,
    before,
    'no rollout outside the window',
  );

  await c.hub.api('PUT', '/v1/cluster/auto-upgrade', { window: OPEN });
  const auto = await waitFor(
    'an automatic rollout',
    async () =>
      (await c.hub.api<{ items: Array<RolloutView & { actor: string }> }>('GET', '/v1/upgrades')).body.items.find(
        (r) => r.actor === 'auto-upgrade',
      ),
    20_000,
  );
  assert.equal(auto.version, V2);
  const done = await c.waitRollout(
    auto.id,
    (r) => r.state === 'done' || r.state === 'halted',
    'automatic rollout done',
    90_000,
  );
  assert.equal(done.state, 'done', JSON.stringify(done));
  assert.equal(done.controlPlane?.phase, 'done');
  assert.deepEqual(
    (await c.kubeNodes()).map((n) => [n.name, n.version, n.ready, n.unschedulable]),
    [
      ['win0', V2, true, false],
      ['win1', V2, true, false],
    ],
  );
  assert.equal((await c.hub.api<{ upgrades: { current: string } }>('GET', '/v1/cluster')).body.upgrades.current, V2);
  // Up to date: the policy starts nothing more.
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal((await c.hub.api<{ items: RolloutView[] }>('GET', '/v1/upgrades')).body.items.length, before + 1);
  await c.hub.api('PUT', '/v1/cluster/auto-upgrade', { enabled: false });
});

test('auto-upgrade past the end of life: a notice first, then the next minor (v1.32), even with scope patch', async () => {
  const MINOR = 'v1.32.0+k3s1'; // imported by the test above, with the cluster now on v1.31.6
  const day = (d: number): string => new Date(Date.now() + d * 86_400_000).toISOString().slice(0, 10);
  const eol = await c.hub.api('PUT', '/v1/versions/support', {
    minors: [{ minor: '1.31', released: day(-420), endOfMaintenance: day(-60), endOfLife: day(-1) }],
  });
  assert.equal(eol.status, 200);
  const cluster = (await c.hub.api<{ support: { status: string } }>('GET', '/v1/cluster')).body;
  assert.equal(cluster.support.status, 'end-of-life');
  const before = (await c.hub.api<{ items: RolloutView[] }>('GET', '/v1/upgrades')).body.items.length;
  await c.hub.api('PUT', '/v1/cluster/auto-upgrade', {
    enabled: true,
    scope: 'patch',
    window: CLOSED,
    rollout: { dwell: '1s', verifyTimeout: '40s', drainTimeout: '10s' },
  });
  type Ev = { id: number; type: string; message: string };
  const events = async (type: string): Promise<Ev[]> =>
    (await c.hub.api<{ items: Ev[] }>('GET', `/v1/events?type=${type}&limit=100`)).body.items;
  // Window closed: the notice, and no rollout.
  const notice = await waitFor('the end-of-life notice', async () => (await events('upgrade.eol-planned'))[0], 20_000);
  assert.match(notice.message, /past its end of life .*moves the cluster to v1\.32\.0\+k3s1 .*next maintenance window/);
  assert.equal((await c.hub.api<{ items: RolloutView[] }>('GET', '/v1/upgrades')).body.items.length, before);

  await c.hub.api('PUT', '/v1/cluster/auto-upgrade', { window: OPEN });
  const auto = await waitFor(
    'an automatic rollout to the next minor',
    async () =>
      (await c.hub.api<{ items: Array<RolloutView & { actor: string }> }>('GET', '/v1/upgrades')).body.items.find(
        (r) => r.actor === 'auto-upgrade' && r.version === MINOR,
      ),
    20_000,
  );
  const done = await c.waitRollout(
    auto.id,
    (r) => r.state === 'done' || r.state === 'halted',
    'rollout to the next minor done',
    90_000,
  );
  assert.equal(done.state, 'done', JSON.stringify(done));
  const started = (await events('upgrade.started')).find((e) => e.message.includes(auto.id));
  assert.ok(started && started.id > notice.id, 'the notice came before the rollout');
  assert.equal((await events('upgrade.eol-planned')).length, 1, 'one notice');
  assert.deepEqual(
    (await c.kubeNodes()).map((n) => [n.name, n.version]),
    [
      ['win0', MINOR],
      ['win1', MINOR],
    ],
  );
  await c.hub.api('PUT', '/v1/cluster/auto-upgrade', { enabled: false });
});
