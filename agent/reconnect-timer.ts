// When the agent dials the hub again: after a capped, jittered exponential backoff (backoffDelay),
// one pending try at a time; a welcome starts the backoff over.
import { backoffDelay } from './link-types.js';

export class ReconnectTimer {
  private attempt = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: { baseMs?: number; maxMs?: number; random?: () => number }) {}

  /** Schedules `retry` after the next backoff delay (at least `minDelayMs`); undefined when a try is already pending. */
  schedule(retry: () => void, minDelayMs = 0): number | undefined {
    if (this.timer) return undefined;
    const delay = Math.max(
      minDelayMs,
      backoffDelay(this.attempt++, this.o.baseMs ?? 500, this.o.maxMs ?? 30_000, this.o.random),
    );
    this.timer = setTimeout(() => {
      this.timer = undefined;
      retry();
    }, delay);
    return delay;
  }

  /** Schedules `retry` after exactly `delayMs`, leaving the backoff as it is; undefined when a try is pending. */
  scheduleIn(retry: () => void, delayMs: number): number | undefined {
    if (this.timer) return undefined;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      retry();
    }, delayMs);
    return delayMs;
  }

  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** The hub welcomed us: the next backoff starts small again. */
  reset(): void {
    this.attempt = 0;
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}
