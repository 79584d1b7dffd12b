// The lifespan decision (hub/lifespan/decide.ts): which over-age node is replaced now, and when
// none is: outside the window, budget used, backing off, a rollout on the pool, nodes being
// upgraded or remediated; without a hook, a notice per node, once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, decideLifespan, type LifespanMember, type LifespanView } from '../../../hub/lifespan/decide.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-30T12:00:00Z');

const member = (id: string, ageDays: number, over: Partial<LifespanMember> = {}): LifespanMember => ({
  id,
  name: `n-${id}`,
  state: 'ready',
  connected: true,
  joinedAt: NOW - ageDays * DAY,
  ...over,
});

const view = (over: Partial<LifespanView> = {}): LifespanView => ({
  maxNodeAgeMs: 30 * DAY,
  hasHook: true,
  windowOpen: true,
  frozen: false,
  rolloutActive: false,
  budget: 1,
  inFlight: 0,
  backoffUntil: 0,
  now: NOW,
  members: [member('young', 3), member('old', 40), member('older', 45)],
  busy: new Set(),
  noticed: [],
  ...over,
});

test('the oldest Ready node over maxNodeAge is replaced; young nodes never are', () => {
  const d = decideLifespan(view());
  assert.equal(d.replace?.id, 'older');
  assert.deepEqual(
    d.overAge.map((m) => m.id),
    ['older', 'old'],
  );
  const none = decideLifespan(view({ members: [member('young', 3), member('edge', 29.9)] }));
  assert.equal(none.replace, null);
  assert.match(none.why, /no node is over its age/);
});

test('nothing is replaced outside the maintenance window, while the partition guard holds, during a rollout, over the budget or while backing off', () => {
  assert.match(decideLifespan(view({ windowOpen: false })).why, /outside the maintenance window/);
  assert.match(decideLifespan(view({ rolloutActive: true })).why, /rollout is in progress/);
  assert.match(decideLifespan(view({ frozen: true })).why, /partition guard holds/);
  const full = decideLifespan(view({ inFlight: 1, busy: new Set(['older']) }));
  assert.equal(full.replace, null);
  assert.match(full.why, /1 replacement\(s\) in flight \(budget 1\)/);
  // A larger budget lets the next one go while one is in flight (and never the busy one again).
  assert.equal(decideLifespan(view({ budget: 2, inFlight: 1, busy: new Set(['older']) })).replace?.id, 'old');
  const backing = decideLifespan(view({ backoffUntil: NOW + 60_000 }));
  assert.equal(backing.replace, null);
  assert.match(backing.why, /backing off after a failure until 2026-11-30T12:01:00/);
  assert.equal(decideLifespan(view({ backoffUntil: NOW - 1 })).replace?.id, 'older');
});

test('nodes being upgraded, remediated, needing attention or not connected are left alone', () => {
  const members = [
    member('up', 50, { state: 'upgrading' }),
    member('heal', 49, { state: 'remediating' }),
    member('att', 48, { state: 'needs-attention' }),
    member('sick', 47, { state: 'degraded' }),
    member('gone', 46, { connected: false }),
  ];
  const d = decideLifespan(view({ members }));
  assert.equal(d.replace, null);
  assert.match(d.why, /no over-age node is Ready/);
  assert.equal(decideLifespan(view({ members: [...members, member('ok', 31)] })).replace?.id, 'ok');
});

test('without a hook: a notice for each over-age node not noticed yet, and no replacement', () => {
  const first = decideLifespan(view({ hasHook: false }));
  assert.equal(first.replace, null);
  assert.deepEqual(
    first.notices.map((m) => m.id),
    ['older', 'old'],
  );
  const again = decideLifespan(view({ hasHook: false, noticed: ['older', 'old'] }));
  assert.deepEqual(again.notices, [], 'once per node, not every tick');
  const one = decideLifespan(view({ hasHook: false, noticed: ['older'] }));
  assert.deepEqual(
    one.notices.map((m) => m.id),
    ['old'],
  );
});

test('the backoff doubles from its base up to its cap', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 10, 100].map((f) => backoffMs(f, 1000, 10_000)),
    [1000, 2000, 4000, 8000, 10_000, 10_000],
  );
});
