// Upgrade refusals, version moves and maintenance windows (pure functions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preflightChecks, type CheckInput } from '../../../hub/upgrades/checks.js';
import { classifyMove } from '../../../hub/upgrades/versions.js';
import { windowOpen } from '../../../hub/upgrades/window.js';

const base = (over: Partial<CheckInput> = {}): CheckInput => ({
  target: 'v1.31.5+k3s1',
  controlPlaneVersion: 'v1.31.4+k3s1',
  controlPlaneFirst: false,
  nodes: [
    { id: 'a', name: 'a', pool: 'p', arch: 'amd64', version: 'v1.31.4+k3s1', unhealthy: false },
    { id: 'b', name: 'b', pool: 'p', arch: 'amd64', version: 'v1.31.4+k3s1', unhealthy: false },
  ],
  artifactArches: new Set(['amd64']),
  poolCaps: new Map([['p', 40]]),
  ...over,
});
const codes = (i: CheckInput): string[] => preflightChecks(i).map((r) => r.code);

test('version moves', () => {
  assert.equal(classifyMove('v1.31.4+k3s1', 'v1.31.4+k3s1'), 'same');
  assert.equal(classifyMove('v1.31.4+k3s1', 'v1.31.4+k3s2'), 'patch');
  assert.equal(classifyMove('v1.31.4+k3s1', 'v1.31.10+k3s1'), 'patch');
  assert.equal(classifyMove('v1.31.4+k3s1', 'v1.32.0+k3s1'), 'minor');
  assert.equal(classifyMove('v1.31.4+k3s1', 'v1.33.0+k3s1'), 'minor-skip');
  assert.equal(classifyMove('v1.31.4+k3s1', 'v1.31.3+k3s1'), 'downgrade');
  assert.equal(classifyMove('v1.31.4+k3s1', 'v1.31.4-rc1+k3s1'), 'downgrade');
});

test('each refusal has its own reason; a safe patch passes', () => {
  assert.deepEqual(codes(base()), []);
  assert.deepEqual(codes(base({ target: 'v1.31.3+k3s1' })), ['DOWNGRADE']);
  assert.deepEqual(codes(base({ target: 'v1.33.0+k3s1', controlPlaneVersion: 'v1.31.4+k3s1' })).sort(), [
    'KUBELET_NEWER_THAN_APISERVER',
    'MINOR_SKIP',
  ]);
  assert.deepEqual(codes(base({ target: 'v1.32.0+k3s1', artifactArches: new Set(['amd64']) })), [
    'KUBELET_NEWER_THAN_APISERVER',
  ]);
  assert.deepEqual(codes(base({ target: 'v1.32.0+k3s1', controlPlaneFirst: true })), []);
  assert.deepEqual(codes(base({ artifactArches: new Set(['arm64']) })), ['ARTIFACT_MISSING']);
  const sick = base();
  sick.nodes[0].unhealthy = true;
  assert.deepEqual(codes(sick), ['POOL_OVER_AUTOHEAL_CAP']);
  assert.deepEqual(codes(base({ poolCaps: new Map([['p', 50]]), nodes: sick.nodes })), []);
  // A node already ahead of the control plane: the target would be a downgrade for it.
  const ahead = base();
  ahead.nodes[1].version = 'v1.31.6+k3s1';
  assert.deepEqual(codes(ahead), ['DOWNGRADE']);
  assert.deepEqual(codes(base({ controlPlaneVersion: null })), ['NO_CONTROL_PLANE']);
});

test('maintenance windows: day, start hour, length, time zone, across midnight and Sunday', () => {
  const at = (iso: string): Date => new Date(iso);
  // 2024-06-02 is a Sunday.
  assert.equal(
    windowOpen({ day: 'sun', startHour: 3, durationHours: 2, timeZone: 'UTC' }, at('2024-06-02T03:30:00Z')),
    true,
  );
  assert.equal(
    windowOpen({ day: 'sun', startHour: 3, durationHours: 2, timeZone: 'UTC' }, at('2024-06-02T05:00:00Z')),
    false,
  );
  assert.equal(
    windowOpen({ day: 'sun', startHour: 3, durationHours: 2, timeZone: 'UTC' }, at('2024-06-03T03:30:00Z')),
    false,
  );
  assert.equal(
    windowOpen({ day: 'sun', startHour: 23, durationHours: 2, timeZone: 'UTC' }, at('2024-06-03T00:30:00Z')),
    true,
  );
  assert.equal(
    windowOpen({ day: 'any', startHour: 22, durationHours: 4, timeZone: 'UTC' }, at('2024-06-05T01:00:00Z')),
    true,
  );
  assert.equal(
    windowOpen({ day: 'any', startHour: 22, durationHours: 4, timeZone: 'UTC' }, at('2024-06-05T02:00:00Z')),
    false,
  );
  // 03:30 in Paris (UTC+2 in June) is 01:30 UTC.
  assert.equal(
    windowOpen({ day: 'sun', startHour: 3, durationHours: 1, timeZone: 'Europe/Paris' }, at('2024-06-02T01:30:00Z')),
    true,
  );
  assert.equal(
    windowOpen({ day: 'sun', startHour: 3, durationHours: 1, timeZone: 'Europe/Paris' }, at('2024-06-02T03:30:00Z')),
    false,
  );
});
