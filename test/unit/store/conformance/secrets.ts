// Sealed secrets (SecretStore): bytes in, the same bytes out, and the first writer wins, so hubs that
// start at once all end up with the first one's CA.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { OpenStore } from './open.js';

export function secrets(open: OpenStore): void {
  test('secrets: absent is undefined; stored bytes come back exactly (binary, NUL and high bytes)', async (t) => {
    const store = await open(t);
    assert.equal(await store.getSecret('ca'), undefined);
    const blob = Buffer.concat([Buffer.from([0, 255, 0, 128]), randomBytes(4096)]);
    const stored = await store.putSecretIfAbsent('ca', blob);
    assert.deepEqual(stored, blob);
    assert.deepEqual(await store.getSecret('ca'), blob);
    assert.equal(await store.getSecret('serving-key'), undefined, 'names are separate');
  });

  test('secrets: putSecretIfAbsent keeps the first value and returns it to the second caller', async (t) => {
    const store = await open(t);
    const first = randomBytes(64);
    const second = randomBytes(64);
    assert.deepEqual(await store.putSecretIfAbsent('tls-ticket-keys', first), first);
    assert.deepEqual(await store.putSecretIfAbsent('tls-ticket-keys', second), first);
    assert.deepEqual(await store.getSecret('tls-ticket-keys'), first);
  });

  test('secrets: 20 concurrent putSecretIfAbsent calls all get the one value that is stored', async (t) => {
    const store = await open(t);
    const values = Array.from({ length: 20 }, () => randomBytes(32));
    const results = await Promise.all(values.map((v) => store.putSecretIfAbsent('k3s-server-token', v)));
    const stored = await store.getSecret('k3s-server-token');
    assert.ok(stored && values.some((v) => v.equals(stored)), 'one of the values written');
    for (const r of results) assert.deepEqual(r, stored);
  });

  test('secrets: replaceSecret overwrites what is stored (a rotation), and stores when nothing is', async (t) => {
    const store = await open(t);
    const first = randomBytes(48);
    const second = randomBytes(48);
    await store.replaceSecret('admin-token', first);
    assert.deepEqual(await store.getSecret('admin-token'), first);
    assert.deepEqual(await store.putSecretIfAbsent('admin-token', randomBytes(48)), first, 'still first-writer-wins');
    await store.replaceSecret('admin-token', second);
    assert.deepEqual(await store.getSecret('admin-token'), second);
    assert.equal(await store.getSecret('ca'), undefined, 'names are separate');
  });

  test('replaceK3sTokenSecret: a compare-and-set on the token secret only', async (t) => {
    const store = await open(t);
    assert.equal(await store.replaceK3sTokenSecret('n1', 'a', 'b'), false, 'no such node');
    await store.claimK3sToken('n1', { id: 'abcdef', token: 'K10::abcdef.plain' });
    await store.setDesiredK3sVersion('n1', 'v1.31.1+k3s1');
    assert.equal(await store.replaceK3sTokenSecret('n1', 'not-it', 'sealed:x'), false);
    assert.deepEqual(await store.getK3sToken('n1'), { id: 'abcdef', token: 'K10::abcdef.plain' });
    assert.equal(await store.replaceK3sTokenSecret('n1', 'K10::abcdef.plain', 'sealed:x'), true);
    assert.deepEqual(await store.getK3sToken('n1'), { id: 'abcdef', token: 'sealed:x' });
    assert.equal(await store.getDesiredK3sVersion('n1'), 'v1.31.1+k3s1', 'the version is untouched');
    assert.equal(await store.replaceK3sTokenSecret('n1', 'K10::abcdef.plain', 'sealed:y'), false, 'once');
  });
}
