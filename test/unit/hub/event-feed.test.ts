// The event feed of several hubs (hub/cluster/event-feed.ts): this hub's events at once, the others'
// from the store by cursor; a row that commits after a higher id (PostgreSQL hands ids out before
// commit) still reaches listeners, once; history from before listening does not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
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

test('local at once, stored ones by cursor, a late lower id once, no history', async (t) => {
  const rows: EventRecord[] = [ev(1), ev(2)];
  const store = {
    listEvents: (q: EventQuery): Promise<EventRecord[]> => {
      const sorted = [...rows].sort((a, b) => a.id - b.id);
      if (q.order === 'desc') return Promise.resolve(sorted.reverse().slice(0, q.limit ?? 100));
      return Promise.resolve(sorted.filter((e) => e.id > (q.since ?? 0)).slice(0, q.limit ?? 100));
    },
  };
  const bus = new EventEmitter();
  const events = {
    subscribe: (l: (e: EventRecord) => void) => {
      bus.on('e', l);
      return () => bus.off('e', l);
    },
  };
  const feed = createEventFeed({ store, events, logger: createLogger('silent'), intervalMs: 20 });
  t.after(() => feed.stop());
  const got: number[] = [];
  const off = feed.subscribe((e) => got.push(e.id));
  await sleep(60);
  // This hub records 4 (stored and on its bus); another hub's 3 and 5 show up in the store, 3 late.
  rows.push(ev(4));
  bus.emit('e', ev(4));
  rows.push(ev(5));
  await sleep(80);
  rows.push(ev(3));
  await sleep(80);
  assert.deepEqual(got, [4, 5, 3], 'each once, none from before listening');
  off();
  rows.push(ev(6));
  await sleep(80);
  assert.deepEqual(got, [4, 5, 3], 'nothing after unsubscribing');
});
