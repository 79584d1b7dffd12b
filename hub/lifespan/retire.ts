// Retiring an old node once its replacement is Ready: drain it (cordoned first) (honouring disruption
// budgets up to the pool's drain timeout), remove it the way DELETE /v1/nodes/{id} does, and delete
// its machine through the hook. Each step is an event.
import type { EventLog } from '../events.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { RemoveNode } from '../nodes/node-removal.js';
import type { Store } from '../store/types.js';
import { hookNode, runHook } from '../autoheal/hook.js';
import { ACTOR, FAILED, STEP } from './events.js';

export interface RetireDeps {
  store: Store;
  events: EventLog;
  registry: NodeRegistry;
  controlPlane: Pick<ControlPlane, 'client'>;
  removeNode: RemoveNode;
}

export async function retireNode(
  d: RetireDeps,
  o: { id: string; name: string; pool: string; machineId: string | null; hook: string | null; drainTimeoutMs: number },
): Promise<void> {
  const node = await d.store.getNode(o.id);
  const observed = [d.registry.observedAddress(o.id)];
  const kube = d.controlPlane.client();
  if (node && kube && (await kube.getNode(o.name).catch(() => undefined))) {
    try {
      await kube.drain(o.name, { timeoutMs: o.drainTimeoutMs, ignoreDaemonSets: true, deleteEmptyDirData: true });
    } catch (err) {
      await d.events.note({
        type: STEP,
        nodeId: o.id,
        pool: o.pool,
        actor: ACTOR,
        message: `${o.name}: drain before removal did not finish (${(err as Error).message}); removing it anyway`,
      });
    }
  }
  if (node) await d.removeNode(o.id, ACTOR);
  if (!o.hook) return;
  const r = await runHook(o.hook, {
    action: 'delete',
    pool: o.pool,
    node: hookNode(node, o, o.machineId, observed),
  });
  await d.events.note({
    type: r.ok ? STEP : FAILED,
    nodeId: o.id,
    pool: o.pool,
    actor: ACTOR,
    message: r.ok
      ? `${o.name}: machine ${o.machineId ?? '(unknown id)'} deleted through the provider hook${r.message ? `: ${r.message}` : ''}`
      : `${o.name}: the provider hook could not delete machine ${o.machineId ?? '(unknown id)'}: ${r.message}`,
    data: { action: 'delete', machineId: o.machineId, ok: r.ok },
  });
}
