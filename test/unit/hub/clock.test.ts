// Time on a fake clock whose wall time steps: liveness, ladder ages and pacing follow the monotonic
// clock; a step of the hub's own clock is detected and held; agents' skew is judged against the
// fleet when the hub is the odd one out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClockWatch } from '../../../hub/clock-watch.js';
import { Stamps } from '../../../hub/clock.js';
import { FleetSkew } from '../../../hub/nodes/fleet-skew.js';
import { createHealthSampler } from '../../../hub/nodes/health-sampler.js';
import { FakeClock, harness } from './autoheal-harness.js';

const H2 = 2 * 3_600_000;

test('a step of the wall clock is detected; during the hold the hub keeps its time, then follows the wall clock', () => {
  const c = new FakeClock();
  const steps: number[] = [];
  const settled: number[] = [];
  const w = new ClockWatch({
    clock: c,
    settleMs: 60_000,
    onStep: (s) => steps.push(s.offsetMs),
    onSettled: (o) => settled.push(o),
  });
  const t0 = c.now();
  c.advance(1_000);
  assert.equal(w.now(), t0 + 1_000);
  assert.equal(w.holding(), undefined);
  c.advance(500);
  c.step(H2);
  assert.equal(w.now(), t0 + 1_500, 'steady through the step');
  assert.equal(w.holding()?.offsetMs, H2);
  c.advance(10_000);
  c.step(-H2); // and back: the hold goes on (net 0) from the second step
  assert.equal(w.now(), t0 + 11_500);
  assert.equal(w.holding()?.offsetMs, 0);
  assert.deepEqual(steps, [H2, -H2]);
  c.advance(59_000);
  assert.ok(w.holding());
  c.advance(1_000);
  assert.equal(w.holding(), undefined);
  assert.deepEqual(settled, [0]);
  assert.equal(w.now(), c.now());

  // A step that stays: after the settle period the hub follows it and says by how much.
  c.step(H2);
  c.advance(1_000);
  assert.equal(w.now(), c.now() - H2);
  c.advance(60_000);
  w.check();
  assert.equal(w.now(), c.now());
  assert.deepEqual(settled, [0, H2]);
});

test('slow drift (NTP slewing) is not a step', () => {
  const c = new FakeClock();
  const w = new ClockWatch({ clock: c, settleMs: 60_000 });
  for (let i = 0; i < 3600; i++) {
    c.advance(1_000);
    c.step(1); // 1 ms per second
    w.check();
  }
  assert.equal(w.holding(), undefined);
  assert.equal(w.now(), c.now());
});

test('stamps: elapsed time is monotonic for stamps this process took, wall-based (never negative) for older ones', () => {
  const c = new FakeClock();
  const s = new Stamps(c);
  const iso = s.take('n1');
  c.advance(5_000);
  c.step(H2);
  assert.equal(s.since('n1', iso), 5_000);
  c.step(-2 * H2);
  assert.equal(s.since('n1', iso), 5_000);
  const old = new Date(c.now() - 60_000).toISOString();
  assert.equal(s.since('n1', old), 60_000);
  c.advance(1_000);
  assert.equal(s.since('n1', old), 61_000);
  assert.equal(s.since('n1', new Date(c.now() + H2).toISOString()), 0, 'a stamp from the future is not negative');
  s.keep('n1', [iso]);
  c.step(H2);
  assert.equal(s.since('n1', old), 61_000 + H2, 'forgotten stamps fall back to wall time');
});

test("fleet skew: when most agents disagree with the hub, the skew is the hub's and the nodes are judged against the fleet", () => {
  const c = new FakeClock();
  const f = new FleetSkew(c, 0);
  f.observe('a', 5);
  f.observe('b', -20);
  f.observe('c', 600_000);
  assert.equal(f.problem(600_000), true, 'one agent 10 min ahead: that agent is off');
  assert.equal(f.problem(-20), false);
  assert.equal(f.status().hubSkewMs, null);
  for (const id of ['a', 'b', 'c']) f.observe(id, -H2 + (id === 'c' ? 600_000 : 0));
  f.observe('d', -H2);
  assert.equal(f.status().hubSkewMs, H2, "the hub is the odd one: it is 2 h ahead of the fleet's median");
  assert.equal(f.problem(-H2), false, 'agents that agree with the fleet are fine');
  assert.equal(f.problem(-H2 + 600_000), true, 'the one 10 min off the fleet still is not');
  f.shift(-H2);
  assert.equal(f.status().hubSkewMs, null, "the hub's reference moved back");
});

