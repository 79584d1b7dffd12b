// What an operator (and Prometheus) sees when autoscale fails: the hub's alert autoscale-failed:<pool>
// and the series atoll_autoscale_hook_failures_total{pool,action}, atoll_autoscale_failures{pool} and
// atoll_autoscale_unplaced_pods{reason}; a failed create clears with the next Ready node, a failed
// delete with the next delete that works.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { autoscaleSource } from '../../../hub/autoscale/alert-source.js';
import type { AutoscaleEngine } from '../../../hub/autoscale/engine.js';
import { registerAutoscaleMetrics } from '../../../hub/autoscale/metrics.js';
import { readState } from '../../../hub/autoscale/state.js';
import { enrollInput, token } from '../store/helpers.js';
import { addNode, kubeNode, rig, unschedulablePod, type Rig } from './rig.js';

async function scrape(e: AutoscaleEngine): Promise<string> {
  const registry = new Registry();
  registerAutoscaleMetrics(registry, () => e);
  return registry.metrics();
}

const alerts = async (r: Rig): Promise<Array<{ id: string; severity: string; message: string }>> =>
  (await autoscaleSource(r.store).collect(r.now.ms)).map((a) => ({
    id: a.id,
    severity: a.severity,
    message: a.message,
  }));

test('a failing create: an alert and the failure series; a Ready node clears the alert', async (t) => {
  const r = await rig(t, false);
  r.pods.push(unschedulablePod('a', '1500m'));
  const e = r.engine();
  await e.tick();
  const [alert, ...more] = await alerts(r);
  assert.equal(more.length, 0);
  assert.equal(alert.id, 'autoscale-failed:batch');
  assert.equal(alert.severity, 'warning');
  assert.match(
    alert.message,
    /^autoscale of pool batch: 1 failure\(s\) in a row, the last: the hook's create failed: quota exceeded; next try after 2030-01-01T00:00:30\.000Z$/,
  );
  await e.tick(); // in backoff: the gauge reads the stored failures
  const text = await scrape(e);
  assert.match(text, /^atoll_autoscale_hook_failures_total\{pool="batch",action="create"\} 1$/m);
  assert.match(text, /^atoll_autoscale_hook_failures_total\{pool="batch",action="delete"\} 0$/m);
  assert.match(text, /^atoll_autoscale_failures\{pool="batch"\} 1$/m);

  // The cloud has room again: the next create works and its node turns Ready.
  rmSync(join(r.dir, 'create-fails'));
  r.now.ms += 31_000;
  await e.tick();
  const [m] = (await readState(r.store, 'batch')).inFlight;
  assert.equal(m.machineId, 'vm-2');
  assert.equal((await alerts(r)).length, 1, 'a machine asked for is not yet a success');
  await r.store.createToken(token(m.tokenId, { pool: 'batch' }));
  const input = enrollInput(m.tokenId, 'id-n2');
  input.node.pool = 'batch';
  input.node.name = 'n2';
  assert.equal(await r.store.enroll(input), 'ok');
  r.kubeNodes.push(kubeNode('n2', '2'));
  await e.tick();
  assert.deepEqual(await alerts(r), []);
  await e.tick();
  assert.match(await scrape(e), /^atoll_autoscale_failures\{pool="batch"\} 0$/m);
});

test('a failing delete: counted and alerted; it stays until a delete works again, then clears', async (t) => {
  const r = await rig(t);
  await addNode(r, 'id-n2', 'n2');
  writeFileSync(join(r.dir, 'delete-fails'), '');
  const e = r.engine();
  await e.tick();
  r.now.ms += 11 * 60_000; // both nodes idle past scaleDownUnneeded: one goes
  await e.tick();
  assert.deepEqual(r.calls.slice(0, 2), ['drain n1', 'unschedulable n1 false'], 'uncordoned after the failed delete');
  const [alert] = await alerts(r);
  assert.equal(alert.id, 'autoscale-failed:batch');
  assert.match(alert.message, /the last: the hook's delete of n1 failed: machine is locked/);
  assert.match(await scrape(e), /^atoll_autoscale_hook_failures_total\{pool="batch",action="delete"\} 1$/m);

  rmSync(join(r.dir, 'delete-fails'));
  await e.tick();
  assert.ok(r.calls.includes('remove id-n1'), r.calls.join(', '));
  const s = await readState(r.store, 'batch');
  assert.equal(s.failures, 0);
  assert.equal(s.lastFailure, null);
  assert.deepEqual(await alerts(r), [], 'the hook deletes again: no alert');
});

test('pods no pool will host are counted by reason, and the count goes when they do', async (t) => {
  const r = await rig(t);
  for (let i = 0; i < 7; i++) r.pods.push(unschedulablePod(`p${i}`, '100m', { disk: 'nvme' }));
  const e = r.engine();
  await e.tick();
  assert.match(await scrape(e), /^atoll_autoscale_unplaced_pods\{reason="no-pool-fits"\} 7$/m);
  r.pods.length = 0;
  await e.tick();
  assert.doesNotMatch(await scrape(e), /^atoll_autoscale_unplaced_pods\{/m);
});

test('a hub that stops leading stops exporting the pool series, so Prometheus sees no stale sizes', async (t) => {
  const r = await rig(t);
  r.pods.push(unschedulablePod('a', '1500m'), unschedulablePod('z', '1', { disk: 'nvme' }));
  const e = r.engine();
  await e.tick();
  const led = await scrape(e);
  assert.match(led, /^atoll_autoscale_pool_target_size\{pool="batch"\} 2$/m);
  assert.match(led, /^atoll_autoscale_unplaced_pods\{reason="no-pool-fits"\} 1$/m);
  r.leading.value = false;
  e.start(); // every intervalMs (1 s here)
  t.after(() => e.stop());
  const deadline = Date.now() + 5000;
  while (/^atoll_autoscale_pool_size\{/m.test(await scrape(e)) && Date.now() < deadline)
    await new Promise((res) => setTimeout(res, 100));
  const after = await scrape(e);
  assert.doesNotMatch(after, /^atoll_autoscale_pool_(size|target_size)\{/m);
  assert.doesNotMatch(after, /^atoll_autoscale_unplaced_pods\{/m);
});
