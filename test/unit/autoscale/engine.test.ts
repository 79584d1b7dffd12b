// The autoscale engine on a real SQLite store and event log, with a real provider hook (a shell
// script that counts its calls) and a fake Kubernetes API (the objects it lists): the faults of issue
// 19 — a restarted hub does not create machines again for the same need, a flood of pods no pool
// could host gives no scale-up and one event per reason, a failing create backs off and the target
// never passes maxSize.
import { EXTERNAL_DRIVE_KEY, EXTERNAL_DRIVE_TTL_MS } from '../../../hub/autoscale/grpc/external-drive.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AutohealSettings } from '../../../hub/autoheal/settings.js';
import { readState } from '../../../hub/autoscale/state.js';
import { DEFAULT_POOL_AUTOSCALE } from '../../../hub/store/pool-sizes.js';
import { pool } from '../store/helpers.js';
import { addNode, boundPod, eventsOf, rig, unschedulablePod } from './rig.js';

test('scale-up bin-packs within maxSize; a restarted engine does not create again for the same need', async (t) => {
  const r = await rig(t);
  // Three pods of 1.5 cpu on 2-cpu nodes: one node each; the pool (1 node, maxSize 3) has room for 2.
  r.pods.push(unschedulablePod('a', '1500m'), unschedulablePod('b', '1500m'), unschedulablePod('c', '1500m'));
  await r.engine().tick();
  assert.equal(r.creates(), 2);
  const state = await readState(r.store, 'batch');
  assert.equal(state.target, 3);
  assert.deepEqual(
    state.inFlight.map((m) => m.machineId),
    ['vm-1', 'vm-2'],
  );
  // The hub restarts (a new engine over the same store) while the machines boot: nothing more.
  const again = r.engine();
  await again.tick();
  await again.tick();
  assert.equal(r.creates(), 2);
  assert.equal((await readState(r.store, 'batch')).target, 3);
  const ups = await eventsOf(r.store, 'autoscale.scale-up');
  assert.equal(ups.length, 2);
  assert.match(ups[0].message, /machine vm-\d created \(\d unschedulable pod\(s\)\)/);
  const atMax = (await eventsOf(r.store, 'autoscale.skipped')).filter((e) => e.data.reason === 'max-size');
  assert.equal(atMax.length, 1, 'one event for the pod that finds no room, however many ticks');
});

test('a flood of pods no pool could host: no scale-up, one event that says why', async (t) => {
  const r = await rig(t);
  for (let i = 0; i < 50; i++) r.pods.push(unschedulablePod(`p${i}`, '100m', { disk: 'nvme' }));
  const e = r.engine();
  for (let i = 0; i < 3; i++) await e.tick();
  assert.equal(r.creates(), 0);
  const why = (await eventsOf(r.store, 'autoscale.skipped')).filter((x) => x.data.reason === 'no-pool-fits');
  assert.equal(why.length, 1);
  assert.match(
    why[0].message,
    /no scale-up for 50 unschedulable pod\(s\): no autoscaled pool has a node they would fit/,
  );
});

