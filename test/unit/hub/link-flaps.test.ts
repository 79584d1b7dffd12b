// Link flap counting (hub/nodes/link-flaps.ts) on an injected clock: reconnects per node in
// one-minute buckets, summed over a window of up to an hour, in fixed memory.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlapCounter, LinkFlaps } from '../../../hub/nodes/link-flaps.js';

const MIN = 60_000;

test('FlapCounter: counts within the window, to the minute; old minutes drop out', () => {
  const c = new FlapCounter();
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < 1000; i++) c.record(t0 + i); // a storm within one second
  assert.equal(c.count(t0 + 1000), 1000);
  c.record(t0 + 10 * MIN);
  c.record(t0 + 30 * MIN);
  assert.equal(c.count(t0 + 30 * MIN), 1002, 'all in the last hour');
  assert.equal(c.count(t0 + 30 * MIN, 15 * MIN), 1, 'only the last one in the last 15 minutes');
  assert.equal(c.count(t0 + 61 * MIN), 2, 'the storm is more than an hour old');
  assert.equal(c.count(t0 + 95 * MIN), 0);
  assert.equal(c.count(t0 + 500 * MIN), 0, 'a long gap clears everything');
  c.record(t0 + 500 * MIN);
  assert.equal(c.count(t0 + 500 * MIN), 1);
});

test('LinkFlaps: the first connect of a node is not a flap; reconnects are, per node', () => {
  const clock = { now: 1_700_000_000_000 };
  const f = new LinkFlaps(() => clock.now);
  f.connected('a', false);
  for (let i = 0; i < 5; i++) f.connected('a', true);
  f.connected('b', false);
  f.connected('b', true);
  assert.equal(f.count('a'), 5);
  assert.equal(f.count('b'), 1);
  assert.equal(f.count('c'), 0);
  assert.equal(f.allTime(), 6);
  assert.deepEqual(f.lastHour(), [
    { nodeId: 'a', flaps1h: 5 },
    { nodeId: 'b', flaps1h: 1 },
  ]);
  clock.now += 61 * MIN;
  assert.deepEqual(f.lastHour(), [], 'an hour later nothing is flapping');
  assert.equal(f.allTime(), 6, 'the total only grows');
  f.forget('a');
  assert.equal(f.count('a'), 0);
});
