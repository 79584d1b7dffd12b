import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { OpenStore } from './open.js';
import { StoreError, type Store } from '../../../../hub/store/index.js';
import { cert, enrollInput, health, HOUR, iso, token } from '../helpers.js';

export function nodesAndCerts(open: OpenStore): void {
  async function withNodes(t: TestContext, ids: string[]): Promise<Store> {
    const store = await open(t);
    await store.createToken(token('tok', { maxUses: null }));
    for (const id of ids) assert.equal(await store.enroll(enrollInput('tok', id)), 'ok');
    return store;
  }

  test('updateNode merges the patch; undefined keeps, null clears', async (t) => {
    const store = await withNodes(t, ['a']);
    const h = health(10);
    const seen = iso(Date.now());
    const updated = await store.updateNode('a', { state: 'ready', lastSeen: seen, health: h, name: undefined });
    assert.equal(updated?.state, 'ready');
    assert.equal(updated?.name, 'node-a');
    assert.deepEqual(await store.getNode('a'), updated);
    const cleared = await store.updateNode('a', { health: null });
    assert.equal(cleared?.health, null);
    assert.equal(cleared?.lastSeen, seen);
    assert.equal(await store.updateNode('nope', { state: 'ready' }), undefined);
    await assert.rejects(
      store.updateNode('a', { pool: 'nope' }),
      (e: unknown) => e instanceof StoreError && e.code === 'NOT_FOUND',
    );
  });

  test('deleteNode revokes its certificates, which stay readable', async (t) => {
    const store = await withNodes(t, ['a', 'b']);
    await store.addCert(cert('renewed-a', 'a'));
    await assert.rejects(
      store.addCert(cert('renewed-a', 'a')),
      (e: unknown) => e instanceof StoreError && e.code === 'CONFLICT',
    );
    const at = iso(Date.now());
    assert.equal(await store.deleteNode('a', at), true);
    assert.equal(await store.getNode('a'), undefined);
    const certs = await store.listCerts('a');
    assert.deepEqual(certs.map((c) => c.serial).sort(), ['renewed-a', 'serial-a']);
    for (const c of certs) assert.equal(c.revokedAt, at);
    assert.equal((await store.getCert('serial-a'))?.revokedAt, at);
    assert.equal((await store.getCert('serial-b'))?.revokedAt, null, 'other nodes are untouched');
    assert.equal(await store.deleteNode('a', at), false);
  });

  test('recordHealth updates many nodes in one call and skips unknown ids', async (t) => {
    const store = await withNodes(t, ['a', 'b', 'c']);
    const seen = iso(Date.now());
    const h1 = health(1);
    await store.recordHealth([
      { nodeId: 'a', lastSeen: seen, health: h1 },
      { nodeId: 'ghost', lastSeen: seen, health: health(2) },
      { nodeId: 'b', lastSeen: seen, health: health(3) },
    ]);
    await store.recordHealth([]);
    assert.deepEqual((await store.getNode('a'))?.health, h1);
    assert.equal((await store.getNode('b'))?.health?.cpuPercent, 3);
    assert.equal((await store.getNode('b'))?.lastSeen, seen);
    assert.equal((await store.getNode('c'))?.lastSeen, null);
    assert.equal(await store.getNode('ghost'), undefined);

    const later = iso(Date.now() + 10_000);
    await store.recordHealth([{ nodeId: 'a', lastSeen: later, health: null }]);
    const a = await store.getNode('a');
    assert.equal(a?.lastSeen, later);
    assert.equal(a?.health?.cpuPercent, 1, 'a report without health keeps the last one');
  });

  test('recordHealth: 1000 updates in one batch stay fast', async (t) => {
    const ids = Array.from({ length: 1000 }, (_, i) => `n${i}`);
    const store = await withNodes(t, ids);
    const h = health(50);
    const batch = ids.map((nodeId) => ({ nodeId, lastSeen: iso(Date.now()), health: h }));
    await store.recordHealth(batch); // warm up
    const rounds = 5;
    const start = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) await store.recordHealth(batch);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const perSecond = Math.round((rounds * ids.length) / (ms / 1000));
    t.diagnostic(`recordHealth: ${perSecond} updates/s (${(ms / rounds).toFixed(1)} ms per batch of 1000)`);
    assert.ok(ms / rounds < 1000, `a batch of 1000 took ${ms / rounds} ms`);
    assert.equal((await store.getNode('n999'))?.health?.cpuPercent, 50);
  });

  test('listExpiringCerts: per node the certificate it uses (newest, unrevoked) when it expires before the limit, soonest first', async (t) => {
    const store = await open(t);
    await store.createToken(token('tok', { maxUses: null }));
    const now = Date.now();
    const day = 24 * HOUR;
    const join = async (id: string, notAfter: number): Promise<void> => {
      assert.equal(
        await store.enroll({
          ...enrollInput('tok', id),
          cert: cert(`serial-${id}`, id, { notAfter: iso(now + notAfter) }),
        }),
        'ok',
      );
    };
    // a: its enrollment certificate expires soon but it renewed; b: in 2 days; c: in 5 days, and a
    // newer one was revoked; d: in 1 day but removed (all its certificates revoked); e: in 50 days.
    await join('a', day);
    await store.addCert(cert('a-renewed', 'a', { notAfter: iso(now + 30 * day) }));
    await join('b', 2 * day);
    await join('c', 5 * day);
    await store.addCert(cert('c-revoked', 'c', { notAfter: iso(now + 30 * day), revokedAt: iso(now) }));
    await join('d', day);
    assert.equal(await store.deleteNode('d', iso(now)), true);
    await join('e', 50 * day);
    const list = await store.listExpiringCerts(iso(now + 10 * day), 100);
    assert.deepEqual(list, [
      { nodeId: 'b', serial: 'serial-b', notAfter: iso(now + 2 * day) },
      { nodeId: 'c', serial: 'serial-c', notAfter: iso(now + 5 * day) },
    ]);
    assert.deepEqual(
      (await store.listExpiringCerts(iso(now + 10 * day), 1)).map((c) => c.nodeId),
      ['b'],
    );
    assert.deepEqual(
      (await store.listExpiringCerts(iso(now + 40 * day), 100)).map((c) => c.nodeId),
      ['b', 'c', 'a'],
    );
  });
}
