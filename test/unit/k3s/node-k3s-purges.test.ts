// Pending purges of removed nodes are rows of their own: a purge kept, or an agent told, while
// purgePending is busy with the Kubernetes API is neither lost nor overwritten (it used to read the
// whole list, await the API, then write back the stale list).
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteStore } from '../../../hub/store/index.js';
import { createEventLog } from '../../../hub/events.js';
import { createLogger } from '../../../hub/logger.js';
import { NodeK3s } from '../../../hub/k3s/node-k3s.js';
import type { ControlPlane } from '../../../hub/k3s/control-plane.js';
import type { NodeRegistry } from '../../../hub/nodes/registry.js';
import type { ArtifactStore } from '../../../hub/artifacts/artifact-store.js';

test('purgePending keeps a purge remembered meanwhile and honours an agent told meanwhile', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-purge-'));
  const store = await openSqliteStore({ path: join(dir, 'hub.db') });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const logger = createLogger('silent');
  const events = createEventLog(store, logger);
  // The Kubernetes API: deleting node "a" hangs until released, so other work interleaves.
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let blocked!: () => void;
  const reachedA = new Promise<void>((r) => {
    blocked = r;
  });
  const deleted: string[] = [];
  const kube = {
    async deleteNode(name: string) {
      if (name === 'a') {
        blocked();
        await gate;
      }
      deleted.push(name);
    },
    async deleteNodePasswordSecret() {
      /* nothing to delete */
    },
  };
  const controlPlane = {
    client: () => kube,
    nodeTokens: () => ({ remove: async () => undefined }),
  } as unknown as ControlPlane;
  const nk = new NodeK3s({
    controlPlane,
    store,
    registry: {} as NodeRegistry,
    artifacts: {} as ArtifactStore,
    events,
    logger,
    removeDrainTimeoutMs: 1000,
    sealKey: { secret: randomBytes(32), source: 'test' },
  });

  await store.addPendingPurge({ id: 'a', name: 'a', pool: 'default', agentStopped: true });
  await store.addPendingPurge({ id: 'c', name: 'c', pool: 'default', agentStopped: false });
  const run = nk.purgePending();
  await reachedA;
  // Meanwhile: node b is removed while its agent is offline (kept), and c's agent is told to stop.
  await nk.purge({ id: 'b', name: 'b', pool: 'default' }, false);
  await nk.agentTold('c', 3_600_000);
  release();
  await run;

  assert.deepEqual(
    await store.listPendingPurges(),
    [{ id: 'b', name: 'b', pool: 'default', agentStopped: false }],
    'b (kept meanwhile) stays; a and c (agent told meanwhile) are purged',
  );
  assert.deepEqual(deleted.sort(), ['a', 'b', 'c']);
  const purged = (await store.listEvents({ type: 'node.purged' })).map((e) => e.nodeId).sort();
  assert.deepEqual(purged, ['a', 'c']);
});
