// Rules both stores apply the same way before they write: valid node states, which join tokens are
// live, how patches merge, and the bounds of list limits.
import type { TokenRow } from './rows.js';
import { NODE_STATES } from './types.js';

/** Rows of certificates expired longer than this are dropped at the node's next issue (TLS refuses them anyway). */
export const PRUNE_EXPIRED_AFTER_MS = 60 * 24 * 3600_000;

export const DEFAULT_SAMPLE_LIMIT = 1000;
export const MAX_SAMPLE_LIMIT = 10_000;

export const POOL_PATCH_KEYS = ['description', 'labels', 'taints', 'minSize', 'maxSize', 'autoscale'] as const;
export const NODE_PATCH_KEYS = [
  'name',
  'pool',
  'state',
  'labels',
  'facts',
  'agentVersion',
  'lastSeen',
  'health',
] as const;

export function assertState(state: string): void {
  if (!(NODE_STATES as readonly string[]).includes(state)) throw new TypeError(`unknown node state "${state}"`);
}

export function isLive(t: TokenRow, nowMs: number): boolean {
  return t.revoked_at === null && nowMs < Date.parse(t.expires_at) && (t.max_uses === null || t.uses < t.max_uses);
}

export function finite(value: number | undefined, fallback: number): number {
  const n = Number(value);
  return value === undefined || !Number.isFinite(n) ? fallback : n;
}

/** The keys of `patch` that are set (undefined keeps the stored value). */
export function pick<T extends object, K extends keyof T>(patch: T, keys: readonly K[]): Partial<T> {
  const out: Partial<T> = {};
  for (const k of keys) if (patch[k] !== undefined) out[k] = patch[k];
  return out;
}

/** A limit for health samples: default 1000, between 1 and 10,000. */
export function sampleLimit(limit: number | undefined): number {
  return Math.min(MAX_SAMPLE_LIMIT, Math.max(1, Math.floor(finite(limit, DEFAULT_SAMPLE_LIMIT))));
}
