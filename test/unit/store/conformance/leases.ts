// Hub membership and singleton leases (cluster-types.ts): expiry, a new term on every tenure, and
// fenced writes refused with LEASE_LOST once the lease is lost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError, type RolloutHeader } from '../../../../hub/store/index.js';
import type { OpenStore } from './open.js';

const rollout = (id: string, state = 'running'): RolloutHeader => ({
  id,
  kind: 'k3s',
  state,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
});

const isLeaseLost = (err: unknown) => err instanceof StoreError && err.code === 'LEASE_LOST';

export function leases(open: OpenStore): void {
  test('hubs: a beat inserts then refreshes the row; listHubs shows it with its age; removeHub forgets it', async (t) => {
    const store = await open(t);
    const beat = { id: 'h1', publicUrl: 'https://a:9444', apiUrl: 'https://a:9443', gatewayUrl: 'https://a:9444' };
    await store.beatHub({ ...beat, startedAt: '2026-01-01T00:00:00.000Z', agents: 2 });
    await store.beatHub({ ...beat, id: 'h2', startedAt: '2026-01-01T00:00:01.000Z', agents: 0 });
    await sleep(60);
    await store.beatHub({ ...beat, startedAt: '2026-01-01T00:00:00.000Z', agents: 5 });
    const hubs = await store.listHubs();
    assert.deepEqual(
      hubs.map((h) => [h.id, h.agents]),
      [
        ['h1', 5],
        ['h2', 0],
      ],
    );
    assert.ok(hubs[0].ageMs < hubs[1].ageMs, 'the fresh beat is younger');
    assert.ok(hubs[1].ageMs >= 50);
    assert.ok(!Number.isNaN(Date.parse(hubs[0].lastBeat)));
    assert.equal(await store.removeHub('h2'), true);
    assert.equal(await store.removeHub('h2'), false);
    assert.deepEqual(
      (await store.listHubs()).map((h) => h.id),
      ['h1'],
    );
  });

  test('leases: one holder at a time; the holder extends without a new term; expiry lets another in with term+1', async (t) => {
    const store = await open(t);
    const a = await store.tryAcquireLease('autoheal', 'hub-a', 300);
    assert.deepEqual(a, { term: 1 });
    assert.equal(await store.tryAcquireLease('autoheal', 'hub-b', 300), undefined);
    assert.deepEqual(await store.tryAcquireLease('autoheal', 'hub-a', 300), { term: 1 }, 'held already: same term');
    assert.equal(await store.renewLease('autoheal', 'hub-a', 1, 300), true);
    assert.equal(await store.renewLease('autoheal', 'hub-b', 1, 300), false);
    await sleep(400);
    assert.equal(await store.renewLease('autoheal', 'hub-a', 1, 300), false, 'an expired lease is not renewed');
    assert.deepEqual(await store.tryAcquireLease('autoheal', 'hub-b', 300), { term: 2 });
    const [lease] = await store.listLeases();
    assert.equal(lease.holder, 'hub-b');
    assert.equal(lease.term, 2);
    assert.equal(lease.live, true);
    // Released: free at once, and the next tenure (even by the same hub) has a new term.
    await store.releaseLease('autoheal', 'hub-b', 2);
    assert.deepEqual(await store.tryAcquireLease('autoheal', 'hub-b', 300), { term: 3 });
    // Roles are independent.
    assert.deepEqual(await store.tryAcquireLease('upgrades', 'hub-a', 300), { term: 1 });
  });

  test('fencing: a write with a stale term (or after expiry) is refused LEASE_LOST and changes nothing', async (t) => {
    const store = await open(t);
    const { term } = (await store.tryAcquireLease('upgrades', 'hub-a', 250))!;
    const fence = { role: 'upgrades', holder: 'hub-a', term };
    await store.saveRollout(rollout('r1'), fence);
    await store.saveAutohealRecords([['n1', { step: 1 }]], fence);
    await store.setAutohealPacing('default', { width: 2, cooldownUntil: 5 }, fence);
    await store.setSetting('autoscale.pool.default', { target: 2 }, fence);
    await store.updateSetting<{ n: number }>('lifespan.pool.default', () => ({ n: 1 }), fence);
    await sleep(350);
    // Expired, nobody else yet: still refused.
    await assert.rejects(store.saveRollout(rollout('r1', 'done'), fence), isLeaseLost);
    assert.deepEqual(await store.tryAcquireLease('upgrades', 'hub-b', 5000), { term: term + 1 });
    await assert.rejects(store.saveRollout(rollout('r1', 'done'), fence), isLeaseLost);
    await assert.rejects(store.saveAutohealRecords([['n1', { step: 2 }]], fence), isLeaseLost);
    await assert.rejects(store.setAutohealPacing('default', { width: 9, cooldownUntil: 9 }, fence), isLeaseLost);
    await assert.rejects(store.widenAutohealPacing('default', 64, fence), isLeaseLost);
    // A singleton's own state in settings (autoscale, lifespan) too.
    await assert.rejects(store.setSetting('autoscale.pool.default', { target: 9 }, fence), isLeaseLost);
    await assert.rejects(store.setSetting('autoscale.pool.default', undefined, fence), isLeaseLost);
    await assert.rejects(
      store.updateSetting<{ n: number }>('lifespan.pool.default', () => ({ n: 9 }), fence),
      isLeaseLost,
    );
    assert.deepEqual(await store.getSetting('autoscale.pool.default'), { target: 2 });
    assert.deepEqual(await store.getSetting('lifespan.pool.default'), { n: 1 });
    assert.equal((await store.getRollout('r1'))?.state, 'running');
    assert.deepEqual(await store.getAutohealRecord('n1'), { step: 1 });
    assert.deepEqual(await store.getAutohealPacing('default'), { width: 2, cooldownUntil: 5 });
    // The new holder's fence passes.
    await store.saveRollout(rollout('r1', 'done'), { role: 'upgrades', holder: 'hub-b', term: term + 1 });
    assert.equal((await store.getRollout('r1'))?.state, 'done');
  });
}
