// A pool's size bounds and autoscale settings as the API takes them: the JSON schema (bounds an
// outsider cannot pass) and the checks across fields (minSize <= maxSize, durations that parse).
import { HubError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { MAX_POOL_SIZE, withAutoscaleDefaults, type PoolAutoscale } from '../store/pool-sizes.js';
import type { Pool, PoolPatch } from '../store/types.js';

const AUTOSCALE_DURATIONS = ['scaleDownUnneeded', 'scaleDownDelayAfterAdd', 'maxNodeProvisionTime'] as const;
const durationField = { type: 'string', minLength: 1, maxLength: 32 } as const;
const sizeField = { type: 'integer', minimum: 0, maximum: MAX_POOL_SIZE } as const;

export const poolAutoscaleSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean' },
    scaleDownUtilizationThreshold: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    scaleDownUnneeded: durationField,
    scaleDownDelayAfterAdd: durationField,
    maxNodeProvisionTime: durationField,
  },
} as const;

/** The API's body fields for sizes and autoscale (POST and PATCH /v1/pools). */
export const poolSizeFields = {
  minSize: sizeField,
  maxSize: sizeField,
  autoscale: poolAutoscaleSchema,
} as const;

/** Throws HubError VALIDATION unless the durations parse. */
export function validateAutoscale(a: PoolAutoscale): PoolAutoscale {
  for (const f of AUTOSCALE_DURATIONS) {
    try {
      parseDuration(a[f]);
    } catch (err) {
      throw new HubError('VALIDATION', `autoscale.${f}: ${(err as Error).message}`);
    }
  }
  if (!(a.scaleDownUtilizationThreshold > 0 && a.scaleDownUtilizationThreshold <= 1))
    throw new HubError('VALIDATION', 'autoscale.scaleDownUtilizationThreshold must be in (0, 1]');
  return a;
}

export interface PoolSizes {
  minSize: number;
  maxSize: number;
  autoscale: PoolAutoscale;
}

/**
 * The sizes and autoscale settings a patch gives a pool (`current` for a new pool: the defaults), checked:
 * integers within 0..MAX_POOL_SIZE, minSize <= maxSize, autoscale fields merged over the current ones.
 */
export function mergePoolSizes(
  current: PoolSizes,
  patch: Pick<PoolPatch, 'minSize' | 'maxSize'> & {
    autoscale?: Partial<PoolAutoscale>;
  },
): PoolSizes {
  const next: PoolSizes = {
    minSize: patch.minSize ?? current.minSize,
    maxSize: patch.maxSize ?? current.maxSize,
    autoscale: validateAutoscale(withAutoscaleDefaults({ ...current.autoscale, ...patch.autoscale })),
  };
  for (const k of ['minSize', 'maxSize'] as const) {
    const n = next[k];
    if (!Number.isInteger(n) || n < 0 || n > MAX_POOL_SIZE)
      throw new HubError('VALIDATION', `${k} must be an integer from 0 to ${MAX_POOL_SIZE}`);
  }
  if (next.minSize > next.maxSize)
    throw new HubError('VALIDATION', `minSize (${next.minSize}) must not exceed maxSize (${next.maxSize})`);
  return next;
}

export const sizesOf = (p: Pool): PoolSizes => ({ minSize: p.minSize, maxSize: p.maxSize, autoscale: p.autoscale });
