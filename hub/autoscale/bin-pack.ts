// Scale-up planning: which pools could host the unschedulable pods, and the fewest new nodes that fit
// them (first-fit decreasing), never past a pool's room (maxSize minus its nodes and machines on the
// way). Machines already on the way count as empty nodes first, so a need is not asked for twice.
import { admits, fitsIn, type NodeShape, type PodView } from './shapes.js';
import type { Resources } from './quantity.js';

export interface PoolCandidate {
  pool: string;
  shape: NodeShape;
  /** Machines created and not yet Ready: capacity already on the way. */
  pending: number;
  /** How many more nodes the pool may get (maxSize - nodes - pending), >= 0. */
  room: number;
}

export type NotPlacedReason = 'no-pool-fits' | 'max-size';

export interface ScaleUpPlan {
  /** New nodes per pool (only pools with > 0). */
  adds: Map<string, number>;
  /** Pods that would go to a pool's new or pending nodes. */
  placed: Map<string, string[]>;
  /** Pods no plan hosts, with why. */
  notPlaced: Array<{ pod: string; reason: NotPlacedReason }>;
}

const bigFirst = (a: PodView, b: PodView): number =>
  b.requests.cpu - a.requests.cpu || b.requests.memory - a.requests.memory || a.id.localeCompare(b.id);

/** Packs pods into bins of `cap`: first the `free` bins, then at most `maxNew` new ones. */
function pack(pods: readonly PodView[], cap: Resources, free: number, maxNew: number) {
  const bins: Resources[] = Array.from({ length: free }, () => ({ ...cap }));
  const placed: PodView[] = [];
  const left: PodView[] = [];
  for (const p of [...pods].sort(bigFirst)) {
    let bin = bins.find((b) => fitsIn(p.requests, b));
    if (!bin && bins.length < free + maxNew) {
      bin = { ...cap };
      bins.push(bin);
    }
    if (!bin) {
      left.push(p);
      continue;
    }
    bin.cpu -= p.requests.cpu;
    bin.memory -= p.requests.memory;
    placed.push(p);
  }
  return { placed, left, added: bins.length - free };
}

/**
 * Greedy over pools: the pool that can host the most of the remaining pods is packed first (ties by
 * name), then the next with what is left. A pod no pool's shape admits (selector, taints, or larger
 * than a whole node) is 'no-pool-fits'; one that fits a pool but finds no room is 'max-size'.
 */
export function planScaleUp(pods: readonly PodView[], pools: readonly PoolCandidate[]): ScaleUpPlan {
  const plan: ScaleUpPlan = { adds: new Map(), placed: new Map(), notPlaced: [] };
  const hostable = (c: PoolCandidate, p: PodView): boolean =>
    admits(c.shape, p) && fitsIn(p.requests, c.shape.allocatable);
  let remaining = pods.filter((p) => {
    if (pools.some((c) => hostable(c, p))) return true;
    plan.notPlaced.push({ pod: p.id, reason: 'no-pool-fits' });
    return false;
  });
  const todo = [...pools].sort((a, b) => a.pool.localeCompare(b.pool));
  while (remaining.length > 0 && todo.length > 0) {
    const scored = todo.map((c) => ({ c, fit: remaining.filter((p) => hostable(c, p)) }));
    scored.sort((a, b) => b.fit.length - a.fit.length);
    const { c, fit } = scored[0];
    todo.splice(todo.indexOf(c), 1);
    if (fit.length === 0) break;
    const r = pack(fit, c.shape.allocatable, c.pending, c.room);
    if (r.added > 0) plan.adds.set(c.pool, r.added);
    if (r.placed.length > 0)
      plan.placed.set(
        c.pool,
        r.placed.map((p) => p.id),
      );
    const done = new Set(r.placed.map((p) => p.id));
    remaining = remaining.filter((p) => !done.has(p.id));
  }
  for (const p of remaining) plan.notPlaced.push({ pod: p.id, reason: 'max-size' });
  return plan;
}
