// One scale-down step of a pool: the nodes that have stayed eligible (scale-down.ts) for
// scaleDownUnneeded, or one node too many over a target set by hand, lose one node: the least used
// is cordoned, drained (the Eviction API, PDBs respected), its machine deleted through the hook and the
// node removed. Never below minSize, never within scaleDownDelayAfterAdd of a scale-up, never while
// machines are on the way, never a node being upgraded or remediated.
import { parseDuration } from '../duration.js';
import type { NodeRecord, Pool } from '../store/types.js';
import type { AutoscaleDeps } from './deps.js';
import type { DecisionLog } from './decision-log.js';
import type { ClusterView } from './kube-view.js';
import type { Machines } from './machines.js';
import { scaleDownBlock, utilization } from './scale-down.js';
import { readState, updateState } from './state.js';

export interface StepContext {
  d: AutoscaleDeps;
  log: DecisionLog;
  machines: Machines;
  now: () => number;
}

const BUSY = new Set(['upgrading', 'remediating']);
const DRAIN_TIMEOUT_MS = 5 * 60_000;

export async function scaleDownStep(
  c: StepContext,
  pool: Pool,
  hook: string,
  records: NodeRecord[],
  view: ClusterView,
): Promise<void> {
  const state = await readState(c.d.store, pool.name);
  const nodes = records.filter((n) => n.pool === pool.name);
  if (state.inFlight.length > 0) return;
  const over = state.target !== null && nodes.length > state.target;
  if (!pool.autoscale.enabled && !over) return;
  const live = new Map(c.d.registry.snapshot().map((n) => [n.id, n]));
  const now = c.now();
  const threshold = over ? Infinity : pool.autoscale.scaleDownUtilizationThreshold;
  const eligible: Array<{ rec: NodeRecord; use: number }> = [];
  const since: Record<string, number> = {};
  for (const rec of nodes) {
    const kube = view.nodes.find((n) => n.name === rec.name);
    const busy = BUSY.has(live.get(rec.id)?.state ?? rec.state);
    if (!kube || busy) continue;
    const block = scaleDownBlock(kube, threshold, view.nodes, view.pods, view.pdbs);
    if (block) {
      if (block.block !== 'utilization')
        await c.log.whyNot(
          pool.name,
          `blocked-${block.block}`,
          `pool ${pool.name}: ${rec.name} stays: ${block.detail}`,
        );
      continue;
    }
    since[rec.name] = state.unneededSince[rec.name] ?? now;
    eligible.push({ rec, use: utilization(kube, view.pods) });
  }
  await updateState(c.d.store, pool.name, (s) => {
    s.unneededSince = since;
  });
  if (eligible.length === 0) return;
  if (nodes.length <= pool.minSize) {
    await c.log.whyNot(
      pool.name,
      'min-size',
      `pool ${pool.name}: no scale-down: the pool is at minSize ${pool.minSize}`,
    );
    return;
  }
  if (!over && now - state.lastScaleUpAt < parseDuration(pool.autoscale.scaleDownDelayAfterAdd)) {
    await c.log.whyNot(
      pool.name,
      'delay-after-add',
      `pool ${pool.name}: no scale-down within ${pool.autoscale.scaleDownDelayAfterAdd} of a scale-up`,
    );
    return;
  }
  const unneededMs = parseDuration(pool.autoscale.scaleDownUnneeded);
  const ripe = eligible.filter((e) => over || now - since[e.rec.name] >= unneededMs).sort((a, b) => a.use - b.use);
  const pick = ripe[0];
  if (!pick) return;
  await removeOne(
    c,
    pool,
    hook,
    pick.rec,
    over
      ? 'above the target size'
      : `under ${pool.autoscale.scaleDownUtilizationThreshold * 100}% requested for ${pool.autoscale.scaleDownUnneeded}`,
    over ? null : Math.max(pool.minSize, nodes.length - 1),
  );
}

async function removeOne(
  c: StepContext,
  pool: Pool,
  hook: string,
  rec: NodeRecord,
  why: string,
  nextTarget: number | null,
): Promise<void> {
  const client = c.d.controlPlane.client();
  if (!client) return;
  await c.log.act(
    'autoscale.scale-down',
    pool.name,
    `pool ${pool.name}: removing ${rec.name} (${why}): cordon and drain`,
    {},
    rec.id,
  );
  try {
    await client.drain(rec.name, { timeoutMs: DRAIN_TIMEOUT_MS, ignoreDaemonSets: true, deleteEmptyDirData: false });
  } catch (err) {
    await client.setUnschedulable(rec.name, false).catch(() => undefined);
    await c.log.act(
      'autoscale.failed',
      pool.name,
      `pool ${pool.name}: draining ${rec.name} failed, uncordoned: ${(err as Error).message}`,
      {},
      rec.id,
    );
    return;
  }
  const state = await readState(c.d.store, pool.name);
  const healed = await c.d.store.getAutohealRecord<{ machineId?: string | null }>(rec.id);
  const machineId = state.machines[rec.id] ?? healed?.machineId ?? null;
  if (!(await c.machines.remove(pool, hook, rec, machineId))) {
    await client.setUnschedulable(rec.name, false).catch(() => undefined);
    return;
  }
  await c.d.removeNode(rec.id, 'autoscale');
  await updateState(c.d.store, pool.name, (s) => {
    delete s.machines[rec.id];
    delete s.unneededSince[rec.name];
    // An idle node gone: the target follows (a hand-set target the pool was above stays as it was).
    if (nextTarget !== null) s.target = nextTarget;
  });
  await c.log.act(
    'autoscale.scale-down',
    pool.name,
    `pool ${pool.name}: ${rec.name} removed (machine ${machineId ?? 'unknown'})`,
    { machineId },
    rec.id,
  );
}
