// The support watch on a fake date, over a real SQLite store: one notice per change (the control
// plane's; the nodes' grouped per minor), none for a first sight of a supported version, none
// repeated, a node's own notice when it alone changes (upgraded), and a new import taking effect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSqliteStore } from '../../../hub/store/index.js';
import { createEventLog } from '../../../hub/events.js';
import { createLogger } from '../../../hub/logger.js';
import type { NodeRegistry, KubeView } from '../../../hub/nodes/registry.js';
import { VersionSupportService } from '../../../hub/versions/support-service.js';
import { SupportWatch } from '../../../hub/versions/support-watch.js';
import { enrollInput, tempDir, token } from '../store/helpers.js';
import { health } from './autoheal-harness.js';

test('version.support notices: on change only, nodes grouped per minor, a node alone when it alone changes', async (t) => {
  const store = await openSqliteStore({ path: join(tempDir(t), 'hub.db') });
  t.after(() => store.close());
  const logger = createLogger('silent');
  const events = createEventLog(store, logger);
  const date = { now: Date.parse('2025-06-01T00:00:00Z') };
  const kube = new Map<string, Partial<KubeView>>();
  const support = new VersionSupportService({ store, events, now: () => date.now });
  await support.load();
  const watch = new SupportWatch({
    support,
    store,
    events,
    registry: { kubeView: (id: string) => kube.get(id) } as unknown as NodeRegistry,
    controlPlaneVersion: () => 'v1.31.4+k3s1',
    logger,
    intervalMs: 3_600_000,
    now: () => date.now,
  });
  t.after(() => watch.stop());
  for (const id of ['a', 'b', 'c', 'd']) {
    await store.createToken(token(`t-${id}`));
    assert.equal(await store.enroll(enrollInput(`t-${id}`, id)), 'ok');
    // d has no k3s version known (no report yet).
    if (id !== 'd') await store.updateNode(id, { health: health() });
  }
  const notices = async () => store.listEvents({ type: 'version.support', limit: 1000 });

  // 1.31 supported: nothing to say.
  await watch.tick();
  assert.deepEqual(await notices(), []);
  assert.deepEqual(watch.daysLeft(), { controlPlane: 149, node: 149 });

  // Within 60 days of 2025-10-28: one notice for the control plane, one for the three nodes.
  date.now = Date.parse('2025-09-01T00:00:00Z');
  await watch.tick();
  await watch.tick();
  const dep = await notices();
  assert.equal(dep.length, 2, JSON.stringify(dep.map((e) => e.message)));
  assert.match(
    dep[0].message,
    /^control plane k3s v1\.31\.4\+k3s1: supported -> deprecated: k3s 1\.31 reaches end of life on 2025-10-28 \(in 57 days\)/,
  );
  assert.match(dep[1].message, /^3 nodes on k3s 1\.31 \(node-a, node-b, node-c\): supported -> deprecated/);
  assert.deepEqual(dep[1].data.nodes, ['a', 'b', 'c']);
  assert.equal(dep[1].nodeId, null);

  // c is upgraded to 1.32 (its kubelet says so): a notice for c alone.
  kube.set('c', { kubeletVersion: 'v1.32.1+k3s1' });
  await watch.tick();
  const up = (await notices()).slice(2);
  assert.equal(up.length, 1);
  assert.equal(up[0].nodeId, 'c');
  assert.match(up[0].message, /^node node-c \(k3s v1\.32\.1\+k3s1\): deprecated -> supported/);

  // 2025-10-28: end of life for the control plane, a and b.
  date.now = Date.parse('2025-10-28T08:00:00Z');
  await watch.tick();
  const eol = (await notices()).slice(3);
  assert.deepEqual(
    eol.map((e) => [e.data.scope, e.data.from, e.data.to, e.data.count ?? null]),
    [
      ['control-plane', 'deprecated', 'end-of-life', null],
      ['node', 'deprecated', 'end-of-life', 2],
    ],
  );
  assert.deepEqual(watch.daysLeft(), { controlPlane: 0, node: 0 });
  assert.deepEqual(
    watch.nodeGroups().map((g) => [g.minor, g.status, g.count]),
    [
      ['1.31', 'end-of-life', 2],
      ['1.32', 'supported', 1],
    ],
  );

  // New data that extends 1.31 takes effect at once (the import wakes the watch).
  await support.import(
    {
      source: 'extended support',
      minors: [{ minor: '1.31', released: '2024-08-13', endOfMaintenance: '2026-08-28', endOfLife: '2026-10-28' }],
    },
    'admin',
  );
  await watch.tick();
  const back = (await notices()).slice(5);
  assert.deepEqual(
    back.map((e) => [e.data.scope, e.data.to]),
    [
      ['control-plane', 'supported'],
      ['node', 'supported'],
    ],
  );
  assert.equal((await store.listEvents({ type: 'versions.imported' })).length, 1);
});
