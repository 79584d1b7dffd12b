// The upgrade engine under leadership (hub/cluster/): a hub that does not lead the upgrades only stores
// a rollout made through it; the leader adopts it and runs it. A leader that loses the role stops at
// its next wait, and the hub that takes over goes on from the stored step: no node is upgraded twice.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TO, upgradeHarness, type UpgradeHarness } from './engine-harness.js';
import { UpgradeEngine } from '../../../hub/upgrades/engine.js';
import type { Rollout } from '../../../hub/upgrades/rollout-state.js';

/** The engine of a second hub on the same store that does not lead the upgrades. */
function follower(h: UpgradeHarness): UpgradeEngine {
  return new UpgradeEngine({ ...h.engine['d'], leads: () => false, unfenced: h.store });
}

const K3S_PHASES = ['preflight', 'cordon', 'drain', 'swap', 'verify', 'uncordon', 'done'];

test('a rollout made on a hub that does not lead is stored, not run; the leader adopts it and runs it once', async (t) => {
  let leading = false;
  const h = await upgradeHarness(t, { leads: () => leading });
  h.engine['d'].unfenced = h.store;
  const a = await h.node('a');
  const r = await h.engine.begin({ version: TO, window: 'now', controlPlane: false }, 'admin');
  await new Promise((res) => setTimeout(res, 100));
  assert.equal((await h.engine.get(r.id))?.state, 'waiting-window', 'stored as made');
  assert.deepEqual(h.cluster.log(), [], 'nothing done by a hub that does not lead');
  // This hub becomes the leader (hub-cluster.ts starts the engine on gaining the role).
  leading = true;
  await h.engine.start();
  const done = await h.settle(r.id);
  assert.equal(done.state, 'done', done.message);
  assert.deepEqual(await h.phases(a), K3S_PHASES);
  assert.deepEqual(h.cluster.log(/^assign/), [`assign a ${TO}`]);
  assert.equal((await h.list('upgrade.resumed')).length, 1);
});

test('the role lost mid-rollout and taken again: the rollout goes on from its stored step, each node upgraded once', async (t) => {
  const h = await upgradeHarness(t);
  await h.node('a');
  await h.node('b');
  await h.engine.start();
  const r = await h.engine.begin({ version: TO, window: 'now', controlPlane: false }, 'admin');
  await h.until(r.id, (x) => x.nodes[0].phase === 'done');
  await h.engine.stop(); // lost the lease: stops at its next wait
  const stopped = await h.engine.get(r.id);
  assert.notEqual(stopped?.state, 'done');
  await h.engine.start(); // leads again (or another hub's engine on the same store)
  const done = await h.settle(r.id);
  assert.equal(done.state, 'done', done.message);
  // Node a (done before the stop) is not touched again; b is cordoned and drained once, and its
  // assignment (the same version, a no-op for its agent) may be repeated where it stopped.
  const log = h.cluster.log();
  assert.equal(log.filter((x) => x === `assign a ${TO}`).length, 1, log.join(', '));
  for (const step of ['cordon a', 'drain a', 'cordon b', 'drain b', 'uncordon b'])
    assert.equal(log.filter((x) => x === step).length, 1, `${step} once: ${log.join(', ')}`);
});

test('a cancel through a hub that does not lead: stored, and the rollout on the leader stops before its next node', async (t) => {
  const h = await upgradeHarness(t, { pollMs: 5_000 });
  await h.node('a');
  await h.engine.policy.set({ window: { day: 'any', startHour: 23, durationHours: 1, timeZone: 'UTC' } });
  await h.engine.start();
  const r = await h.engine.begin({ version: TO }, 'admin');
  await h.until(r.id, (x) => x.message.startsWith('outside the maintenance window'));
  await follower(h).cancel(r.id, 'operator');
  const done = await h.settle(r.id);
  assert.equal(done.state, 'cancelled', done.message);
  assert.equal(done.message, 'cancelled with 1 node(s) not upgraded');
  assert.deepEqual(h.cluster.log(), [], 'nothing done');
  assert.equal((await h.list('upgrade.cancel'))[0]?.actor, 'operator');
});

test('resume of a halted rollout through a hub that does not lead: stored, not run there; the leader runs it', async (t) => {
  const h = await upgradeHarness(t);
  await h.node('a');
  const b = await h.node('b');
  h.cluster.broken.add('b');
  await h.engine.start();
  const r = await h.engine.begin({ version: TO, window: 'now', controlPlane: false }, 'admin');
  assert.equal((await h.settle(r.id)).state, 'halted');
  h.cluster.broken.delete('b');
  const f = follower(h);
  const retried = await f.actOnHalted(r.id, 'retry', 'operator');
  assert.equal(retried.state === 'halted', false, 'taken out of halted');
  const done = await h.settle(r.id);
  assert.equal(done.state, 'done', done.message);
  assert.equal(done.nodes.find((n) => n.id === b)?.phase, 'done');
  const resumed = await h.list('upgrade.resumed');
  assert.equal(resumed.filter((e) => / resumes on this hub /.test(e.message)).length, 1, 'the leader adopted it once');
  assert.equal(h.cluster.log().filter((x) => x === 'cordon a').length, 1, 'a (done before) not upgraded again');
});

test("a leader that died right at a node's swap: the next one sends the same assignment again, without a second swap", async (t) => {
  let leading = false;
  const h = await upgradeHarness(t, { leads: () => leading });
  h.engine['d'].unfenced = h.store;
  const a = await h.node('a');
  const made = await h.engine.begin({ version: TO, window: 'now', controlPlane: false }, 'admin');
  // As the dead leader left it: running, node a cordoned, drained and at its stored swap.
  const stored = (await h.store.getRollout<Rollout>(made.id))!;
  stored.state = 'running';
  Object.assign(stored.nodes[0], { phase: 'swap', cordoned: true, swapped: true, startedAt: new Date().toISOString() });
  await h.store.saveRollout(stored);
  leading = true;
  await h.engine.start();
  const done = await h.settle(made.id);
  assert.equal(done.state, 'done', done.message);
  assert.deepEqual(await h.phases(a), ['verify', 'uncordon', 'done'], 'no second swap, cordon or drain');
  assert.deepEqual(h.cluster.log(/^(assign|cordon|drain)/), [`assign a ${TO}`], 'the assignment, once from this hub');
  const resumed = (await h.list('upgrade.step', a)).filter((e) => e.data.resumed === 'swap');
  assert.equal(resumed.length, 1, 'the repeat is in the audit trail');
});
