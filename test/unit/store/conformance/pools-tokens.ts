import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OpenStore } from './open.js';
import { StoreError } from '../../../../hub/store/index.js';
import { HOUR, enrollInput, iso, pool, token } from '../helpers.js';

export function poolsAndTokens(open: OpenStore): void {
  const isCode =
    (code: string, re?: RegExp) =>
    (err: unknown): boolean =>
      err instanceof StoreError && err.code === code && (!re || re.test(err.message));

  test('the default pool exists and cannot be deleted', async (t) => {
    const store = await open(t);
    const def = await store.getPool('default');
    assert.ok(def);
    assert.deepEqual(def.labels, {});
    assert.deepEqual(def.taints, []);
    assert.ok(!Number.isNaN(Date.parse(def.createdAt)));
    await assert.rejects(store.deletePool('default'), isCode('CONFLICT', /default/));
    assert.ok(await store.getPool('default'));
  });

  test('pool create, get, list, update, delete and conflicts', async (t) => {
    const store = await open(t);
    const gpu = pool('gpu', { taints: ['gpu=true:NoSchedule'] });
    await store.createPool(gpu);
    assert.deepEqual(await store.getPool('gpu'), gpu);
    await assert.rejects(store.createPool(pool('gpu')), isCode('CONFLICT', /already exists/));
    assert.deepEqual(
      (await store.listPools()).map((p) => p.name),
      ['default', 'gpu'],
    );

    const at = iso(Date.now() + 1000);
    const updated = await store.updatePool('gpu', { description: 'GPUs', labels: { a: 'b' }, taints: undefined }, at);
    assert.deepEqual(updated, { ...gpu, description: 'GPUs', labels: { a: 'b' }, updatedAt: at });
    assert.deepEqual(await store.getPool('gpu'), updated);
    assert.equal(await store.updatePool('nope', { description: 'x' }, at), undefined);

    assert.equal(await store.getPool('nope'), undefined);
    assert.equal(await store.deletePool('nope'), false);
    assert.equal(await store.deletePool('gpu'), true);
    assert.equal(await store.getPool('gpu'), undefined);
  });

  test('pool size bounds and autoscale settings: defaults, stored, updated alone', async (t) => {
    const store = await open(t);
    const def = await store.getPool('default');
    assert.equal(def?.minSize, 0);
    assert.equal(def?.maxSize, 100);
    assert.deepEqual(def?.autoscale, {
      enabled: false,
      scaleDownUtilizationThreshold: 0.5,
      scaleDownUnneeded: '10m',
      scaleDownDelayAfterAdd: '10m',
      maxNodeProvisionTime: '15m',
    });
    const autoscale = {
      enabled: true,
      scaleDownUtilizationThreshold: 0.35,
      scaleDownUnneeded: '2m',
      scaleDownDelayAfterAdd: '90s',
      maxNodeProvisionTime: '5m',
    };
    const batch = pool('batch', { minSize: 1, maxSize: 7, autoscale });
    await store.createPool(batch);
    assert.deepEqual(await store.getPool('batch'), batch);
    assert.deepEqual(
      (await store.listPools()).find((p) => p.name === 'batch'),
      batch,
    );

    const at = iso(Date.now() + 1000);
    // A patch of other fields keeps the sizes; a size patch keeps the rest.
    await store.updatePool('batch', { description: 'jobs' }, at);
    assert.deepEqual(await store.getPool('batch'), { ...batch, description: 'jobs', updatedAt: at });
    const off = { ...autoscale, enabled: false };
    const updated = await store.updatePool('batch', { maxSize: 3, autoscale: off }, at);
    assert.deepEqual(updated, { ...batch, description: 'jobs', maxSize: 3, autoscale: off, updatedAt: at });
    assert.deepEqual(await store.getPool('batch'), updated);
  });

  test('a pool with nodes or live tokens cannot be deleted; dead tokens do not block', async (t) => {
    const store = await open(t);
    await store.createPool(pool('edge'));
    await store.createToken(token('live', { pool: 'edge' }));
    await assert.rejects(store.deletePool('edge'), isCode('CONFLICT', /1 live join token/));
    await store.revokeToken('live', iso(Date.now()));
    await store.createToken(token('old', { pool: 'edge', expiresAt: iso(Date.now() - 1) }));
    await store.createToken(token('used', { pool: 'edge', maxUses: 2, uses: 2 }));

    await store.createToken(token('join', { pool: 'edge', maxUses: null }));
    const input = enrollInput('join', 'n1');
    input.node.pool = 'edge';
    assert.equal(await store.enroll(input), 'ok');
    await store.revokeToken('join', iso(Date.now()));
    await assert.rejects(store.deletePool('edge'), isCode('CONFLICT', /1 node/));
    await store.deleteNode('n1', iso(Date.now()));
    assert.equal(await store.deletePool('edge'), true);
    assert.equal(await store.getToken('old'), undefined);
  });

  test('tokens: create, get, list, revoke', async (t) => {
    const store = await open(t);
    const a = token('a', { createdAt: iso(1000) });
    const b = token('b', { createdAt: iso(2000), maxUses: null, description: 'reusable' });
    await store.createToken(b);
    await store.createToken(a);
    assert.deepEqual(await store.getToken('a'), a);
    assert.deepEqual(await store.getToken('b'), b);
    assert.equal(await store.getToken('c'), undefined);
    assert.deepEqual(
      (await store.listTokens()).map((x) => x.id),
      ['a', 'b'],
    );
    await assert.rejects(store.createToken(token('a')), isCode('CONFLICT'));
    await assert.rejects(store.createToken(token('x', { pool: 'nope' })), isCode('NOT_FOUND', /pool "nope"/));

    const at = iso(Date.now());
    assert.equal(await store.revokeToken('a', at), true);
    assert.equal((await store.getToken('a'))?.revokedAt, at);
    assert.equal(await store.revokeToken('a', iso(Date.now() + HOUR)), true);
    assert.equal((await store.getToken('a'))?.revokedAt, at, 'the first revocation time is kept');
    assert.equal(await store.revokeToken('zzz', at), false);
  });
}
