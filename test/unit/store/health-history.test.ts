// Health history: the sampler takes at most one sample per node per interval; the batcher writes them
// with the health updates on its flush. What the store does with them (one transaction, pruning,
// order, removal with the node) is in the conformance suite (conformance/health-history.ts).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSqliteStore, type Store } from '../../../hub/store/index.js';
import { createHealthSampler } from '../../../hub/nodes/health-sampler.js';
import { createHealthBatcher } from '../../../hub/nodes/health-batcher.js';
import { createLogger } from '../../../hub/logger.js';
import { enrollInput, health, iso, tempDir, token } from './helpers.js';

async function withNodes(t: TestContext, ids: string[]): Promise<Store> {
  const store = await openSqliteStore({ path: join(tempDir(t), 'hub.db') });
  t.after(() => store.close());
  await store.createToken(token('tok', { maxUses: null }));
  for (const id of ids) assert.equal(await store.enroll(enrollInput('tok', id)), 'ok');
  return store;
}

test('the sampler takes one sample per node per interval, with percentages', () => {
  const sampler = createHealthSampler({ intervalMs: 30_000, retentionMs: 3_600_000 });
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const up = (nodeId: string, cpu: number) => ({ nodeId, lastSeen: iso(t0), health: health(cpu) });
  const first = sampler.take([up('a', 10), up('b', 20), { nodeId: 'c', lastSeen: iso(t0), health: null }], t0);
  assert.deepEqual(
    first.samples.map((s) => s.nodeId),
    ['a', 'b'],
    'a liveness-only update is no sample',
  );
  assert.equal(first.samples[0].cpuPercent, 10);
  assert.equal(first.samples[0].memoryPercent, 25); // 1e9 of 4e9
  assert.equal(first.samples[0].diskPercent, 10); // 1e10 of 1e11
  assert.equal(first.pruneBefore, iso(t0 - 3_600_000));
  assert.deepEqual(sampler.take([up('a', 11)], t0 + 10_000).samples, [], '10 s later: too soon');
  assert.deepEqual(sampler.take([up('a', 12)], t0 + 29_999).samples, []);
  assert.deepEqual(
    sampler.take([up('a', 13)], t0 + 30_000).samples.map((s) => s.cpuPercent),
    [13],
  );
  assert.deepEqual(
    sampler.take([up('b', 21)], t0 + 31_000).samples.map((s) => s.cpuPercent),
    [21],
  );
});

test('the batcher writes history samples in its flush, one per node per interval', async (t) => {
  const store = await withNodes(t, ['a', 'b']);
  let now = Date.parse('2026-01-01T00:00:00Z');
  const calls: number[] = [];
  const counting: Store = Object.create(store, {
    recordHealth: {
      value: (u: Parameters<Store['recordHealth']>[0], h: Parameters<Store['recordHealth']>[1]) => {
        calls.push(h?.samples.length ?? -1);
        return store.recordHealth(u, h);
      },
    },
  }) as Store;
  const batcher = createHealthBatcher(counting, createLogger('silent'), {
    intervalMs: 60_000,
    sampler: createHealthSampler(),
    now: () => now,
  });
  t.after(() => batcher.stop());
  for (let round = 0; round < 7; round++) {
    for (const nodeId of ['a', 'b']) batcher.push({ nodeId, lastSeen: iso(now), health: health(round) });
    await batcher.flush();
    now += 10_000; // a report every 10 s
  }
  assert.equal(calls.length, 7, 'one transaction per flush, samples included');
  assert.deepEqual(calls, [2, 0, 0, 2, 0, 0, 2]);
  const a = await store.listHealthSamples('a', iso(0));
  assert.deepEqual(
    a.map((s) => s.cpuPercent),
    [0, 3, 6],
  );
});
