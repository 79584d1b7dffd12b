// A pool's size bounds and autoscale options as cluster-autoscaler reads them.
import type { Pool } from '../../store/types.js';
import type { Bounds } from './group-view.js';
import type { GroupOptions } from './node-groups.js';

type SizedPool = Pool & Partial<{ minSize: number; maxSize: number }>;

/** minSize/maxSize of the pool; a pool without them is held at its node count. */
export function poolBounds(pool: Pool, nodes: number): Bounds {
  const p = pool as SizedPool;
  const minSize = p.minSize ?? 0;
  return { minSize, maxSize: Math.max(minSize, p.maxSize ?? nodes) };
}

export function poolOptions(_pool: Pool): GroupOptions {
  return {};
}
