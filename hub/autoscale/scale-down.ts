// Scale-down eligibility of one node, as cluster-autoscaler decides it: its requested cpu and memory
// (DaemonSet and mirror pods aside) are both under the threshold, and every other pod can move: it
// has a controller, no local storage (emptyDir), its PodDisruptionBudget allows the disruption, and
// another Ready, schedulable node admits it with room to spare.
import { admits, fitsIn, usageByNode, type NodeView, type PodView } from './shapes.js';
import type { Resources } from './quantity.js';

export interface PdbView {
  namespace: string;
  /** matchLabels of its selector. */
  selector: Record<string, string>;
  disruptionsAllowed: number;
}

export type ScaleDownBlock =
  | 'not-ready'
  | 'utilization'
  | 'pod-without-controller'
  | 'local-storage'
  | 'disruption-budget'
  | 'no-room-elsewhere';

/** The larger of cpu and memory requested over allocatable (0..), DaemonSet and mirror pods aside. */
export function utilization(node: NodeView, pods: readonly PodView[]): number {
  const counted = pods.filter((p) => p.node === node.name && !p.finished && !ignored(p));
  const sum = counted.reduce((a, p) => ({ cpu: a.cpu + p.requests.cpu, memory: a.memory + p.requests.memory }), {
    cpu: 0,
    memory: 0,
  });
  const share = (used: number, total: number): number => (total > 0 ? used / total : used > 0 ? Infinity : 0);
  return Math.max(share(sum.cpu, node.allocatable.cpu), share(sum.memory, node.allocatable.memory));
}

const ignored = (p: PodView): boolean => p.controller === 'DaemonSet' || p.mirror;

const matches = (pdb: PdbView, p: PodView): boolean =>
  pdb.namespace === p.namespace && Object.entries(pdb.selector).every(([k, v]) => p.labels[k] === v);

/** Why `node` cannot be removed now, or undefined when it can. `nodes` and `pods` are the whole cluster's. */
export function scaleDownBlock(
  node: NodeView,
  threshold: number,
  nodes: readonly NodeView[],
  pods: readonly PodView[],
  pdbs: readonly PdbView[],
): { block: ScaleDownBlock; detail: string } | undefined {
  if (!node.ready) return { block: 'not-ready', detail: `${node.name} is not Ready` };
  const u = utilization(node, pods);
  if (u >= threshold)
    return {
      block: 'utilization',
      detail: `${node.name} is ${Math.round(u * 100)}% requested (>= ${threshold * 100}%)`,
    };
  const moving = pods.filter((p) => p.node === node.name && !p.finished && !ignored(p));
  for (const p of moving) {
    if (!p.controller) return { block: 'pod-without-controller', detail: `pod ${p.id} has no controller` };
    if (p.emptyDir) return { block: 'local-storage', detail: `pod ${p.id} uses local storage (emptyDir)` };
  }
  for (const pdb of pdbs) {
    const n = moving.filter((p) => matches(pdb, p)).length;
    if (n > 0 && pdb.disruptionsAllowed < n)
      return {
        block: 'disruption-budget',
        detail: `a PodDisruptionBudget in ${pdb.namespace} allows ${pdb.disruptionsAllowed} disruption(s), ${n} needed`,
      };
  }
  // Where would they go: the other Ready, schedulable nodes, with what they already carry.
  const used = usageByNode(pods);
  const others = nodes
    .filter((n) => n.name !== node.name && n.ready && !n.unschedulable)
    .map((n) => ({ n, free: minus(n.allocatable, used.get(n.name)) }));
  for (const p of [...moving].sort(
    (a, b) => b.requests.cpu - a.requests.cpu || b.requests.memory - a.requests.memory,
  )) {
    const spot = others.find((o) => admits(o.n, p) && fitsIn(p.requests, o.free));
    if (!spot) return { block: 'no-room-elsewhere', detail: `pod ${p.id} fits on no other node` };
    spot.free = minus(spot.free, p.requests);
  }
  return undefined;
}

const minus = (a: Resources, b: Resources | undefined): Resources => ({
  cpu: a.cpu - (b?.cpu ?? 0),
  memory: a.memory - (b?.memory ?? 0),
});
