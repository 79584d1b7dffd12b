import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OpenStore } from './open.js';
import { StoreError, type Store } from '../../../../hub/store/index.js';
import { HOUR, enrollInput, iso, node, token } from '../helpers.js';

export function enroll(open: OpenStore): void {
  async function counts(store: Store): Promise<{ nodes: number; events: number }> {
    return { nodes: (await store.listNodes()).length, events: (await store.listEvents({})).length };
  }

  test('enroll ok: uses, node, cert and event are written together', async (t) => {
    const store = await open(t);
    await store.createToken(token('tok'));
    const input = enrollInput('tok', 'n1');
    assert.equal(await store.enroll(input), 'ok');
    assert.equal((await store.getToken('tok'))?.uses, 1);
    assert.deepEqual(await store.getNode('n1'), input.node);
    assert.deepEqual(await store.getCert('serial-n1'), input.cert);
    const [ev] = await store.listEvents({});
    assert.equal(ev.type, 'node.joined');
    assert.equal(ev.nodeId, 'n1');
    assert.equal(ev.pool, 'default');
    assert.deepEqual(ev.data, {});
  });

  test('enroll refusals change nothing', async (t) => {
    const store = await open(t);
    const now = Date.now();
    await store.createToken(token('revoked', { revokedAt: iso(now - 1000) }));
    await store.createToken(token('expired', { expiresAt: iso(now - 1) }));
    await store.createToken(token('edge', { expiresAt: iso(now) }));
    await store.createToken(token('used', { maxUses: 3, uses: 3 }));
    const before = await counts(store);

    assert.equal(await store.enroll(enrollInput('missing', 'n1')), 'token-missing');
    assert.equal(await store.enroll(enrollInput('revoked', 'n2')), 'token-revoked');
    assert.equal(await store.enroll(enrollInput('expired', 'n3', iso(now))), 'token-expired');
    assert.equal(await store.enroll(enrollInput('edge', 'n4', iso(now))), 'token-expired', 'expiry is exclusive');
    assert.equal(await store.enroll(enrollInput('used', 'n5')), 'token-used-up');
    assert.equal(await store.enroll(enrollInput('expired', 'n6', 'not a date')), 'token-expired');

    assert.deepEqual(await counts(store), before);
    assert.equal((await store.getToken('used'))?.uses, 3);
    assert.equal(await store.getCert('serial-n5'), undefined);
  });

  test('a single-use token enrolls once; the second try is token-used-up and adds no node', async (t) => {
    const store = await open(t);
    await store.createToken(token('once', { maxUses: 1 }));
    assert.equal(await store.enroll(enrollInput('once', 'a')), 'ok');
    assert.equal(await store.enroll(enrollInput('once', 'b')), 'token-used-up');
    assert.deepEqual(
      (await store.listNodes()).map((n) => n.id),
      ['a'],
    );
    assert.equal(await store.getCert('serial-b'), undefined);
    assert.equal((await store.getToken('once'))?.uses, 1);
  });

  test('a single-use token raced by 10 joins at once: exactly one enrolls, the token counts one use', async (t) => {
    const store = await open(t);
    await store.createToken(token('once', { maxUses: 1 }));
    const ids = Array.from({ length: 10 }, (_, i) => `racer-${i}`);
    const results = await Promise.all(ids.map((id) => store.enroll(enrollInput('once', id))));
    assert.equal(results.filter((r) => r === 'ok').length, 1, results.join(','));
    assert.equal(results.filter((r) => r === 'token-used-up').length, 9);
    assert.equal((await store.listNodes()).length, 1);
    assert.equal((await store.getToken('once'))?.uses, 1);
    assert.equal((await store.listEvents({})).length, 1);
  });

  test('a token is still valid at its expiry minus 1 ms (now given by the caller)', async (t) => {
    const store = await open(t);
    const exp = Date.now() + HOUR;
    await store.createToken(token('t', { expiresAt: iso(exp) }));
    assert.equal(await store.enroll(enrollInput('t', 'a', iso(exp - 1))), 'ok');
  });

  test('a reusable token enrolls many nodes and counts uses', async (t) => {
    const store = await open(t);
    await store.createToken(token('multi', { maxUses: null }));
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((id) => store.enroll(enrollInput('multi', id))));
    assert.deepEqual(results, ['ok', 'ok', 'ok', 'ok']);
    assert.equal((await store.getToken('multi'))?.uses, 4);
    assert.equal((await store.listNodes()).length, 4);
  });

  test('an enroll that fails half-way (duplicate node id) rolls back the use count', async (t) => {
    const store = await open(t);
    await store.createToken(token('multi', { maxUses: null }));
    assert.equal(await store.enroll(enrollInput('multi', 'a')), 'ok');
    const dup = enrollInput('multi', 'a');
    dup.cert.serial = 'other-serial';
    await assert.rejects(store.enroll(dup), (err: unknown) => err instanceof StoreError && err.code === 'CONFLICT');
    assert.equal((await store.getToken('multi'))?.uses, 1);
    assert.equal(await store.getCert('other-serial'), undefined);
    assert.equal((await store.listEvents({})).length, 1);

    const badPool = enrollInput('multi', 'z');
    badPool.node = node('z', { pool: 'nope' });
    await assert.rejects(
      store.enroll(badPool),
      (err: unknown) => err instanceof StoreError && err.code === 'NOT_FOUND',
    );
    assert.equal((await store.getToken('multi'))?.uses, 1);
  });
}
