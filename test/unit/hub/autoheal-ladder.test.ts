// The remediation ladder and pool pacing on a fake clock: each step exactly when it is due, repairs
// one at a time per pool until proven, wider after each proven repair, back to one after a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness } from './autoheal-harness.js';

test('the ladder: restart k3s when afterRestart is reached, drain and reboot at afterReboot, hand over at afterReplace', async (t) => {
  const h = await harness(t);
  const ids = await Promise.all(['a', 'b', 'c'].map((n) => h.join(n)));
  for (const id of ids) await h.connect(id);
  await h.run(6_000);
  await h.report(ids[0], 'crashed');
  const link = h.links.get(ids[0])!;
  await h.run(9_000);
  assert.deepEqual(link.commands, [], 'not before afterRestart (10 s)');
  await h.run(2_000);
  assert.deepEqual(link.commands, ['restart-k3s']);
  await h.run(8_000);
  assert.deepEqual(link.commands, ['restart-k3s'], 'not before afterReboot (20 s)');
  await h.run(2_000);
  assert.deepEqual(link.commands, ['restart-k3s', 'reboot']);
  assert.deepEqual(h.kube.calls, ['drain a'], 'drained before the reboot');
  await h.run(10_000);
  assert.equal(h.registry.snapshotOf(ids[0])?.state, 'needs-attention');
  assert.deepEqual(h.kube.calls, ['drain a', 'cordon a']);
  const rec = await h.engine.record(ids[0]);
  assert.equal(rec?.attempts, 2);
  assert.match(rec!.lastDecision, /no provider hook: cordoned/);
  assert.equal((await h.list('autoheal.failed', ids[0])).length, 1);
});

test('a flapping node is capped at reboot: handed over instead of replaced', async (t) => {
  const h = await harness(t, { pool: { hook: '/bin/false' } });
  const ids = await Promise.all(['a', 'b', 'c'].map((n) => h.join(n)));
  for (const id of ids) await h.connect(id);
  await h.run(6_000);
  // Three changes of health within the flap window: flapping.
  for (let i = 0; i < 2; i++) {
    await h.report(ids[0], 'crashed');
    await h.run(2_000);
    await h.report(ids[0], 'running');
    await h.run(2_000);
  }
  await h.report(ids[0], 'crashed');
  await h.run(2_000);
  assert.equal((await h.list('autoheal.flapping', ids[0])).length, 1);
  await h.run(40_000);
  assert.deepEqual(await h.steps(ids[0]), ['restart-k3s', 'reboot'], 'never replaced');
  assert.equal(h.registry.snapshotOf(ids[0])?.state, 'needs-attention');
  assert.ok(
    (await h.list('autoheal.decision', ids[0])).some((e) =>
      /needs attention: the node is flapping: capped at reboot/.test(e.message),
    ),
  );
});

test('pacing: one repair at a time per pool, twice as many after each proven repair, back to one after a failure', async (t) => {
  const h = await harness(t);
  const ids = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => h.join(n)));
  for (const id of ids) await h.connect(id);
  await h.run(6_000);
  const [a, b, c, d, e] = ids;
  await h.report(a, 'crashed');
  await h.run(1_000);
  await h.report(b, 'crashed');
  await h.run(11_000);
  assert.deepEqual(await h.steps(a), ['restart-k3s']);
  assert.deepEqual(await h.steps(b), [], 'b waits for a');
  assert.ok(
    (await h.list('autoheal.decision', b)).some((ev) =>
      /waiting: 1 repair\(s\) already running in pool default \(width 1\)/.test(ev.message),
    ),
  );
  await h.report(a, 'running');
  await h.run(1_000);
  await h.run(1_000);
  assert.deepEqual(await h.steps(b), ['restart-k3s'], 'b once a recovered');
  await h.report(b, 'running');
  await h.run(12_000); // provenAfter (10 s) for both
  assert.equal((await h.list('autoheal.proven')).length, 2);
  assert.deepEqual(await h.store.getAutohealPacing('default'), { width: 4, cooldownUntil: 0 });
  // Now several repairs at once.
  await h.report(c, 'crashed');
  await h.report(d, 'crashed');
  await h.run(11_000);
  assert.deepEqual([await h.steps(c), await h.steps(d)], [['restart-k3s'], ['restart-k3s']]);
  // A failure (c is handed over) narrows the pool to one repair again, after a cooldown.
  await h.report(d, 'running');
  await h.run(20_000);
  assert.equal(h.registry.snapshotOf(c)?.state, 'needs-attention');
  const pacing = await h.store.getAutohealPacing('default');
  assert.equal(pacing?.width, 1);
  assert.deepEqual(await h.steps(e), []);
});
