// The event log on a real SQLite store: repeats from one source fold into a bounded number of rows
// whose counts add up, cursors stay correct; retention prunes by count and age in small batches.
// Time is an injected clock.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { openSqliteStore, type EventRecord, type NewEvent, type Store } from '../../../hub/store/index.js';
import { createEventLog } from '../../../hub/events.js';
import { EventRetention } from '../../../hub/event-retention.js';
import { createLogger } from '../../../hub/logger.js';
import { tempDir } from '../store/helpers.js';

async function setup(t: TestContext, fold: { windowMs?: number; verbatim?: number; maxKeys?: number } = {}) {
  const store = await openSqliteStore({ path: join(tempDir(t), 'hub.db') });
  t.after(() => store.close());
  const clock = { now: 1_000_000 };
  const events = createEventLog(store, createLogger('silent'), { fold, now: () => clock.now });
  const seen: EventRecord[] = [];
  events.subscribe((e) => seen.push(e));
  return { store, events, clock, seen };
}

const connected = (nodeId: string, i: number): NewEvent => ({
  type: 'node.connected',
  nodeId,
  pool: 'default',
  actor: `node:${nodeId}`,
  message: `connect ${i}`,
  data: { i, replaced: i % 2 === 1 },
});
const countOf = (e: EventRecord): number => (e.data.repeated ? Number(e.data.count) : 1);

async function all(store: Store): Promise<EventRecord[]> {
  return store.listEvents({ limit: 1000 });
}

