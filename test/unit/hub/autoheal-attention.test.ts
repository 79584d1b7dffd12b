// needs-attention is released: by the node recovering (also across a hub restart) or by an operator;
// it does not block the rest of its pool, and what autoheal cordoned it uncordons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, type Harness } from './autoheal-harness.js';

async function givenUp(h: Harness, id: string): Promise<void> {
  for (let i = 0; i < 60 && h.registry.snapshotOf(id)?.state !== 'needs-attention'; i++) await h.run(1_000);
  assert.equal(
    h.registry.snapshotOf(id)?.state,
    'needs-attention',
    JSON.stringify((await h.list('autoheal.decision', id)).map((e) => e.message)),
  );
}

test('a node that recovers by itself leaves needs-attention after the proving period, also after a hub restart, and is uncordoned', async (t) => {
  const h = await harness(t);
  const ids = await Promise.all(['a', 'b', 'c'].map((n) => h.join(n)));
  for (const id of ids) await h.connect(id);
  await h.run(6_000);
  // The agent is lost: restart and reboot are skipped (no agent, no hook), then it is cordoned and handed over.
  await h.disconnect(ids[0]);
  await givenUp(h, ids[0]);
  assert.deepEqual(h.kube.calls, ['cordon a']);
  assert.equal((await h.engine.record(ids[0]))?.cordonedByUs, true, "the give-up cordon is autoheal's");

  await h.restart();
  for (const id of ids) await h.connect(id);
  await h.run(6_000); // startup grace of the new engine
  assert.equal(h.registry.snapshotOf(ids[0])?.state, 'needs-attention', 'not released at the first good report');
  await h.run(10_000); // provenAfter
  assert.equal(h.registry.snapshotOf(ids[0])?.state, 'ready');
  assert.deepEqual(h.kube.calls, ['cordon a', 'uncordon a']);
  const released = await h.list('autoheal.released', ids[0]);
  assert.equal(released.length, 1);
  assert.match(released[0].message, /healthy again for 10s/);
});

test('an operator clears needs-attention: the state follows the reports and a fresh ladder starts; remediate does the same and acts now', async (t) => {
  const h = await harness(t);
  const ids = await Promise.all(['a', 'b', 'c'].map((n) => h.join(n)));
  for (const id of ids) await h.connect(id);
  await h.run(6_000);
  await h.report(ids[0], 'crashed');
  await givenUp(h, ids[0]);
  const before = await h.engine.record(ids[0]);
  assert.equal(before?.step, 3);

  const r = await h.engine.clearAttention(ids[0], 'admin');
  assert.equal(r.cleared, true, r.message);
  assert.equal(h.registry.snapshotOf(ids[0])?.state, 'degraded', 'the state follows its reports (k3s still crashed)');
  const rec = await h.engine.record(ids[0]);
  assert.equal(rec?.step, 0);
  assert.equal(rec?.ladders, 0);
  assert.deepEqual(h.kube.calls.slice(-1), ['uncordon a']);
  assert.equal((await h.engine.clearAttention(ids[0], 'admin')).cleared, false, 'nothing to clear twice');

  // The fresh ladder starts over with a k3s restart.
  const commands = h.links.get(ids[0])!.commands;
  const sent = commands.length;
  await h.run(12_000);
  assert.equal(commands[sent], 'restart-k3s');

  // Again handed over; remediate takes it back and acts at once.
  await givenUp(h, ids[0]);
  await h.run(6_000); // the pool's cooldown after the give-up: remediate goes through the same guards
  const n = commands.length;
  const decision = await h.engine.remediateNow(ids[0], 'admin');
  assert.match(decision, /step 1: restart-k3s/);
  assert.equal(commands[n], 'restart-k3s');
  assert.notEqual(h.registry.snapshotOf(ids[0])?.state, 'needs-attention');
});

test('a node that needs attention does not hold up the repair of the rest of its pool', async (t) => {
  const h = await harness(t);
  const ids = await Promise.all(['a', 'b', 'c', 'd'].map((n) => h.join(n)));
  for (const id of ids) await h.connect(id);
  await h.run(6_000);
  await h.report(ids[0], 'crashed');
  await givenUp(h, ids[0]);
  await h.report(ids[1], 'crashed');
  await h.run(20_000); // past the cooldown after the give-up and afterRestart
  assert.deepEqual(
    await h.steps(ids[1]),
    ['restart-k3s'],
    JSON.stringify((await h.list('autoheal.decision', ids[1])).map((e) => e.message)),
  );
});
