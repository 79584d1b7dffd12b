// The partition guard on a fake clock: proportional thresholds for small and large fleets, a freeze
// that holds while the cut agents stay away, and hysteresis (a settle period) before it lifts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionGuard, dropThreshold } from '../../../hub/autoheal/guard.js';
import { createLogger } from '../../../hub/logger.js';
import type { EventLog } from '../../../hub/events.js';
import type { NodeSnapshot } from '../../../hub/nodes/registry.js';
import type { ControlPlaneInfo } from '../../../hub/k3s/supervisor.js';

const running: ControlPlaneInfo = {
  state: 'running',
  version: 'v1',
  message: 'serving',
  restarts: 0,
  since: '',
  lastLogLines: [],
};

function fleet(n: number): NodeSnapshot[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `n${i}`,
    name: `n${i}`,
    pool: 'default',
    state: 'ready',
    reasons: [],
    connected: true,
    lastSeenMs: 0,
    disconnectedAt: 0,
    k3sState: 'running',
  }));
}

function cut(nodes: NodeSnapshot[], count: number, at: number): void {
  for (const n of nodes.slice(0, count))
    Object.assign(n, { connected: false, disconnectedAt: at, state: 'unreachable' });
}

function guard(): { g: PartitionGuard; notes: string[] } {
  const notes: string[] = [];
  const events = {
    note: async (e: { type: string }) => {
      notes.push(e.type);
      return undefined;
    },
  } as unknown as EventLog;
  return {
    g: new PartitionGuard({ events, logger: createLogger('silent'), windowMs: 120_000, settleMs: 10_000 }),
    notes,
  };
}

test('the drop threshold is half the fleet, at least 2', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 1000].map(dropThreshold), [2, 2, 2, 2, 2, 3, 3, 500]);
});

for (const [size, dropped, freezes] of [
  [4, 2, true],
  [5, 2, true],
  [6, 3, true],
  [6, 2, false],
  [10, 4, false],
  [10, 5, true],
] as const) {
  test(`${dropped} of ${size} agents cut at once ${freezes ? 'freezes' : 'does not freeze'} remediation`, async () => {
    const { g } = guard();
    const nodes = fleet(size);
    await g.update(nodes, running, 1_000, 1_000);
    cut(nodes, dropped, 2_000);
    await g.update(nodes, running, 3_000, 3_000);
    assert.equal(g.frozen, freezes);
    if (freezes) assert.match(g.current().reason, new RegExp(`${dropped} of ${size} agents dropped`));
  });
}

test('drops spread over more than the window are single failures, not a partition', async () => {
  const { g } = guard();
  const nodes = fleet(4);
  cut(nodes, 1, 0);
  await g.update(nodes, running, 1_000, 1_000);
  Object.assign(nodes[1], { connected: false, disconnectedAt: 200_000 });
  await g.update(nodes, running, 200_500, 200_500);
  assert.equal(g.frozen, false);
});

test('hysteresis: the freeze holds while the cut agents are away and lifts only after the settle period', async () => {
  const { g, notes } = guard();
  const nodes = fleet(4);
  // One node has been dead for a long time; it must not keep a later freeze going.
  Object.assign(nodes[3], { connected: false, disconnectedAt: 1, state: 'unreachable' });
  const t0 = 1_000_000;
  cut(nodes, 2, t0);
  await g.update(nodes, running, t0 + 1_000, t0 + 1_000);
  assert.equal(g.frozen, true);
  await g.update(nodes, running, t0 + 600_000, t0 + 600_000);
  assert.equal(g.frozen, true, 'still frozen long after the window while the two stay cut');
  // One of them comes back: fewer than the threshold are still cut (the long-dead node does not count).
  Object.assign(nodes[0], { connected: true, state: 'ready' });
  await g.update(nodes, running, t0 + 601_000, t0 + 601_000);
  assert.equal(g.frozen, true, 'the condition is clear, but not for the settle period yet');
  await g.update(nodes, running, t0 + 605_000, t0 + 605_000);
  assert.equal(g.frozen, true);
  await g.update(nodes, running, t0 + 611_000, t0 + 611_000);
  assert.equal(g.frozen, false);
  assert.equal(g.unfrozenAt, t0 + 611_000, 'ladder ages restart when the freeze ends');
  assert.deepEqual(notes, ['autoheal.frozen', 'autoheal.unfrozen']);
});

test('a relapse during the settle period restarts it', async () => {
  const { g } = guard();
  const nodes = fleet(4);
  cut(nodes, 2, 10_000);
  await g.update(nodes, running, 10_500, 10_500);
  for (const n of nodes) Object.assign(n, { connected: true, state: 'ready' });
  await g.update(nodes, running, 20_000, 20_000);
  cut(nodes, 2, 25_000);
  await g.update(nodes, running, 25_500, 25_500);
  for (const n of nodes) Object.assign(n, { connected: true, state: 'ready' });
  await g.update(nodes, running, 30_000, 30_000);
  await g.update(nodes, running, 36_000, 36_000);
  assert.equal(g.frozen, true, 'clear for 6 s only');
  await g.update(nodes, running, 40_500, 40_500);
  assert.equal(g.frozen, false);
});

test('an unhealthy Kubernetes API freezes remediation until it has served for the settle period', async () => {
  const { g } = guard();
  const nodes = fleet(3);
  await g.update(nodes, { ...running, state: 'failed', message: 'gave up' }, 0, 0);
  assert.match(g.current().reason, /Kubernetes API is unhealthy \(failed: gave up\)/);
  await g.update(nodes, running, 5_000, 5_000);
  assert.equal(g.frozen, true);
  await g.update(nodes, running, 15_000, 15_000);
  assert.equal(g.frozen, false);
});