test('the health sampler is paced on the monotonic clock: a wall step back neither stops nor floods samples', () => {
  const s = createHealthSampler({ intervalMs: 30_000, retentionMs: 3_600_000 });
  const u = [
    {
      nodeId: 'a',
      lastSeen: '',
      health: { cpuPercent: 1, memoryTotalBytes: 1, memoryUsedBytes: 0, diskTotalBytes: 1, diskUsedBytes: 0 },
    },
  ] as never;
  let wall = Date.parse('2030-01-01T02:00:00Z');
  let mono = 0;
  assert.equal(s.take(u, wall, mono).samples.length, 1);
  wall -= H2;
  mono += 31_000;
  assert.equal(s.take(u, wall, mono).samples.length, 1, 'after the wall clock went back 2 h');
  wall += 5 * H2;
  mono += 1_000;
  assert.equal(s.take(u, wall, mono).samples.length, 0, 'a jump ahead does not sample early');
});

test('a wall step neither marks live nodes unreachable nor runs a dead node through the ladder', async (t) => {
  const h = await harness(t);
  const ids = await Promise.all(['a', 'b', 'c'].map((n) => h.join(n)));
  for (const id of ids) await h.connect(id);
  await h.run(6_000);
  await h.disconnect(ids[0]);
  await h.run(4_000); // unreachable after 3 s
  assert.equal(h.registry.snapshotOf(ids[0])?.state, 'unreachable');
  h.clock.step(H2);
  await h.run(2_000);
  assert.deepEqual(
    ids.slice(1).map((id) => h.registry.snapshotOf(id)?.state),
    ['ready', 'ready'],
    'live nodes stay ready',
  );
  assert.deepEqual(await h.steps(ids[0]), [], 'ages are monotonic: 6 s unhealthy, not 2 h');
  await h.run(7_000);
  assert.deepEqual(
    await h.steps(ids[0]),
    ['restart-k3s'],
    'the first step when it is due, 10 s after the node was lost',
  );
  h.clock.step(-H2);
  await h.run(5_000);
  assert.deepEqual(await h.steps(ids[0]), ['restart-k3s'], 'nor does a step back skip or repeat one');
  await h.run(5_000);
  assert.deepEqual(await h.steps(ids[0]), ['restart-k3s', 'reboot']);
});

test("autoheal holds while a step of the hub's own clock settles", async (t) => {
  const c = new FakeClock();
  const watch = new ClockWatch({ clock: c, settleMs: 30_000 });
  const h = await harness(t, { clock: c, deps: { clock: watch, clockHold: () => watch.holding() } });
  const ids = await Promise.all(['a', 'b', 'c'].map((n) => h.join(n)));
  for (const id of ids) await h.connect(id);
  await h.run(6_000);
  await h.disconnect(ids[0]);
  c.step(H2);
  await h.run(25_000);
  assert.match(h.engine.guardState().reason, /the hub's own clock stepped \(\+2h 0m 0s net/);
  assert.deepEqual(await h.steps(ids[0]), [], 'held');
  const decisions = (await h.list('autoheal.decision', ids[0])).map((e) => e.message);
  assert.ok(
    decisions.some((m) => /frozen \(the hub's own clock stepped/.test(m)),
    decisions.join('\n'),
  );
  await h.run(20_000); // hold over, then the guard's settle period (5 s)
  assert.equal(h.engine.guardState().frozen, false);
  await h.run(3_000); // 13 s after the freeze ended: past afterRestart (10 s), not afterReboot (20 s)
  assert.deepEqual(await h.steps(ids[0]), ['restart-k3s'], 'ages restarted when the hold ended');
});
