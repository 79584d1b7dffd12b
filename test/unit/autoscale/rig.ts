// A test rig for the autoscale engine: a real SQLite store and event log, a real provider hook (a
// shell script that counts its calls; its create fails while <dir>/create-fails exists, its delete
// while <dir>/delete-fails does) and a fake
// Kubernetes API (the objects it lists), with a clock the test moves.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openSqliteStore } from '../../../hub/store/index.js';
import type { Store } from '../../../hub/store/types.js';
import { createEventLog } from '../../../hub/events.js';
import { createLogger } from '../../../hub/logger.js';
import { AutohealSettings } from '../../../hub/autoheal/settings.js';
import { AutoscaleEngine } from '../../../hub/autoscale/engine.js';
import type { AutoscaleDeps } from '../../../hub/autoscale/deps.js';
import { DEFAULT_POOL_AUTOSCALE } from '../../../hub/store/pool-sizes.js';
import { enrollInput, pool, tempDir, token } from '../store/helpers.js';

export interface Rig {
  guard: { frozen: boolean; reason: string; since: string | null };
  kubeNodes: unknown[];
  calls: string[];
  store: Store;
  dir: string;
  pods: unknown[];
  engine: () => AutoscaleEngine;
  creates: () => number;
  now: { ms: number };
  /** Whether this hub leads the autoscale role. */
  leading: { value: boolean };
}

export function kubeNode(name: string, cpu: string): unknown {
  return {
    metadata: { name, labels: { 'atoll.dev/pool': 'batch', 'kubernetes.io/hostname': name } },
    spec: {},
    status: { allocatable: { cpu, memory: '8Gi' }, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

export function unschedulablePod(name: string, cpu: string, nodeSelector?: Record<string, string>): unknown {
  return {
    metadata: { name, namespace: 'default', ownerReferences: [{ kind: 'ReplicaSet', name: 'rs', controller: true }] },
    spec: { containers: [{ name: 'c', resources: { requests: { cpu } } }], ...(nodeSelector ? { nodeSelector } : {}) },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] },
  };
}

export async function rig(t: TestContext, createOk = true): Promise<Rig> {
  const dir = tempDir(t);
  const store = await openSqliteStore({ path: join(dir, 'hub.db') });
  t.after(() => store.close());
  const hook = join(dir, 'hook.sh');
  writeFileSync(
    hook,
    `#!/bin/sh
cat > /dev/null
echo "$1" >> "${dir}/hook-calls"
case "$1" in
  capabilities) echo '{"ok":true,"actions":["create","delete"]}' ;;
  create) echo x >> "${dir}/creates"; n=$(wc -l < "${dir}/creates")
    if [ -e "${dir}/create-fails" ]; then echo '{"ok":false,"message":"quota exceeded"}'; else echo "{\\"ok\\":true,\\"machineId\\":\\"vm-$n\\"}"; fi ;;
  delete) if [ -e "${dir}/delete-fails" ]; then echo '{"ok":false,"message":"machine is locked"}'; else echo '{"ok":true}'; fi ;;
  *) echo '{"ok":true}' ;;
esac
`,
  );
  chmodSync(hook, 0o755);
  if (!createOk) writeFileSync(join(dir, 'create-fails'), '');
  await store.createPool(
    pool('batch', { minSize: 1, maxSize: 3, autoscale: { ...DEFAULT_POOL_AUTOSCALE, enabled: true } }),
  );
  await store.createToken(token('tok', { pool: 'batch', maxUses: null }));
  const input = enrollInput('tok', 'id-n1');
  input.node.pool = 'batch';
  input.node.name = 'n1';
  assert.equal(await store.enroll(input), 'ok');
  const settings = new AutohealSettings(store);
  await settings.setPool('batch', { hook });
  const pods: unknown[] = [];
  const kubeNodes: unknown[] = [kubeNode('n1', '2')];
  const calls: string[] = [];
  const guard = { frozen: false, reason: '', since: null as string | null };
  const events = createEventLog(store, createLogger('silent'));
  const now = { ms: Date.parse('2030-01-01T00:00:00Z') };
  const leading = { value: true };
  let tokens = 0;
  const deps: AutoscaleDeps = {
    store,
    events,
    registry: { snapshot: () => [] } as unknown as AutoscaleDeps['registry'],
    controlPlane: {
      client: () =>
        ({
          cluster: async () => ({ nodes: kubeNodes, pods, pdbs: [] }),
          drain: async (name: string) => void calls.push(`drain ${name}`),
          setUnschedulable: async (name: string, u: boolean) => void calls.push(`unschedulable ${name} ${u}`),
        }) as never,
    },
    logger: createLogger('silent'),
    autohealSettings: settings,
    guard: () => guard,
    removeNode: async (id: string) => {
      calls.push(`remove ${id}`);
      return true;
    },
    cloudInit: async () => ({ doc: '#cloud-config', tokenId: `t${++tokens}` }),
    intervalMs: 1000,
    leads: () => leading.value,
    now: () => now.ms,
  };
  const creates = (): number =>
    existsSync(join(dir, 'creates')) ? readFileSync(join(dir, 'creates'), 'utf8').trim().split('\n').length : 0;
  return { guard, kubeNodes, calls, store, dir, pods, engine: () => new AutoscaleEngine(deps), creates, now, leading };
}

export const eventsOf = async (store: Store, type: string) => store.listEvents({ type, limit: 100 });

export async function addNode(r: Rig, id: string, name: string): Promise<void> {
  const input = enrollInput('tok', id);
  input.node.pool = 'batch';
  input.node.name = name;
  assert.equal(await r.store.enroll(input), 'ok');
  r.kubeNodes.push(kubeNode(name, '2'));
}

export function boundPod(name: string, node: string, cpu: string, controller: string | null = 'ReplicaSet'): unknown {
  return {
    metadata: {
      name,
      namespace: 'default',
      ownerReferences: controller ? [{ kind: controller, name: 'x', controller: true }] : [],
    },
    spec: { nodeName: node, containers: [{ name: 'c', resources: { requests: { cpu } } }] },
    status: { phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }] },
  };
}
