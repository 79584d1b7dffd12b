// A pool's size bounds and autoscale settings as cluster-autoscaler reads them: minSize/maxSize are
// the node group's, and the pool's scale-down threshold, unneeded time and provisioning time become
// the group's options (NodeGroupGetOptions).
import type { Pool } from '../../store/types.js';
import { parseDuration } from '../../duration.js';
import type { Bounds } from './group-view.js';
import type { GroupOptions } from './node-groups.js';

export function poolBounds(pool: Pool): Bounds {
  return { minSize: pool.minSize, maxSize: pool.maxSize };
}

export function poolOptions(pool: Pool): GroupOptions {
  const a = pool.autoscale;
  return {
    scaleDownUtilizationThreshold: a.scaleDownUtilizationThreshold,
    scaleDownUnneededMs: parseDuration(a.scaleDownUnneeded),
    maxNodeProvisionMs: parseDuration(a.maxNodeProvisionTime),
  };
}
