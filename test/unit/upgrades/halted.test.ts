// What resume, retry and dismiss do to a stored halted rollout (pure; the engine runs it again).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyHaltedAction } from '../../../hub/upgrades/halted.js';
import { HubError } from '../../../hub/errors.js';
import type { NodePhase, NodeProgress, Rollout } from '../../../hub/upgrades/rollout-state.js';

const AT = '2030-01-01T00:00:00.000Z';
const node = (name: string, phase: NodePhase): NodeProgress => ({
  id: `id-${name}`,
  name,
  pool: 'default',
  from: 'v1.31.4+k3s1',
  phase,
  startedAt: phase === 'pending' ? null : '2029-12-31T23:00:00.000Z',
  finishedAt: ['done', 'upgrade-failed'].includes(phase) ? '2029-12-31T23:05:00.000Z' : null,
  message: phase,
  cordoned: false,
  swapped: phase !== 'pending',
});
const halted = (nodes: NodeProgress[], cpPhase?: 'upgrade-failed' | 'done'): Rollout => ({
  id: 'upg-1',
  kind: 'k3s',
  version: 'v1.31.5+k3s1',
  pools: null,
  maxUnavailable: 1,
  drain: { timeoutMs: 1000, ignoreDaemonSets: true, deleteEmptyDirData: true, force: false },
  dwellMs: 1000,
  verifyTimeoutMs: 5000,
  window: 'now',
  state: 'halted',
  message: 'halted: a failed',
  actor: 'admin',
  createdAt: AT,
  updatedAt: AT,
  finishedAt: '2029-12-31T23:05:00.000Z',
  controlPlane: cpPhase
    ? { from: 'v1.31.4+k3s1', phase: cpPhase, startedAt: AT, finishedAt: AT, message: cpPhase }
    : null,
  nodes,
});
const conflict =
  (re: RegExp) =>
  (e: unknown): boolean =>
    e instanceof HubError && e.code === 'CONFLICT' && re.test(e.message);

test('retry: the failed node starts over from pending, the rollout runs again (paused until the engine picks it up)', () => {
  const r = halted([node('a', 'done'), node('b', 'upgrade-failed'), node('c', 'pending')]);
  const note = applyHaltedAction(r, 'retry', 'admin', AT);
  assert.deepEqual([note.type, note.run], ['upgrade.retry', true]);
  assert.deepEqual(
    r.nodes.map((n) => n.phase),
    ['done', 'pending', 'pending'],
  );
  assert.deepEqual([r.nodes[1].startedAt, r.nodes[1].finishedAt, r.nodes[1].swapped], [null, null, false]);
  assert.deepEqual([r.state, r.finishedAt], ['paused', null]);
  assert.match(r.message, /retrying b by admin/);
});

test('resume: the failed node stays failed, the others go on from their stored step', () => {
  const r = halted([node('a', 'upgrade-failed'), node('b', 'drain'), node('c', 'pending')]);
  const note = applyHaltedAction(r, 'resume', 'ops', AT);
  assert.deepEqual([note.type, note.run], ['upgrade.resume', true]);
  assert.deepEqual(
    r.nodes.map((n) => n.phase),
    ['upgrade-failed', 'drain', 'pending'],
  );
  assert.equal(r.state, 'paused');
  assert.match(r.message, /resumed without a by ops/);
});

test('a failed control plane: retry starts it over, resume is refused (no node may pass it)', () => {
  const r = halted([node('a', 'pending')], 'upgrade-failed');
  assert.throws(() => applyHaltedAction(r, 'resume', 'admin', AT), conflict(/control plane upgrade failed/));
  assert.equal(r.state, 'halted', 'a refusal changes nothing');
  applyHaltedAction(r, 'retry', 'admin', AT);
  assert.deepEqual([r.controlPlane?.phase, r.controlPlane?.startedAt, r.state], ['pending', null, 'paused']);
});

test('dismiss: stays halted, marked dismissed once; resume clears the mark', () => {
  const r = halted([node('a', 'upgrade-failed')]);
  const note = applyHaltedAction(r, 'dismiss', 'admin', AT);
  assert.deepEqual(
    [note.type, note.run, r.state, r.dismissedAt, r.dismissedBy],
    ['upgrade.dismiss', false, 'halted', AT, 'admin'],
  );
  assert.throws(() => applyHaltedAction(r, 'dismiss', 'admin', AT), conflict(/already dismissed by admin/));
  applyHaltedAction(r, 'resume', 'admin', AT);
  assert.deepEqual([r.state, r.dismissedAt, r.dismissedBy], ['paused', null, undefined]);
});

test('refused: anything but a halted rollout, and a retry with nothing failed', () => {
  for (const state of ['running', 'done', 'cancelled', 'paused'] as const) {
    const r = { ...halted([node('a', 'done')]), state };
    for (const action of ['resume', 'retry', 'dismiss'] as const)
      assert.throws(() => applyHaltedAction(r, action, 'admin', AT), conflict(new RegExp(`is ${state}`)));
  }
  assert.throws(
    () => applyHaltedAction(halted([node('a', 'verify')]), 'retry', 'admin', AT),
    conflict(/nothing failed to retry; resume it/),
  );
});
