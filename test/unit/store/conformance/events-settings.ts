import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OpenStore } from './open.js';
import { type EventRecord } from '../../../../hub/store/index.js';

export function eventsAndSettings(open: OpenStore): void {
  test('appendEvent returns the record with a monotonic id', async (t) => {
    const store = await open(t);
    const a = await store.appendEvent({ type: 'token.created', actor: 'admin', message: 'made', data: { id: 'x' } });
    const b = await store.appendEvent({
      type: 'node.state',
      nodeId: 'n1',
      pool: 'default',
      actor: 'hub',
      message: 'ready',
    });
    assert.ok(b.id > a.id);
    assert.equal(a.nodeId, null);
    assert.equal(a.pool, null);
    assert.deepEqual(a.data, { id: 'x' });
    assert.deepEqual(b.data, {});
    assert.ok(!Number.isNaN(Date.parse(a.at)));
    assert.deepEqual(await store.listEvents({}), [a, b]);
  });

  test('listEvents: cursor, filters, limits', async (t) => {
    const store = await open(t);
    const all: EventRecord[] = [];
    for (let i = 0; i < 30; i++) {
      all.push(
        await store.appendEvent({
          type: i % 3 === 0 ? 'node.joined' : 'node.state',
          nodeId: `n${i % 5}`,
          pool: i % 2 ? 'gpu' : 'default',
          actor: 'hub',
          message: `e${i}`,
        }),
      );
    }
    assert.deepEqual(await store.listEvents({}), all);
    assert.deepEqual(await store.listEvents({ since: all[9].id }), all.slice(10));
    assert.deepEqual(await store.listEvents({ since: all[9].id, limit: 5 }), all.slice(10, 15));
    assert.deepEqual(await store.listEvents({ since: all[29].id }), []);
    assert.deepEqual(
      await store.listEvents({ type: 'node.joined' }),
      all.filter((e) => e.type === 'node.joined'),
    );
    assert.deepEqual(
      await store.listEvents({ nodeId: 'n2' }),
      all.filter((e) => e.nodeId === 'n2'),
    );
    assert.deepEqual(
      await store.listEvents({ pool: 'gpu', type: 'node.state', since: all[4].id }),
      all.filter((e) => e.pool === 'gpu' && e.type === 'node.state' && e.id > all[4].id),
    );
    assert.equal((await store.listEvents({ limit: 0 })).length, 1);
    assert.equal((await store.listEvents({ limit: -4 })).length, 1);
  });

  test('listEvents with before: newest first, pages back from the newest, with filters', async (t) => {
    const store = await open(t);
    const all: EventRecord[] = [];
    for (let i = 0; i < 12; i++)
      all.push(
        await store.appendEvent({ type: i % 2 ? 'a' : 'b', nodeId: `n${i % 3}`, actor: 'hub', message: `e${i}` }),
      );
    const newest = [...all].reverse();
    assert.deepEqual(await store.listEvents({ before: Number.MAX_SAFE_INTEGER, limit: 5 }), newest.slice(0, 5));
    assert.deepEqual(await store.listEvents({ before: newest[4].id, limit: 5 }), newest.slice(5, 10));
    assert.deepEqual(await store.listEvents({ before: newest[9].id, limit: 5 }), newest.slice(10));
    assert.deepEqual(await store.listEvents({ before: all[0].id }), []);
    assert.deepEqual(await store.listEvents({ before: all[10].id, since: all[5].id }), all.slice(6, 10).reverse());
    assert.deepEqual(await store.listEvents({ before: all[11].id, type: 'a', nodeId: 'n1', limit: 1 }), [all[7]]);
  });

  test('listEvents: default limit 100, max 1000', async (t) => {
    const store = await open(t);
    for (let i = 0; i < 1100; i++) await store.appendEvent({ type: 't', actor: 'hub', message: String(i) });
    assert.equal((await store.listEvents({})).length, 100);
    assert.equal((await store.listEvents({ limit: 5000 })).length, 1000);
  });

  test('settings hold JSON values', async (t) => {
    const store = await open(t);
    assert.equal(await store.getSetting('missing'), undefined);
    await store.setSetting('obj', { a: [1, 2], b: null });
    await store.setSetting('str', 'x');
    await store.setSetting('zero', 0);
    await store.setSetting('null', null);
    assert.deepEqual(await store.getSetting('obj'), { a: [1, 2], b: null });
    assert.equal(await store.getSetting('str'), 'x');
    assert.equal(await store.getSetting('zero'), 0);
    assert.equal(await store.getSetting('null'), null);
    await store.setSetting('str', 'y');
    assert.equal(await store.getSetting('str'), 'y');
    await store.setSetting('str', undefined);
    assert.equal(await store.getSetting('str'), undefined);
  });

  test('setSettings writes many keys in one transaction, deleting those set to undefined', async (t) => {
    const store = await open(t);
    await store.setSetting('gone', 1);
    const entries: Array<[string, unknown]> = Array.from({ length: 2000 }, (_, i) => [`k.${i}`, { i }]);
    await store.setSettings([...entries, ['gone', undefined]]);
    assert.deepEqual(await store.getSetting('k.1999'), { i: 1999 });
    assert.equal(await store.getSetting('gone'), undefined);
    await store.setSettings([]);
    // One bad value (it cannot be serialized) and nothing of the batch is written.
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await assert.rejects(
      store.setSettings([
        ['k.a', 1],
        ['k.b', cyclic],
      ]),
    );
    assert.equal(await store.getSetting('k.a'), undefined);
  });
}
