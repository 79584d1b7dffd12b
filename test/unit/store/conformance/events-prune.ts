// The events table's retention primitives: replaceEvent (a folded repeat gets a new id), eventStats,
// pruneEvents by count and by age, each call bounded by its limit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OpenStore } from './open.js';
import { type Store } from '../../../../hub/store/index.js';

export function eventRetention(open: OpenStore): void {
  async function fill(store: Store, n: number): Promise<number[]> {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push((await store.appendEvent({ type: 't', actor: 'hub', message: String(i) })).id);
    return ids;
  }

  test('replaceEvent deletes the old row and appends the new one with a higher id', async (t) => {
    const store = await open(t);
    const a = await store.appendEvent({ type: 'node.connected', nodeId: 'n1', actor: 'hub', message: 'first' });
    const r1 = await store.replaceEvent(null, {
      type: 'node.connected',
      nodeId: 'n1',
      actor: 'hub',
      message: 'x1',
      data: { count: 1 },
    });
    const other = await store.appendEvent({ type: 'token.created', actor: 'admin', message: 'between' });
    const r2 = await store.replaceEvent(r1.id, {
      type: 'node.connected',
      nodeId: 'n1',
      actor: 'hub',
      message: 'x2',
      data: { count: 2 },
    });
    assert.ok(r2.id > other.id && other.id > r1.id && r1.id > a.id);
    assert.deepEqual(
      (await store.listEvents({})).map((e) => e.message),
      ['first', 'between', 'x2'],
    );
    // A reader whose cursor is past the first version still sees the new one.
    assert.deepEqual(
      (await store.listEvents({ since: r1.id })).map((e) => e.id),
      [other.id, r2.id],
    );
    // Replacing a row that was pruned meanwhile still appends.
    const r3 = await store.replaceEvent(999_999, { type: 'node.connected', nodeId: 'n1', actor: 'hub', message: 'x3' });
    assert.ok(r3.id > r2.id);
    assert.equal((await store.eventStats()).count, 4);
  });

  test('pruneEvents by count: the oldest go first, at most `limit` per call', async (t) => {
    const store = await open(t);
    const ids = await fill(store, 250);
    assert.deepEqual(await store.eventStats(), { count: 250, oldestAt: (await store.listEvents({ limit: 1 }))[0].at });
    assert.equal(await store.pruneEvents({ maxCount: 100, limit: 60 }), 60);
    assert.equal((await store.eventStats()).count, 190);
    assert.equal(await store.pruneEvents({ maxCount: 100, limit: 60 }), 60);
    assert.equal(await store.pruneEvents({ maxCount: 100, limit: 60 }), 30);
    assert.equal(await store.pruneEvents({ maxCount: 100, limit: 60 }), 0);
    const left = await store.listEvents({ limit: 1000 });
    assert.deepEqual(
      left.map((e) => e.id),
      ids.slice(150),
      'the newest 100 are kept, in order',
    );
    // Cursors keep working across pruning: since= an id that is gone gives what follows it.
    assert.deepEqual(
      (await store.listEvents({ since: ids[10], limit: 3 })).map((e) => e.id),
      ids.slice(150, 153),
    );
  });

  test('pruneEvents by age: only events recorded before the cutoff, oldest first', async (t) => {
    const store = await open(t);
    await fill(store, 30);
    assert.equal(
      await store.pruneEvents({ before: new Date(Date.now() - 3_600_000).toISOString(), limit: 100 }),
      0,
      'none is an hour old',
    );
    await new Promise((r) => setTimeout(r, 20));
    const cutoff = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const newer = await fill(store, 5);
    assert.equal(await store.pruneEvents({ before: cutoff, limit: 20 }), 20);
    assert.equal(await store.pruneEvents({ before: cutoff, limit: 20 }), 10);
    assert.equal(await store.pruneEvents({ before: cutoff, limit: 20 }), 0);
    assert.deepEqual(
      (await store.listEvents({})).map((e) => e.id),
      newer,
    );
    assert.deepEqual(await store.eventStats(), { count: 5, oldestAt: (await store.listEvents({ limit: 1 }))[0].at });
  });

  test('eventStats of an empty log', async (t) => {
    const store = await open(t);
    assert.deepEqual(await store.eventStats(), { count: 0, oldestAt: null });
  });
}
