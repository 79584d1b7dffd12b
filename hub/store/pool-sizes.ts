// A pool's size bounds and autoscale settings (issue 19): what the store keeps per pool, with the
// defaults a pool gets when it sets none (also the pools made before schema version 10).

/** How the built-in autoscaler treats a pool (hub/autoscale/). Durations are like "10m", "90s". */
export interface PoolAutoscale {
  enabled: boolean;
  /** A node whose requested CPU and memory are both under this share of its allocatable may go. */
  scaleDownUtilizationThreshold: number;
  /** How long a node stays under the threshold before it is removed. */
  scaleDownUnneeded: string;
  /** No scale-down in a pool for this long after one of its scale-ups. */
  scaleDownDelayAfterAdd: string;
  /** A created machine whose node is not Ready within this is deleted and counted as a failure. */
  maxNodeProvisionTime: string;
}

export const DEFAULT_POOL_AUTOSCALE: Readonly<PoolAutoscale> = Object.freeze({
  enabled: false,
  scaleDownUtilizationThreshold: 0.5,
  scaleDownUnneeded: '10m',
  scaleDownDelayAfterAdd: '10m',
  maxNodeProvisionTime: '15m',
});

export const DEFAULT_MIN_SIZE = 0;
export const DEFAULT_MAX_SIZE = 100;
/** The largest maxSize a pool may declare. */
export const MAX_POOL_SIZE = 1000;

/** Stored settings over the defaults: a stored document lacking a field (older atoll) gets its default. */
export function withAutoscaleDefaults(stored: Partial<PoolAutoscale> | undefined): PoolAutoscale {
  return { ...DEFAULT_POOL_AUTOSCALE, ...(stored ?? {}) };
}
