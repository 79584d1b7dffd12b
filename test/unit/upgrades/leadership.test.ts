// The upgrade engine under leadership (hub/cluster/): a hub that does not lead the upgrades only stores
// a rollout made through it; the leader adopts it and runs it. A leader that loses the role stops at
// its next wait, and the hub that takes over goes on from the stored step: no node is upgraded twice.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TO, upgradeHarness } from './engine-harness.js';

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
