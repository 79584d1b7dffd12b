// Concurrent writers do not lose each other's updates: what used to be read, await, write-back of a
// settings document is now one statement or one transaction per change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OpenStore } from './open.js';

export function concurrency(open: OpenStore): void {
  test('pending purges: a purge kept while another finishes is not lost (the old purgePending overwrote it)', async (t) => {
    const store = await open(t);
    await store.addPendingPurge({ id: 'old', name: 'old', pool: 'default', agentStopped: true });
    // purgePending-style: list, then (after awaits) finish each; meanwhile remember() keeps new ones.
    const listed = await store.listPendingPurges();
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) =>
        store.addPendingPurge({ id: `new-${i}`, name: `n${i}`, pool: 'default', agentStopped: false }),
      ),
      ...listed.map((p) => store.finishPendingPurge(p.id)),
      store.markPurgeAgentStopped('new-3'),
    ]);
    const left = await store.listPendingPurges();
    assert.deepEqual(left.map((p) => p.id).sort(), Array.from({ length: 20 }, (_, i) => `new-${i}`).sort());
    assert.equal(
      left.some((p) => p.id === 'old'),
      false,
    );
  });

  test('updateSetting: 50 concurrent increments all land', async (t) => {
    const store = await open(t);
    await Promise.all(Array.from({ length: 50 }, () => store.updateSetting<number>('counter', (n) => (n ?? 0) + 1)));
    assert.equal(await store.getSetting('counter'), 50);
  });

  test('API tokens: concurrent creates all stay (no array to overwrite)', async (t) => {
    const store = await open(t);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.createApiToken({
          id: `t${i}`,
          role: 'read-only',
          description: '',
          secretHash: 'cd'.repeat(32),
          createdAt: new Date().toISOString(),
          createdBy: 'admin',
          revokedAt: null,
        }),
      ),
    );
    assert.equal((await store.listApiTokens()).length, 20);
  });

  test('autoheal pacing: a failure (reset with cooldown) and widenings never lose the cooldown', async (t) => {
    const store = await open(t);
    await Promise.all([
      store.widenAutohealPacing('p', 64),
      store.setAutohealPacing('p', { width: 1, cooldownUntil: 999 }),
      store.widenAutohealPacing('p', 64),
    ]);
    assert.equal((await store.getAutohealPacing('p')).cooldownUntil, 999);
  });

  test('k3s tokens: of two racing claims both callers get the same stored token', async (t) => {
    const store = await open(t);
    const [a, b] = await Promise.all([
      store.claimK3sToken('n', { id: 'a', token: 'sa' }),
      store.claimK3sToken('n', { id: 'b', token: 'sb' }),
    ]);
    assert.deepEqual(a, b);
    assert.deepEqual(await store.getK3sToken('n'), a);
  });
}
