// UpgradeEngine on a fake clock: the rollout phases, the dwell and verify limits, the rollback of a
// node and of the control plane, and the maintenance window, each in milliseconds of real time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FROM, TO, upgradeHarness } from './engine-harness.js';

const K3S_PHASES = ['preflight', 'cordon', 'drain', 'swap', 'verify', 'uncordon', 'done'];
const DWELL = 120_000;
const VERIFY = 600_000;

test('control plane first, then one node at a time through every phase; the dwell runs on the injected clock', async (t) => {
  const h = await upgradeHarness(t);
  const a = await h.node('a');
  const b = await h.node('b');
  const started = Date.now();
  const r = await h.engine.begin({ version: TO, window: 'now' }, 'admin');
  assert.equal(r.controlPlane?.phase, 'pending');
  const done = await h.settle(r.id);

  assert.equal(done.state, 'done', done.message);
  assert.equal(done.message, 'finished: 2 upgraded, 0 already there');
  assert.equal(done.controlPlane?.phase, 'done');
  assert.deepEqual(
    done.nodes.map((n) => [n.name, n.phase, n.cordoned]),
    [
      ['a', 'done', false],
      ['b', 'done', false],
    ],
  );
  assert.deepEqual(await h.phases(a), K3S_PHASES);
  assert.deepEqual(await h.phases(b), K3S_PHASES);
  // maxUnavailable 1: b is not touched before a is back; the control plane goes before both.
  assert.deepEqual(h.cluster.log(), [
    `cp swap ${TO}`,
    'cordon a',
    'drain a',
    `assign a ${TO}`,
    'uncordon a',
    'cordon b',
    'drain b',
    `assign b ${TO}`,
    'uncordon b',
  ]);
  // Each stayed Ready for the dwell on the engine's clock, and the control plane before them.
  assert.ok(h.cluster.at('cordon a') - h.cluster.at(`cp swap ${TO}`) >= DWELL);
  assert.ok(h.cluster.at('uncordon a') - h.cluster.at(`assign a ${TO}`) >= DWELL);
  assert.ok(h.cluster.at('uncordon b') - h.cluster.at(`assign b ${TO}`) >= DWELL);
  assert.ok(Date.now() - started < 15_000, 'fake time, not real minutes');
  // Released from the upgrading workflow state; stamps come from the injected wall clock.
  assert.equal(h.registry.snapshotOf(a)?.state, 'ready');
  assert.equal(h.registry.snapshotOf(b)?.state, 'ready');
  assert.ok(
    done.finishedAt && Date.parse(done.finishedAt) >= Date.parse('2030-01-01T00:00:00Z') + 3 * DWELL,
    done.finishedAt ?? 'no finishedAt',
  );
  assert.deepEqual(
    (await h.list('upgrade.done')).map((e) => e.data.rolloutId),
    [r.id],
  );
});

test('a node that never gets Ready on the new version is rolled back after verifyTimeout, uncordoned, and halts the rollout', async (t) => {
  const h = await upgradeHarness(t);
  const a = await h.node('a');
  const b = await h.node('b');
  const c = await h.node('c');
  h.cluster.broken.add('b');
  const r = await h.engine.begin({ version: TO, window: 'now', controlPlane: false }, 'admin');
  const halted = await h.settle(r.id);

  assert.equal(halted.state, 'halted');
  assert.match(
    halted.message,
    /^halted: b failed \(verify failed: the node is not Ready \(KubeletNotReady\); rolled back to v1\.31\.4\+k3s1 and uncordoned\); it was rolled back to v1\.31\.4\+k3s1$/,
  );
  assert.deepEqual(
    halted.nodes.map((n) => [n.name, n.phase]),
    [
      ['a', 'done'],
      ['b', 'upgrade-failed'],
      ['c', 'pending'],
    ],
  );
  assert.deepEqual(await h.phases(b), ['preflight', 'cordon', 'drain', 'swap', 'verify', 'rollback', 'upgrade-failed']);
  assert.deepEqual(await h.phases(c), []);
  assert.deepEqual(h.cluster.log(/ b| c/), ['cordon b', 'drain b', `assign b ${TO}`, `assign b ${FROM}`, 'uncordon b']);
  // Verify waited its whole limit on the fake clock before giving up.
  const verifyFor = h.cluster.at(`assign b ${FROM}`) - h.cluster.at(`assign b ${TO}`);
  assert.ok(verifyFor >= VERIFY && verifyFor < VERIFY + DWELL, `verify took ${verifyFor} ms`);
  assert.equal(h.cluster.kubelets.get('b')?.version, FROM);
  assert.equal(halted.nodes[1].cordoned, false);
  assert.equal(h.registry.snapshotOf(b)?.state, 'ready');
  assert.equal(h.registry.snapshotOf(a)?.state, 'ready');
  const failed = await h.list('upgrade.node-failed', b);
  assert.equal(failed.length, 1);
  assert.equal((await h.list('upgrade.halted')).length, 1);
  assert.ok(c);
});