test('a failing create: an event, backoff, and the target never past maxSize', async (t) => {
  const r = await rig(t, false);
  r.pods.push(unschedulablePod('a', '1500m'));
  const e = r.engine();
  await e.tick();
  assert.equal(r.creates(), 1);
  const failed = await eventsOf(r.store, 'autoscale.failed');
  assert.equal(failed.length, 1);
  assert.match(failed[0].message, /the hook's create failed: quota exceeded; next try in 30 s/);
  await e.tick();
  assert.equal(r.creates(), 1, 'no try during the backoff');
  r.now.ms += 31_000;
  for (let i = 0; i < 5; i++) {
    await e.tick();
    r.now.ms += 10 * 60_000;
  }
  const s = await readState(r.store, 'batch');
  assert.ok(s.target !== null && s.target <= 3, `target ${s.target}`);
  assert.ok(s.failures >= 2);
});

test('scale-down: an idle node goes after the unneeded time (drained, hook delete, removed); never below minSize', async (t) => {
  const r = await rig(t);
  await addNode(r, 'id-n2', 'n2');
  // n1 is busy (1.5 of 2 cpu); n2 carries a small pod (that fits on n1) and a DaemonSet pod.
  r.pods.push(
    boundPod('busy', 'n1', '1500m'),
    boundPod('small', 'n2', '200m'),
    boundPod('ds', 'n2', '1900m', 'DaemonSet'),
  );
  const e = r.engine();
  await e.tick();
  assert.deepEqual(r.calls, [], 'unneeded since now: not yet');
  r.now.ms += 9 * 60_000;
  await e.tick();
  assert.deepEqual(r.calls, []);
  r.now.ms += 2 * 60_000; // past scaleDownUnneeded (10m)
  await e.tick();
  assert.deepEqual(r.calls, ['drain n2', 'remove id-n2']);
  const downs = await eventsOf(r.store, 'autoscale.scale-down');
  assert.deepEqual(
    downs.map((d) => d.message),
    [
      'pool batch: removing n2 (under 50% requested for 10m): cordon and drain',
      'pool batch: n2 removed (machine unknown)',
    ],
  );
  assert.match(readFileSync(join(r.dir, 'hook-calls'), 'utf8'), /^delete$/m);
  // One node left = minSize 1: n1 is busy anyway, but even idle it stays.
  r.pods.length = 0;
  r.kubeNodes.splice(1);
  await r.store.deleteNode('id-n2', new Date().toISOString());
  r.now.ms += 60 * 60_000;
  await e.tick();
  r.now.ms += 60 * 60_000;
  await e.tick();
  assert.deepEqual(r.calls, ['drain n2', 'remove id-n2']);
});

test('scale-down: a node with a pod without a controller stays, and says why once', async (t) => {
  const r = await rig(t);
  await addNode(r, 'id-n2', 'n2');
  r.pods.push(boundPod('bare', 'n2', '100m', null));
  const e = r.engine();
  for (let i = 0; i < 3; i++) {
    await e.tick();
    r.now.ms += 20 * 60_000;
  }
  assert.ok(!r.calls.some((c) => c.includes('n2')), r.calls.join(','));
  const why = (await eventsOf(r.store, 'autoscale.skipped')).filter(
    (x) => x.data.reason === 'blocked-pod-without-controller',
  );
  assert.ok(why.length >= 1);
  assert.match(why[0].message, /n2 stays: pod default\/bare has no controller/);
});

test('a pool without nodes scales up from zero with its declared template, and not without one', async (t) => {
  const r = await rig(t);
  const hook = (await new AutohealSettings(r.store).pool('batch')).hook;
  const on = { ...DEFAULT_POOL_AUTOSCALE, enabled: true };
  await r.store.createPool(pool('zero', { minSize: 0, maxSize: 2, autoscale: on }));
  await new AutohealSettings(r.store).setPool('zero', { hook });
  r.pods.push(unschedulablePod('z', '3', { tier: 'zero' }));
  const e = r.engine();
  await e.tick();
  assert.equal(r.creates(), 0, 'no node, no template: nothing to size a new node by');
  await r.store.updatePool(
    'zero',
    { autoscale: { ...on, template: { cpu: '4', memory: '8Gi' } } },
    new Date().toISOString(),
  );
  await e.tick();
  assert.equal(r.creates(), 1);
  assert.equal((await readState(r.store, 'zero')).target, 1);
});

test("autoheal's partition guard freezes autoscale: no machine while frozen, one event why", async (t) => {
  const r = await rig(t);
  r.pods.push(unschedulablePod('a', '1500m'));
  Object.assign(r.guard, { frozen: true, reason: '3 of 4 agents dropped within 2 min' });
  const e = r.engine();
  await e.tick();
  await e.tick();
  assert.equal(r.creates(), 0);
  const why = (await eventsOf(r.store, 'autoscale.skipped')).filter((x) => x.data.reason === 'partition-guard');
  assert.equal(why.length, 1);
  assert.match(why[0].message, /frozen by autoheal's partition guard \(3 of 4 agents dropped/);
  r.guard.frozen = false;
  await e.tick();
  assert.equal(r.creates(), 1);
});

test('a pool that cluster-autoscaler drives (externalgrpc) is left to it: no machine, one event why', async (t) => {
  const r = await rig(t);
  r.pods.push(unschedulablePod('a', '1500m'));
  const at = new Date(r.now.ms).toISOString();
  await r.store.setSetting(EXTERNAL_DRIVE_KEY, { batch: at });
  const e = r.engine();
  await e.tick();
  await e.tick();
  assert.equal(r.creates(), 0);
  const why = (await eventsOf(r.store, 'autoscale.skipped')).filter((x) => x.data.reason === 'external');
  assert.equal(why.length, 1);
  assert.match(why[0].message, /an external autoscaler drives it/);
  // cluster-autoscaler silent past the mark's lifetime: the pool is the built-in one's again.
  r.now.ms += EXTERNAL_DRIVE_TTL_MS + 1000;
  await e.tick();
  assert.equal(r.creates(), 1);
});
