// When the control plane comes up every connected agent gets its k3s assignment: the nodes, their k3s
// rows (token, version) and the pools are read in one query each, not four queries per node; a node
// without a version or token yet still gets one pinned and made.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteStore, type Store } from '../../../hub/store/index.js';
import { createEventLog } from '../../../hub/events.js';
import { createLogger } from '../../../hub/logger.js';
import { NodeK3s } from '../../../hub/k3s/node-k3s.js';
import type { ControlPlane } from '../../../hub/k3s/control-plane.js';
import type { AgentLink, NodeRegistry } from '../../../hub/nodes/registry.js';
import type { ArtifactStore } from '../../../hub/artifacts/artifact-store.js';
import type { K3sAssignment } from '../../../proto/index.js';
import { enrollInput, pool, token } from '../store/helpers.js';

function count(store: Store, names: Array<keyof Store>): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const name of names) {
    const original = (store[name] as (...a: unknown[]) => unknown).bind(store);
    calls[name] = 0;
    Object.defineProperty(store, name, {
      configurable: true,
      value: (...args: unknown[]) => {
        calls[name]++;
        return original(...args);
      },
    });
  }
  return calls;
}

test('assignAll over 40 connected agents: three set queries, every agent its own assignment', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-assign-'));
  const store = await openSqliteStore({ path: join(dir, 'hub.db') });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await store.createPool(pool('gpu', { labels: { accel: 'gpu' }, taints: ['gpu=true:NoSchedule'] }));
  await store.createToken(token('tok', { maxUses: null, pool: 'gpu' }));
  const sent = new Map<string, K3sAssignment>();
  const links: AgentLink[] = [];
  for (let i = 0; i < 40; i++) {
    const id = `n${i}`;
    const input = enrollInput('tok', id);
    input.node.pool = 'gpu';
    assert.equal(await store.enroll(input), 'ok');
    // All but the last were assigned before: a token and a version are stored.
    if (i < 39) {
      await store.claimK3sToken(id, { id: `k-${id}`, token: `secret-${id}` });
      await store.setDesiredK3sVersion(id, i % 2 ? 'v1.31.4+k3s1' : 'v1.30.8+k3s1');
    }
    links.push({
      nodeId: id,
      k3sMode: 'auto',
      remoteAddress: '203.0.113.7',
      assignK3s: (a: K3sAssignment) => sent.set(id, a),
    } as unknown as AgentLink);
  }
  const made: string[] = [];
  const controlPlane = {
    running: () => true,
    version: () => 'v1.31.4+k3s1',
    serverUrl: () => 'https://hub.example:6443',
    nodeTokens: () => ({
      create: async (nodeId: string) => {
        made.push(nodeId);
        return { id: `new-${nodeId}`, token: `new-secret-${nodeId}` };
      },
      remove: async () => undefined,
    }),
  } as unknown as ControlPlane;
  const artifacts = {
    getK3s: (version: string, arch: string) => ({ urlPath: `/k3s/${version}/${arch}`, sha256: 'ab'.repeat(32) }),
  } as unknown as ArtifactStore;
  const logger = createLogger('silent');
  const nk = new NodeK3s({
    controlPlane,
    store,
    registry: { links: () => links } as unknown as NodeRegistry,
    artifacts,
    events: createEventLog(store, logger),
    logger,
    removeDrainTimeoutMs: 1000,
    sealKey: { secret: randomBytes(32), source: 'test' },
  });

  const calls = count(store, [
    'getNode',
    'getK3sToken',
    'getDesiredK3sVersion',
    'getPool',
    'listNodes',
    'listNodeK3s',
    'listPools',
  ]);
  await nk.assignAll();
  assert.deepEqual(calls, {
    getNode: 0,
    getK3sToken: 0,
    getDesiredK3sVersion: 0,
    getPool: 0,
    listNodes: 1,
    listNodeK3s: 1,
    listPools: 1,
  });
  assert.equal(sent.size, 40);
  const n3 = sent.get('n3')!;
  assert.equal(n3.token, 'secret-n3');
  assert.equal(n3.version, 'v1.31.4+k3s1');
  assert.equal(sent.get('n4')!.version, 'v1.30.8+k3s1', 'each node its own pinned version');
  assert.equal(n3.labels?.accel, 'gpu');
  assert.deepEqual(n3.taints, ['gpu=true:NoSchedule']);
  assert.equal(n3.nodeExternalIp, '203.0.113.7');
  assert.deepEqual(made, ['n39'], 'only the node without a token gets one made');
  assert.equal(sent.get('n39')!.token, 'new-secret-n39');
  assert.equal(sent.get('n39')!.version, 'v1.31.4+k3s1', 'pinned to the control plane version');
  // Stored sealed with the cluster secret: the database never holds the token itself.
  const stored = await store.getK3sToken('n39');
  assert.equal(stored?.id, 'new-n39');
  assert.match(stored?.token ?? '', /^sealed:/);
  assert.ok(!stored?.token.includes('new-secret-n39'));
});
