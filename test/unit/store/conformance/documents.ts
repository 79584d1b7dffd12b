// The tables that replaced settings documents: API tokens, rollouts (with pruning), k3s per node,
// pending purges, autoheal records and pacing, and updateSetting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OpenStore } from './open.js';
import {
  KEPT_FINISHED_ROLLOUTS,
  StoreError,
  type ApiTokenRecord,
  type RolloutHeader,
} from '../../../../hub/store/index.js';
import { iso } from '../helpers.js';

interface TestRollout extends RolloutHeader {
  version: string;
  nodes: string[];
}

const rollout = (id: string, state: string, createdMs: number): TestRollout => ({
  id,
  kind: 'k3s',
  state,
  createdAt: iso(createdMs),
  updatedAt: iso(createdMs),
  version: 'v1.31.1+k3s1',
  nodes: [`n-${id}`],
});

const apiToken = (id: string): ApiTokenRecord => ({
  id,
  role: 'operator',
  description: `token ${id}`,
  secretHash: 'ab'.repeat(32),
  createdAt: '2030-01-01T00:00:00.000Z',
  createdBy: 'admin',
  revokedAt: null,
});

export function documents(open: OpenStore): void {
  test('API tokens: create, list, revoke keeps the first time, duplicate id is CONFLICT', async (t) => {
    const store = await open(t);
    await store.createApiToken(apiToken('a1'));
    await store.createApiToken(apiToken('a2'));
    await assert.rejects(
      store.createApiToken(apiToken('a1')),
      (e: unknown) => e instanceof StoreError && e.code === 'CONFLICT',
    );
    assert.deepEqual((await store.listApiTokens()).map((x) => x.id).sort(), ['a1', 'a2']);
    const first = await store.revokeApiToken('a1', '2030-01-01T00:00:00.000Z');
    assert.equal(first?.revokedAt, '2030-01-01T00:00:00.000Z');
    assert.equal((await store.revokeApiToken('a1', '2031-01-01T00:00:00.000Z'))?.revokedAt, '2030-01-01T00:00:00.000Z');
    assert.equal(await store.revokeApiToken('nope', iso(Date.now())), undefined);
    assert.deepEqual(
      (await store.listApiTokens()).find((x) => x.id === 'a2'),
      apiToken('a2'),
      'stored as given, untouched by the revocation of a1',
    );
  });

  test('rollouts: saved whole, listed newest first in one call, active ones filtered', async (t) => {
    const store = await open(t);
    const base = Date.parse('2030-01-01T00:00:00Z');
    await store.saveRollout(rollout('r1', 'done', base));
    await store.saveRollout(rollout('r2', 'running', base + 1000));
    await store.saveRollout(rollout('r3', 'halted', base + 2000));
    assert.deepEqual(await store.getRollout<TestRollout>('r2'), rollout('r2', 'running', base + 1000));
    assert.equal(await store.getRollout('nope'), undefined);
    assert.deepEqual(
      (await store.listRollouts()).map((r) => r.id),
      ['r3', 'r2', 'r1'],
    );
    assert.deepEqual(
      (await store.listRollouts({ active: true })).map((r) => r.id),
      ['r2'],
    );
    await store.saveRollout({ ...rollout('r2', 'done', base + 1000), updatedAt: iso(base + 5000) });
    assert.deepEqual(await store.listRollouts({ active: true }), []);
    assert.equal((await store.getRollout<TestRollout>('r2'))?.state, 'done');
  });

  test(`rollouts: finished ones beyond the newest ${KEPT_FINISHED_ROLLOUTS} are pruned, active ones never`, async (t) => {
    const store = await open(t);
    const base = Date.parse('2030-01-01T00:00:00Z');
    await store.saveRollout(rollout('old-active', 'paused', base - 1000));
    for (let i = 0; i < KEPT_FINISHED_ROLLOUTS + 25; i++)
      await store.saveRollout(rollout(`f${String(i).padStart(4, '0')}`, i % 2 ? 'done' : 'cancelled', base + i * 1000));
    const all = await store.listRollouts();
    assert.equal(all.length, KEPT_FINISHED_ROLLOUTS + 1);
    assert.ok(
      all.some((r) => r.id === 'old-active'),
      'an active rollout is kept however old',
    );
    assert.equal(await store.getRollout('f0000'), undefined, 'the oldest finished ones are gone');
    assert.ok(await store.getRollout(`f${String(KEPT_FINISHED_ROLLOUTS + 24).padStart(4, '0')}`));
  });

  test('k3s per node: a token is claimed once, desired versions set, pinned only if unset, listed, deleted', async (t) => {
    const store = await open(t);
    assert.equal(await store.getK3sToken('n1'), undefined);
    assert.deepEqual(await store.claimK3sToken('n1', { id: 'k1', token: 's1' }), { id: 'k1', token: 's1' });
    assert.deepEqual(
      await store.claimK3sToken('n1', { id: 'k2', token: 's2' }),
      { id: 'k1', token: 's1' },
      'the first token stays',
    );
    assert.deepEqual(await store.getK3sToken('n1'), { id: 'k1', token: 's1' });
    assert.equal(await store.getDesiredK3sVersion('n1'), undefined);
    assert.equal(await store.setDesiredK3sVersion('n1', 'v1.30.0+k3s1', true), 'v1.30.0+k3s1');
    assert.equal(
      await store.setDesiredK3sVersion('n1', 'v1.29.0+k3s1', true),
      'v1.30.0+k3s1',
      'a pin keeps a set version',
    );
    assert.equal(await store.setDesiredK3sVersion('n1', 'v1.31.0+k3s1'), 'v1.31.0+k3s1');
    await store.setDesiredK3sVersion('n2', 'v1.30.0+k3s1');
    assert.deepEqual(await store.getK3sToken('n2'), undefined);
    assert.deepEqual(
      await store.claimK3sToken('n2', { id: 'k3', token: 's3' }),
      { id: 'k3', token: 's3' },
      'a version row without a token takes one',
    );
    assert.deepEqual(await store.listDesiredK3sVersions(), [
      { nodeId: 'n1', version: 'v1.31.0+k3s1' },
      { nodeId: 'n2', version: 'v1.30.0+k3s1' },
    ]);
    await store.deleteNodeK3s('n1');
    assert.equal(await store.getK3sToken('n1'), undefined);
    assert.equal(await store.getDesiredK3sVersion('n1'), undefined);
    assert.equal(await store.getDesiredK3sVersion('n2'), 'v1.30.0+k3s1');
  });

  test('pending purges: kept as rows, told, and finished only once the agent stopped', async (t) => {
    const store = await open(t);
    await store.addPendingPurge({ id: 'n1', name: 'one', pool: 'default', agentStopped: false });
    await store.addPendingPurge({ id: 'n2', name: 'two', pool: 'gpu', agentStopped: true });
    assert.equal(await store.finishPendingPurge('n1'), false, 'the agent of n1 may still run its kubelet');
    assert.equal(await store.markPurgeAgentStopped('n1'), true);
    assert.equal(await store.markPurgeAgentStopped('n1'), false, 'told once');
    assert.equal(await store.markPurgeAgentStopped('nope'), false);
    assert.deepEqual(
      (await store.listPendingPurges()).sort((a, b) => a.id.localeCompare(b.id)),
      [
        { id: 'n1', name: 'one', pool: 'default', agentStopped: true },
        { id: 'n2', name: 'two', pool: 'gpu', agentStopped: true },
      ],
    );
    assert.equal(await store.finishPendingPurge('n1'), true);
    assert.deepEqual(
      (await store.listPendingPurges()).map((p) => p.id),
      ['n2'],
    );
    await store.addPendingPurge({ id: 'n2', name: 'two-again', pool: 'gpu', agentStopped: false });
    assert.deepEqual(await store.listPendingPurges(), [
      { id: 'n2', name: 'two-again', pool: 'gpu', agentStopped: false },
    ]);
  });

  test('autoheal: records saved in one call (undefined deletes), pacing defaults, is set and widened up to a cap', async (t) => {
    const store = await open(t);
    assert.equal(await store.getAutohealRecord('n1'), undefined);
    await store.saveAutohealRecords([
      ['n1', { step: 1, flips: ['a'] }],
      ['n2', { step: 2 }],
    ]);
    assert.deepEqual(await store.getAutohealRecord('n1'), { step: 1, flips: ['a'] });
    await store.saveAutohealRecords([
      ['n1', undefined],
      ['n2', { step: 3 }],
    ]);
    assert.equal(await store.getAutohealRecord('n1'), undefined);
    assert.deepEqual(await store.getAutohealRecord('n2'), { step: 3 });
    await store.saveAutohealRecords([]);
    assert.deepEqual(await store.getAutohealPacing('p'), { width: 1, cooldownUntil: 0 });
    assert.deepEqual(await store.widenAutohealPacing('p', 64), { width: 2, cooldownUntil: 0 });
    await store.setAutohealPacing('p', { width: 1, cooldownUntil: 12345 });
    assert.deepEqual(
      await store.widenAutohealPacing('p', 64),
      { width: 2, cooldownUntil: 12345 },
      'widening keeps the cooldown',
    );
    for (let i = 0; i < 10; i++) await store.widenAutohealPacing('p', 8);
    assert.deepEqual(await store.getAutohealPacing('p'), { width: 8, cooldownUntil: 12345 });
  });

  test('set reads: settings, autoheal records and k3s rows of many nodes in one call each', async (t) => {
    const store = await open(t);
    const ids = Array.from({ length: 3000 }, (_, i) => `n${i}`);
    await store.setSettings(ids.map((id, i) => [`autoheal.node.${id}.switch`, { enabled: i % 2 === 0 }]));
    const switches = await store.getSettings<{ enabled: boolean }>([
      ...ids.map((id) => `autoheal.node.${id}.switch`),
      'gone',
    ]);
    assert.equal(switches.size, 3000, 'absent keys are left out');
    assert.deepEqual(switches.get('autoheal.node.n7.switch'), { enabled: false });
    assert.deepEqual(await store.getSettings([]), new Map());

    await store.saveAutohealRecords(ids.slice(0, 10).map((id, i) => [id, { step: i }]));
    const recs = await store.getAutohealRecords<{ step: number }>(ids);
    assert.deepEqual([...recs.keys()].sort(), ids.slice(0, 10).sort());
    assert.deepEqual(recs.get('n9'), { step: 9 });
    assert.deepEqual(await store.getAutohealRecords([]), new Map());

    await store.claimK3sToken('a', { id: 'ka', token: 'sa' });
    await store.setDesiredK3sVersion('a', 'v1.31.0+k3s1');
    await store.setDesiredK3sVersion('b', 'v1.30.0+k3s1');
    await store.claimK3sToken('c', { id: 'kc', token: 'sc' });
    assert.deepEqual(await store.listNodeK3s(), [
      { nodeId: 'a', token: { id: 'ka', token: 'sa' }, desiredVersion: 'v1.31.0+k3s1' },
      { nodeId: 'b', token: null, desiredVersion: 'v1.30.0+k3s1' },
      { nodeId: 'c', token: { id: 'kc', token: 'sc' }, desiredVersion: null },
    ]);
  });

  test('updateSetting: a read-modify-write in one step; a throwing update changes nothing', async (t) => {
    const store = await open(t);
    assert.deepEqual(await store.updateSetting<{ n: number }>('c', (cur) => ({ n: (cur?.n ?? 0) + 1 })), { n: 1 });
    assert.deepEqual(await store.updateSetting<{ n: number }>('c', (cur) => ({ n: (cur?.n ?? 0) + 1 })), { n: 2 });
    await assert.rejects(
      store.updateSetting('c', () => {
        throw new Error('invalid');
      }),
      /invalid/,
    );
    assert.deepEqual(await store.getSetting('c'), { n: 2 });
    assert.equal(await store.updateSetting('c', () => undefined), undefined);
    assert.equal(await store.getSetting('c'), undefined);
  });
}
