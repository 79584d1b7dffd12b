// Autoheal at scale reads the store in sets: the first tick after a hub restart loads every node's
// record in one query (not one per node), and a tick over a pool with many unhealthy nodes reads
// their switches in one query per pool (not one per node), on SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Store } from '../../../hub/store/types.js';
import { harness } from './autoheal-harness.js';

/** Counts the calls of some store methods (the store object is shared by the engine and its parts). */
function count(store: Store, names: Array<keyof Store>): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const name of names) {
    const original = (store[name] as (...a: unknown[]) => unknown).bind(store);
    calls[name] = 0;
    Object.defineProperty(store, name, {
      configurable: true,
      value: (...args: unknown[]) => {
        calls[name]++;
        return original(...args);
      },
    });
  }
  return calls;
}

test('after a restart, one tick over 60 nodes (40 unreachable) reads records and switches in sets', async (t) => {
  const h = await harness(t, { pool: { maxUnhealthyPercent: 10 } });
  const ids: string[] = [];
  for (let i = 0; i < 60; i++) ids.push(await h.join(`node-${i}`));
  for (const id of ids) await h.connect(id);
  await h.run(3_000);
  for (const id of ids.slice(0, 40)) await h.disconnect(id);
  await h.run(6_000);
  assert.equal(h.registry.snapshot().filter((n) => n.state === 'unreachable').length, 40);

  await h.restart();
  for (const id of ids.slice(40)) await h.connect(id);
  h.clock.advance(5_000); // past the startup grace (agents reconnecting): the first real tick
  const calls = count(h.store, ['getAutohealRecord', 'getAutohealRecords', 'getSetting', 'getSettings']);
  await h.tick();
  assert.equal(calls.getAutohealRecord, 0, 'no record read per node');
  assert.equal(calls.getAutohealRecords, 1, 'the records of all 60 nodes in one query');
  assert.equal(calls.getSettings, 1, 'the switches of the unhealthy nodes of the pool in one query');
  assert.ok(calls.getSetting <= 2, `${calls.getSetting} single settings read (the cluster and the pool, not per node)`);

  const again = count(h.store, ['getAutohealRecord', 'getAutohealRecords']);
  await h.tick();
  assert.deepEqual(again, { getAutohealRecord: 0, getAutohealRecords: 0 }, 'later ticks read records from memory');
});
