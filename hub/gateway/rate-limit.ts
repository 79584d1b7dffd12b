// Per-source token bucket for join attempts. Bounded memory: the oldest sources are dropped first.
export interface RateLimiter {
  /** true when allowed; otherwise the ms until the next attempt may pass. */
  take(key: string): true | number;
}

export function createRateLimiter(opts: {
  perMinute: number;
  burst?: number;
  maxKeys?: number;
  now?: () => number;
}): RateLimiter {
  const capacity = opts.burst ?? opts.perMinute;
  const refillPerMs = opts.perMinute / 60_000;
  const maxKeys = opts.maxKeys ?? 100_000;
  const now = opts.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      const t = now();
      let b = buckets.get(key);
      if (!b) {
        if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value as string);
        b = { tokens: capacity, at: t };
      } else {
        buckets.delete(key);
        b.tokens = Math.min(capacity, b.tokens + (t - b.at) * refillPerMs);
        b.at = t;
      }
      buckets.set(key, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return true;
      }
      return Math.ceil((1 - b.tokens) / refillPerMs);
    },
  };
}
