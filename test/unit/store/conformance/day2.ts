// Conformance of the day-2 methods (hub/store/day2-types.ts): the version support import with its
// audit event in one transaction, support states as a compare-and-set, and alerts whose first-seen
// time holds while they stay active.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OpenStore } from './open.js';
import type { AlertInput, StoredVersionSupport } from '../../../../hub/store/index.js';

const support: StoredVersionSupport = {
  source: 'kubernetes.io',
  importedAt: '2026-01-01T00:00:00.000Z',
  importedBy: 'admin',
  minors: [
    { minor: '1.9', released: '2017-12-15', endOfMaintenance: '2018-09-01', endOfLife: '2018-09-29' },
    { minor: '1.10', released: '2018-03-26', endOfMaintenance: '2019-01-01', endOfLife: '2019-02-13' },
  ],
};

const alert = (id: string, severity: AlertInput['severity'] = 'warning', message = id): AlertInput => ({
  id,
  severity,
  message,
  link: `#/x/${id}`,
});

export function day2(open: OpenStore): void {
  test('version support: stored with its audit event, read back in minor order, replaced whole, deleted', async (t) => {
    const store = await open(t);
    assert.equal(await store.getVersionSupport(), undefined);
    const ev = await store.setVersionSupport(support, { type: 'versions.imported', actor: 'admin', message: 'in' });
    assert.equal(ev.type, 'versions.imported');
    assert.deepEqual(await store.getVersionSupport(), support, '1.9 before 1.10');
    assert.deepEqual(
      (await store.listEvents({ type: 'versions.imported' })).map((e) => e.id),
      [ev.id],
    );
    const next = { ...support, minors: [support.minors[1]], importedBy: 'op' };
    await store.setVersionSupport(next, { type: 'versions.imported', actor: 'op', message: 'again' });
    assert.deepEqual(await store.getVersionSupport(), next);
    await store.setVersionSupport(null, { type: 'versions.reset', actor: 'op', message: 'reset' });
    assert.equal(await store.getVersionSupport(), undefined);
  });

  test('support states: only changes come back, once; removed scopes are pruned, kept ones stay', async (t) => {
    const store = await open(t);
    const at = '2026-01-01T00:00:00.000Z';
    assert.deepEqual(
      await store.recordSupportStates(
        [
          { scope: 'control-plane', status: 'supported' },
          { scope: 'node:a', status: 'deprecated' },
        ],
        at,
      ),
      [
        { scope: 'control-plane', status: 'supported', previous: null },
        { scope: 'node:a', status: 'deprecated', previous: null },
      ],
    );
    assert.deepEqual(await store.recordSupportStates([{ scope: 'node:a', status: 'deprecated' }], at), []);
    assert.deepEqual(await store.recordSupportStates([{ scope: 'node:a', status: 'end-of-life' }], at), [
      { scope: 'node:a', status: 'end-of-life', previous: 'deprecated' },
    ]);
    // node:b is new, node:a is gone (pruned), control-plane has another prefix and stays.
    await store.recordSupportStates([{ scope: 'node:b', status: 'supported' }], at, { prefix: 'node:', keep: [] });
    assert.deepEqual(await store.recordSupportStates([{ scope: 'node:a', status: 'end-of-life' }], at), [
      { scope: 'node:a', status: 'end-of-life', previous: null },
    ]);
    // A kept scope (a node whose version is not known now) is not pruned.
    await store.recordSupportStates([], at, { prefix: 'node:', keep: ['node:a'] });
    assert.deepEqual(await store.recordSupportStates([{ scope: 'node:a', status: 'end-of-life' }], at), []);
    assert.deepEqual(await store.recordSupportStates([{ scope: 'control-plane', status: 'supported' }], at), []);
  });

  test('alerts: first seen kept while active, updated in place, raised and resolved reported once', async (t) => {
    const store = await open(t);
    const t1 = '2026-01-01T00:00:00.000Z';
    const t2 = '2026-01-01T00:01:00.000Z';
    const t3 = '2026-01-01T00:02:00.000Z';
    const first = await store.syncAlerts([alert('a'), alert('b', 'critical')], t1);
    assert.deepEqual(
      first.raised.map((a) => [a.id, a.since]),
      [
        ['a', t1],
        ['b', t1],
      ],
    );
    assert.deepEqual(first.resolved, []);
    const second = await store.syncAlerts([alert('a', 'critical', 'worse'), alert('c')], t2);
    assert.deepEqual(
      second.raised.map((a) => a.id),
      ['c'],
    );
    assert.deepEqual(
      second.resolved.map((a) => [a.id, a.since]),
      [['b', t1]],
    );
    assert.deepEqual(
      second.active.map((a) => [a.id, a.severity, a.message, a.since]),
      [
        ['a', 'critical', 'worse', t1],
        ['c', 'warning', 'c', t2],
      ],
    );
    const third = await store.syncAlerts([alert('a', 'critical', 'worse'), alert('c'), alert('c')], t3);
    assert.deepEqual([third.raised, third.resolved], [[], []], 'nothing new, a duplicate id counts once');
    assert.deepEqual(
      third.active.map((a) => a.since),
      [t1, t2],
    );
    const cleared = await store.syncAlerts([], t3);
    assert.deepEqual(cleared.resolved.map((a) => a.id).sort(), ['a', 'c']);
    assert.deepEqual(
      (await store.syncAlerts([alert('a')], t3)).raised.map((a) => a.since),
      [t3],
      'a new first-seen time',
    );
  });
}