test('a control plane that does not serve the new version is restored; the rollout halts before any node changes', async (t) => {
  const h = await upgradeHarness(t);
  const a = await h.node('a');
  h.cluster.newServerServes = false;
  const r = await h.engine.begin({ version: TO, window: 'now', verifyTimeout: '5m', dwell: '1m' }, 'admin');
  const halted = await h.settle(r.id);

  assert.equal(halted.state, 'halted');
  assert.equal(halted.controlPlane?.phase, 'upgrade-failed');
  assert.match(
    halted.controlPlane?.message ?? '',
    /^verify failed: k3s server starting: waiting for the API; restored k3s v1\.31\.4\+k3s1, which serves again$/,
  );
  assert.match(halted.message, /no node was changed$/);
  assert.deepEqual(h.cluster.log(), [`cp swap ${TO}`, `cp rollback ${FROM}`]);
  const waited = h.cluster.at(`cp rollback ${FROM}`) - h.cluster.at(`cp swap ${TO}`);
  assert.ok(waited >= 300_000 && waited < 360_000, `verify took ${waited} ms`);
  assert.equal(h.cluster.cpVersion, FROM);
  assert.deepEqual(
    halted.nodes.map((n) => n.phase),
    ['pending'],
  );
  assert.deepEqual(await h.phases(a), []);
  const cpEvents = (await h.list('upgrade.step'))
    .filter((e) => e.data.target === 'control-plane')
    .map((e) => e.data.phase);
  assert.deepEqual(cpEvents, ['swap', 'verify', 'rollback']);
  assert.equal((await h.list('upgrade.control-plane-failed')).length, 1);
});

test('window "next" waits (by the injected clock) until the maintenance window opens, then runs', async (t) => {
  const h = await upgradeHarness(t, { pollMs: 5_000 });
  const a = await h.node('a');
  // The fake clock starts 2030-01-01 00:00 UTC; the window opens at 01:00 for an hour.
  await h.engine.policy.set({ window: { day: 'any', startHour: 1, durationHours: 1, timeZone: 'UTC' } });
  const start = h.clock.mono();
  const r = await h.engine.begin({ version: TO, controlPlane: false }, 'admin');
  assert.equal(r.window, 'next');
  const waiting = await h.until(r.id, (x) => x.message.startsWith('outside the maintenance window'));
  assert.equal(waiting.state, 'waiting-window');
  const done = await h.settle(r.id);
  assert.equal(done.state, 'done', done.message);
  assert.deepEqual(await h.phases(a), K3S_PHASES);
  const opened = h.cluster.at('cordon a') - start;
  assert.ok(opened >= 3_600_000 && opened < 3_600_000 + 60_000, `started ${opened} ms after begin`);
  assert.equal((await h.list('upgrade.running')).length, 1);
});

test('cancel while waiting for the window: nothing changes', async (t) => {
  const h = await upgradeHarness(t, { pollMs: 5_000 });
  await h.node('a');
  await h.engine.policy.set({ window: { day: 'any', startHour: 5, durationHours: 1, timeZone: 'UTC' } });
  const r = await h.engine.begin({ version: TO }, 'admin');
  await h.until(r.id, (x) => x.message.startsWith('outside the maintenance window'));
  await h.engine.cancel(r.id, 'admin');
  const done = await h.settle(r.id);
  assert.equal(done.state, 'cancelled');
  assert.equal(done.message, 'cancelled with 1 node(s) not upgraded');
  assert.equal(done.controlPlane?.phase, 'pending');
  assert.deepEqual(h.cluster.log(), []);
});
