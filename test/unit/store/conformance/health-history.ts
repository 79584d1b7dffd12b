// Health history in the store: samples ride with the health updates, are pruned per node, listed in
// time order and removed with their node; a big batch with history stays fast.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { OpenStore } from './open.js';
import type { Store } from '../../../../hub/store/index.js';
import { enrollInput, health, iso, token } from '../helpers.js';

export function healthHistory(open: OpenStore): void {
  async function withNodes(t: TestContext, ids: string[]): Promise<Store> {
    const store = await open(t);
    await store.createToken(token('tok', { maxUses: null }));
    for (const id of ids) assert.equal(await store.enroll(enrollInput('tok', id)), 'ok');
    return store;
  }

  test('samples are stored with the health updates, listed in order, pruned per node, and removed with the node', async (t) => {
    const store = await withNodes(t, ['a', 'b']);
    const t0 = Date.now() - 2 * 3_600_000;
    const sample = (nodeId: string, at: number, cpu: number) => ({
      nodeId,
      at: iso(at),
      cpuPercent: cpu,
      memoryPercent: 50.04,
      diskPercent: 120,
    });
    // Two hours of samples for a, one for b, every 30 s, written as the batcher would (old ones first).
    for (let i = 0; i < 240; i++) {
      const at = t0 + i * 30_000;
      const samples = [sample('a', at, i % 100), ...(i >= 120 ? [sample('b', at, 5)] : [])];
      await store.recordHealth([{ nodeId: 'a', lastSeen: iso(at), health: health(1) }], {
        samples,
        pruneBefore: iso(at - 3_600_000),
      });
    }
    const a = await store.listHealthSamples('a', iso(0));
    // Pruned on each write: nothing older than an hour before the newest sample.
    assert.ok(a.length >= 120 && a.length <= 121, `${a.length} samples kept`);
    assert.ok(Date.parse(a[0].at) >= t0 + 239 * 30_000 - 3_600_000);
    for (let i = 1; i < a.length; i++) assert.ok(a[i].at > a[i - 1].at, 'oldest first');
    assert.equal(a.at(-1)?.cpuPercent, 239 % 100);
    assert.equal(a[0].memoryPercent, 50, 'stored in tenths of a percent');
    assert.equal(a[0].diskPercent, 100, 'clamped to 100');
    const recent = await store.listHealthSamples('a', iso(t0 + 230 * 30_000));
    assert.equal(recent.length, 10);
    assert.equal((await store.listHealthSamples('a', iso(0), 5)).length, 5);
    assert.equal((await store.listHealthSamples('b', iso(0))).length, 120);
    // Samples of an unknown node are not stored; a removed node's are gone.
    await store.recordHealth([], { samples: [sample('ghost', Date.now(), 1)], pruneBefore: iso(0) });
    assert.deepEqual(await store.listHealthSamples('ghost', iso(0)), []);
    assert.equal(await store.deleteNode('b', iso(Date.now())), true);
    assert.deepEqual(await store.listHealthSamples('b', iso(0)), []);
    assert.ok((await store.listHealthSamples('a', iso(0))).length > 0);
  });

  test('recordHealth with history: 1000 updates and a third of them sampled (and pruned) per batch stay fast', async (t) => {
    const ids = Array.from({ length: 1000 }, (_, i) => `n${i}`);
    const store = await withNodes(t, ids);
    const h = health(40);
    const t0 = Date.now() - 3_600_000;
    // An hour of history for every node (120 samples each), as a running hub would have.
    for (let i = 0; i < 120; i++) {
      const at = t0 + i * 30_000;
      await store.recordHealth([], {
        samples: ids.map((nodeId) => ({ nodeId, at: iso(at), cpuPercent: 1, memoryPercent: 2, diskPercent: 3 })),
        pruneBefore: iso(0),
      });
    }
    const rounds = 9;
    const start = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) {
      const at = Date.now() + r * 10_000;
      const third = ids.filter((_, i) => i % 3 === r % 3);
      await store.recordHealth(
        ids.map((nodeId) => ({ nodeId, lastSeen: iso(at), health: h })),
        {
          samples: third.map((nodeId) => ({ nodeId, at: iso(at), cpuPercent: 40, memoryPercent: 25, diskPercent: 10 })),
          pruneBefore: iso(at - 3_600_000),
        },
      );
    }
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    t.diagnostic(`recordHealth with history: ${(ms / rounds).toFixed(1)} ms per batch of 1000 updates + 333 samples`);
    assert.ok(ms / rounds < 1000, `a batch took ${ms / rounds} ms`);
    const n0 = await store.listHealthSamples('n0', iso(0));
    assert.ok(n0.length <= 122 && n0.at(-1)?.cpuPercent === 40, `${n0.length} samples`);
  });
}
