// The event feed of several hubs (hub/cluster/event-feed.ts): listeners get every hub's events in id
// order, each once, so a stream's last id is a cursor that misses nothing. This hub's next id goes on
// at once; one that comes before a lower id waits for the store to show the lower ids (the store
// makes ids visible in order); an id deleted from the store is skipped; history from before
// listening is not sent.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEventFeed } from '../../../hub/cluster/event-feed.js';
import { createLogger } from '../../../hub/logger.js';
import type { EventQuery, EventRecord } from '../../../hub/store/types.js';

const ev = (id: number, type = 'x.y'): EventRecord =>
  ({
    id,
    type,
    at: new Date().toISOString(),
    actor: 'hub',
    message: `e${id}`,
    nodeId: null,
    pool: null,
    data: {},
  }) as unknown as EventRecord;

function setup(
  t: TestContext,
  opts: { intervalMs: number; slowMs?: number; heldMax?: number; holdMs?: number },
  readDelayMs: number | ((call: number) => number) = 0,
) {
  const rows: EventRecord[] = [ev(1), ev(2)];
  let reads = 0;
  let readable = true;
  const store = {
    listEvents: async (q: EventQuery): Promise<EventRecord[]> => {
      reads++;
      // What the store holds when asked; the answer comes after the delay.
      const sorted = [...rows].sort((a, b) => a.id - b.id);
      const delay = typeof readDelayMs === 'number' ? readDelayMs : readDelayMs(reads);
      if (delay) await sleep(delay);
      if (!readable) throw new Error('store down');
      if (q.order === 'desc') return sorted.reverse().slice(0, q.limit ?? 100);
      return sorted.filter((e) => e.id > (q.since ?? 0)).slice(0, q.limit ?? 100);
    },
  };
  const bus = new EventEmitter();
  const events = {
    subscribe: (l: (e: EventRecord) => void) => {
      bus.on('e', l);
      return () => bus.off('e', l);
    },
  };
  const feed = createEventFeed({ store, events, logger: createLogger('silent'), ...opts });
  t.after(() => feed.stop());
  /** This hub records an event: stored, then on its bus. */
  const local = (id: number): void => {
    rows.push(ev(id));
    bus.emit('e', ev(id));
  };
  return {
    feed,
    rows,
    local,
    emitOnly: (id: number) => bus.emit('e', ev(id)),
    reads: () => reads,
    setReadable: (r: boolean) => (readable = r),
  };
}

test('in id order, each once: other hubs from the store, a gap skipped, no history, nothing after unsubscribing', async (t) => {
  const s = setup(t, { intervalMs: 20 });
  const got: number[] = [];
  const off = s.feed.subscribe((e) => got.push(e.id));
  await sleep(60);
  s.local(3); // the next id: at once
  assert.deepEqual(got, [3]);
  // Another hub's 4 is stored; this hub's 5 comes before the feed has read it: 5 waits for 4.
  s.rows.push(ev(4));
  s.local(5);
  assert.deepEqual(got, [3], 'held until the id below it is read');
  await sleep(10);
  assert.deepEqual(got, [3, 4, 5], 'the store is read at once, not at the next tick');
  // 6 was a folded repeat, deleted before anyone read it: 7 follows 5.
  s.rows.push(ev(7));
  await sleep(80);
  assert.deepEqual(got, [3, 4, 5, 7]);
  off();
  s.local(8);
  await sleep(80);
  assert.deepEqual(got, [3, 4, 5, 7], 'nothing after unsubscribing');
});

test("this hub's writes answered out of order still go on in order, without a store read", async (t) => {
  const s = setup(t, { intervalMs: 60_000, slowMs: 60_000 });
  const got: number[] = [];
  s.feed.subscribe((e) => got.push(e.id));
  await sleep(20);
  s.rows.push(ev(3), ev(4));
  const before = s.reads();
  s.emitOnly(4);
  s.emitOnly(3);
  assert.deepEqual(got, [3, 4]);
  await sleep(20);
  assert.deepEqual(got, [3, 4], 'once each');
  assert.ok(s.reads() - before <= 2, `a read or two at most, not a loop: ${s.reads() - before}`);
});

test("a store that cannot be read: past the bound or the time, this hub's events go on in order and listeners hear of the gap", async (t) => {
  const s = setup(t, { intervalMs: 20, heldMax: 3, holdMs: 60_000 });
  const got: number[] = [];
  let gaps = 0;
  s.feed.subscribe(
    (e) => got.push(e.id),
    () => gaps++,
  );
  await sleep(40);
  s.setReadable(false);
  for (const id of [4, 6, 5, 7]) s.local(id);
  assert.deepEqual(got, [4, 5, 6, 7], 'not held for ever');
  assert.equal(gaps, 1, 'told once: a stream ends and its client replays from its cursor');
  s.setReadable(true);
  s.local(8);
  await sleep(60);
  assert.deepEqual(got, [4, 5, 6, 7, 8]);

  const slow = setup(t, { intervalMs: 20, holdMs: 150 });
  const late: number[] = [];
  let lateGaps = 0;
  slow.feed.subscribe(
    (e) => late.push(e.id),
    () => lateGaps++,
  );
  await sleep(40);
  slow.setReadable(false);
  slow.local(4);
  await sleep(60);
  assert.deepEqual(late, [], 'held while the store may still answer');
  await sleep(300);
  assert.deepEqual(late, [4], 'released after the hold time');
  assert.equal(lateGaps, 1);
});

test('a held id that never shows (deleted) does not make the feed read in a tight loop', async (t) => {
  const s = setup(t, { intervalMs: 50, holdMs: 400 });
  const got: number[] = [];
  s.feed.subscribe((e) => got.push(e.id));
  await sleep(60);
  s.emitOnly(4); // never stored (3 and 4 both gone)
  const before = s.reads();
  await sleep(300);
  const reads = s.reads() - before;
  assert.ok(reads <= 10, `${reads} reads in 300 ms at a 50 ms interval`);
  await sleep(400);
  assert.deepEqual(got, [4], 'released after the hold time');
});

test('listening again while an old read is in flight: no event twice, none out of order', async (t) => {
  // Reads: 1 the old loop's newest id, 2 the new loop's (its answer comes late), then pages.
  const s = setup(t, { intervalMs: 5_000, slowMs: 5_000 }, (call) => (call === 2 ? 120 : 30));
  const first: number[] = [];
  const off = s.feed.subscribe((e) => first.push(e.id));
  off(); // the old loop's read is in flight
  const got: number[] = [];
  s.feed.subscribe((e) => got.push(e.id));
  await sleep(10);
  s.rows.push(ev(3), ev(4)); // the old loop reads them before the new loop learns the newest id
  await sleep(300);
  s.local(5);
  await sleep(100);
  assert.deepEqual(got, [3, 4, 5]);
  assert.deepEqual(first, []);
});
