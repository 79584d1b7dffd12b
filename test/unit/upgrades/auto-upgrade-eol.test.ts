// Auto-upgrade and the end of life, on the engine's fake clock (2030-01-01, when every bundled minor
// up to 1.37 is past its end of life): a cluster on 1.31 gets a notice first, then in its window
// moves to 1.32's newest artifact (not 1.33); a supported one stays on patch releases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FROM, upgradeHarness } from './engine-harness.js';
import type { UpgradeEngineDeps } from '../../../hub/upgrades/engine.js';
import { BUNDLED_SUPPORT } from '../../../hub/versions/support-data.js';
import { supportOf } from '../../../hub/versions/support-status.js';

const VERSIONS = ['v1.31.5+k3s1', 'v1.32.1+k3s1', 'v1.32.3+k3s1', 'v1.33.0+k3s1'];
const artifacts = {
  getK3s: (version: string, arch: string) =>
    VERSIONS.includes(version) ? { version, arch, sha256: 'x', size: 1 } : undefined,
  listK3s: () => VERSIONS.map((version) => ({ version, arch: 'amd64', sha256: 'x', size: 1 })),
  agents: { get: () => undefined, list: () => [] },
} as unknown as UpgradeEngineDeps['artifacts'];
// The window: every day 01:00-02:00 UTC; the fake clock starts at 00:00.
const WINDOW = { day: 'any' as const, startHour: 1, durationHours: 1, timeZone: 'UTC' };

test('past its end of life: a notice while the window is closed, then the next minor, newest artifact, in the window', async (t) => {
  const clock: { now?: () => number } = {};
  const h = await upgradeHarness(t, {
    artifacts,
    versionSupport: (v) => supportOf(BUNDLED_SUPPORT.minors, v, clock.now!()),
  });
  clock.now = h.clock.now;
  await h.node('a');
  await h.engine.policy.set({ enabled: true, scope: 'patch', window: WINDOW });

  // 00:00, the window closed: no rollout, one notice that says what will happen and when.
  assert.equal(await h.engine.autoTick(), undefined);
  assert.equal(await h.engine.autoTick(), undefined);
  const notices = await h.list('upgrade.eol-planned');
  assert.equal(notices.length, 1, 'one notice, not one per tick');
  assert.match(
    notices[0].message,
    /k3s 1\.31 of the control plane \(v1\.31\.4\+k3s1\) is past its end of life \(2025-10-28\)/,
  );
  assert.match(
    notices[0].message,
    /moves the cluster to v1\.32\.3\+k3s1 .* in the next maintenance window \(every day 01:00/,
  );
  assert.deepEqual(await h.engine.list(), []);

  // 01:00, the window open: a rollout to 1.32's newest (never 1.33), after the notice.
  h.clock.advance(3_600_000);
  const r = await h.engine.autoTick();
  assert.ok(r, 'a rollout started');
  assert.equal(r.version, 'v1.32.3+k3s1');
  assert.equal(r.actor, 'auto-upgrade');
  const started = await h.list('upgrade.started');
  assert.ok(started[0].id > notices[0].id, 'the notice came first');
  assert.equal((await h.list('upgrade.eol-planned')).length, 1);
  const done = await h.settle(r.id);
  assert.equal(done.state, 'done', done.message);
  assert.equal(h.cluster.cpVersion, 'v1.32.3+k3s1');
});

test('past its end of life with no artifact of the next minor: a notice saying so, and patch releases only', async (t) => {
  const clock: { now?: () => number } = {};
  const only = ['v1.31.5+k3s1', 'v1.33.0+k3s1'];
  const h = await upgradeHarness(t, {
    artifacts: {
      getK3s: (version: string, arch: string) =>
        only.includes(version) ? { version, arch, sha256: 'x', size: 1 } : undefined,
      listK3s: () => only.map((version) => ({ version, arch: 'amd64', sha256: 'x', size: 1 })),
      agents: { get: () => undefined, list: () => [] },
    } as unknown as UpgradeEngineDeps['artifacts'],
    versionSupport: (v) => supportOf(BUNDLED_SUPPORT.minors, v, clock.now!()),
  });
  clock.now = h.clock.now;
  await h.node('a');
  await h.engine.policy.set({ enabled: true, scope: 'patch', window: WINDOW });
  h.clock.advance(3_600_000);
  const r = await h.engine.autoTick();
  const blocked = await h.list('upgrade.eol-blocked');
  assert.equal(blocked.length, 1);
  assert.match(blocked[0].message, /no k3s artifact of v1\.32 is imported/);
  assert.equal(r?.version, 'v1.31.5+k3s1', 'the patch release, never a skip to 1.33');
  await h.settle(r.id);
});

test('a supported version: auto-upgrade stays on patch releases, and writes no notice', async (t) => {
  const h = await upgradeHarness(t, {
    artifacts,
    // As on 2025-01-01, when 1.31 was supported.
    versionSupport: (v) => supportOf(BUNDLED_SUPPORT.minors, v, Date.parse('2025-01-01T00:00:00Z')),
  });
  await h.node('a');
  await h.engine.policy.set({ enabled: true, scope: 'patch', window: WINDOW });
  assert.equal(await h.engine.autoTick(), undefined, 'closed window');
  h.clock.advance(3_600_000);
  const r = await h.engine.autoTick();
  assert.equal(r?.version, 'v1.31.5+k3s1');
  assert.equal(FROM, 'v1.31.4+k3s1');
  assert.deepEqual(await h.list('upgrade.eol-planned'), []);
  await h.settle(r.id);
});
