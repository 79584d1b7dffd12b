// One version order for the agent bundles, the Node.js runtimes and k3s (hub/versions/compare.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareK3sVersions, compareVersions } from '../../../hub/versions/compare.js';

test('x.y.z versions order numerically, a prerelease before its release', () => {
  const sorted = ['0.10.0', '0.1.1', '0.1.1-rc1', '0.1.0', '0.2.0-rc2', '0.2.0-rc10', '0.2.0'].sort(compareVersions);
  assert.deepEqual(sorted, ['0.1.0', '0.1.1-rc1', '0.1.1', '0.2.0-rc10', '0.2.0-rc2', '0.2.0', '0.10.0']);
  assert.equal(compareVersions('20.19.1', '20.19.1'), 0);
  assert.ok(compareVersions('22.1.0', '20.19.5') > 0, 'Node 22 is newer than Node 20');
});

test('k3s versions order by x.y.z, then release candidates before the release, then the k3s build', () => {
  const sorted = [
    'v1.30.10+k3s1',
    'v1.30.2+k3s1',
    'v1.29.1-rc2+k3s1',
    'v1.30.10+k3s2',
    'v1.29.1+k3s1',
    'v1.29.1-rc1+k3s1',
  ].sort(compareK3sVersions);
  assert.deepEqual(sorted, [
    'v1.29.1-rc1+k3s1',
    'v1.29.1-rc2+k3s1',
    'v1.29.1+k3s1',
    'v1.30.2+k3s1',
    'v1.30.10+k3s1',
    'v1.30.10+k3s2',
  ]);
  assert.equal(compareK3sVersions('v1.31.4+k3s1', 'v1.31.4+k3s1'), 0);
});