test('200 reconnects of one node within a window: 3 rows as they are and one that counts the rest', async (t) => {
  const { store, events, seen } = await setup(t);
  for (let i = 0; i < 200; i++) {
    await events.record(connected('n1', i));
    await events.record({
      type: 'node.disconnected',
      nodeId: 'n1',
      pool: 'default',
      actor: 'hub',
      message: `gone ${i}`,
    });
  }
  const rows = await all(store);
  assert.equal(rows.length, 8, JSON.stringify(rows.map((r) => r.message)));
  for (const type of ['node.connected', 'node.disconnected']) {
    const mine = rows.filter((r) => r.type === type);
    assert.deepEqual(
      mine.map((r) => Boolean(r.data.repeated)),
      [false, false, false, true],
    );
    assert.equal(
      mine.reduce((n, r) => n + countOf(r), 0),
      200,
      `${type}: the counts add up to every event`,
    );
  }
  const last = rows.filter((r) => r.type === 'node.connected').at(-1)!;
  assert.equal(last.data.count, 197);
  assert.equal(last.data.i, 199, "the repeat row carries the latest event's data");
  assert.equal(last.data.replaced, true);
  assert.match(last.message, /^connect 199 \(197 more like this since /);
  // Live listeners got every version, each with a higher id than the one it replaces.
  const versions = seen.filter((e) => e.type === 'node.connected' && e.data.repeated);
  assert.equal(versions.length, 197);
  for (let i = 1; i < versions.length; i++) {
    assert.equal(versions[i].data.replaces, versions[i - 1].id);
    assert.ok(versions[i].id > versions[i - 1].id);
  }
});

test('the cursor stays correct: a reader polling since= never misses the newest count', async (t) => {
  const { store, events } = await setup(t);
  let cursor = 0;
  let latest = 0;
  for (let i = 0; i < 50; i++) {
    await events.record(connected('n1', i));
    if (i % 7 === 0) await events.record({ type: 'token.created', actor: 'admin', message: `token ${i}` });
    const page = await store.listEvents({ since: cursor, limit: 1000 });
    for (const e of page) {
      assert.ok(e.id > cursor, 'ids only grow');
      if (e.type === 'node.connected') latest = Math.max(latest, countOf(e) > 1 ? Number(e.data.count) : 0);
      cursor = e.id;
    }
  }
  assert.equal(latest, 47, 'the reader saw the final count');
  assert.equal((await all(store)).filter((e) => e.type === 'token.created').length, 8, 'other events are not folded');
});

test('windows: a storm that goes on writes one row per window; a quiet source starts afresh', async (t) => {
  const { store, events, clock } = await setup(t, { windowMs: 60_000, verbatim: 2 });
  for (let i = 0; i < 10; i++) await events.record(connected('n1', i));
  clock.now += 61_000;
  for (let i = 10; i < 20; i++) await events.record(connected('n1', i));
  let rows = (await all(store)).filter((r) => r.nodeId === 'n1');
  assert.deepEqual(rows.map(countOf), [1, 1, 8, 10], 'the second window of the storm folds from its first event');
  clock.now += 10 * 60_000;
  await events.record(connected('n1', 20));
  rows = (await all(store)).filter((r) => r.nodeId === 'n1');
  assert.equal(rows.at(-1)?.data.repeated, undefined, 'after a quiet spell the first event is written as it is');
  // Other nodes fold separately.
  for (let i = 0; i < 5; i++) await events.record(connected('n2', i));
  assert.deepEqual((await all(store)).filter((r) => r.nodeId === 'n2').map(countOf), [1, 1, 3]);
});

test('api.denied folds per token and route; other routes of that token are kept apart', async (t) => {
  const { store, events } = await setup(t);
  const denied = (actor: string, action: string): NewEvent => ({
    type: 'api.denied',
    actor,
    message: `${action} denied`,
    data: { action, result: 'denied' },
  });
  for (let i = 0; i < 100; i++) await events.record(denied('tok-a', 'POST /v1/tokens'));
  for (const action of ['DELETE /v1/nodes/:id', 'POST /v1/pools', 'PUT /v1/cluster/autoheal'])
    await events.record(denied('tok-a', action));
  await events.record(denied('tok-b', 'POST /v1/tokens'));
  const rows = await all(store);
  assert.equal(rows.length, 4 + 3 + 1);
  assert.equal(
    rows.filter((r) => r.actor === 'tok-a' && r.data.action === 'POST /v1/tokens').reduce((n, r) => n + countOf(r), 0),
    100,
  );
});

test('the fold state is bounded: past maxKeys the oldest source is forgotten', async (t) => {
  const { store, events } = await setup(t, { maxKeys: 10, verbatim: 1 });
  for (let n = 0; n < 50; n++) await events.record(connected(`n${n}`, 0));
  // n0 was forgotten: it starts afresh; n49 is still known and folds.
  await events.record(connected('n0', 1));
  await events.record(connected('n49', 1));
  const rows = await all(store);
  assert.equal(
    rows.filter((r) => r.nodeId === 'n0').every((r) => !r.data.repeated),
    true,
  );
  assert.equal(rows.filter((r) => r.nodeId === 'n49').at(-1)?.data.repeated, true);
});

test('retention: prunes past maxCount in batches, the event loop getting turns in between', async (t) => {
  const { store, events } = await setup(t);
  for (let i = 0; i < 2600; i++) await store.appendEvent({ type: 't', actor: 'hub', message: String(i) });
  const retention = new EventRetention(store, createLogger('silent'), {
    maxAgeMs: 30 * 86_400_000,
    maxCount: 100,
    batch: 500,
  });
  let turns = 0;
  const ticker = setInterval(() => turns++, 0);
  const run = await retention.run();
  clearInterval(ticker);
  assert.deepEqual(run, { deleted: 2500, batches: 6 });
  assert.ok(turns >= 1, 'timers ran between batches');
  const left = await all(store);
  assert.equal(left.length, 100);
  assert.equal(left[0].message, '2500', 'the newest are kept');
  // New events beyond the count trigger a run by themselves (a tenth of maxCount).
  retention.start(events);
  t.after(() => retention.stop());
  for (let i = 0; i < 30; i++) await events.record({ type: 't', actor: 'hub', message: `new ${i}` });
  for (let i = 0; i < 100 && (await store.eventStats()).count > 100; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok((await store.eventStats()).count <= 100);
});

test('retention: prunes by age with an injected clock, bounded runs continue later', async (t) => {
  const { store } = await setup(t);
  for (let i = 0; i < 120; i++) await store.appendEvent({ type: 't', actor: 'hub', message: String(i) });
  const clock = { now: Date.now() };
  const retention = new EventRetention(store, createLogger('silent'), {
    maxAgeMs: 86_400_000,
    maxCount: 1_000_000,
    batch: 50,
    maxBatches: 2,
    now: () => clock.now,
  });
  assert.deepEqual(await retention.run(), { deleted: 0, batches: 1 }, 'a day later nothing is old yet');
  clock.now += 86_400_000 + 1000;
  const first = await retention.run();
  assert.deepEqual(first, { deleted: 100, batches: 2 }, 'one run does at most maxBatches');
  // The run asked for a follow-up itself; wait for it to take the rest.
  for (let i = 0; i < 100 && (await store.eventStats()).count > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal((await store.eventStats()).count, 0);
  await retention.stop();
});
