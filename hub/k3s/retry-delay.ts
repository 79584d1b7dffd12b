// How long the hub waits before starting a k3s server that gave up (crash-looped) again, and how it says so.
export const FAILED_RETRY_MS = 300_000;
export const FAILED_RETRY_MAX_MS = 1_800_000;

/** The delay before the n-th (1-based) retry after giving up: long, doubling, capped. */
export function failedRetryDelay(n: number, baseMs = FAILED_RETRY_MS, maxMs = FAILED_RETRY_MAX_MS): number {
  return Math.min(Math.max(maxMs, baseMs), baseMs * 2 ** Math.max(0, n - 1));
}

export function human(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0
    ? `${ms / 60_000} min`
    : ms >= 1000
      ? `${Math.round(ms / 100) / 10} s`
      : `${ms} ms`;
}
