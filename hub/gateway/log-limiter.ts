// A rate limit for warning lines outsiders can cause (refused agent connections): per key (e.g. code
// and remote address) the first `perKey` lines of a window, at most `total` lines per window in all;
// what was held back is summed up in one line when the window ends ("suppressed K").
import type { Logger } from '../logger.js';

export interface LogLimiterOptions {
  windowMs: number;
  /** Lines per key and window. */
  perKey: number;
  /** Lines per window over all keys. */
  total: number;
  /** Keys tracked per window (memory bound); more are counted under "other". */
  maxKeys: number;
  now?: () => number;
}

export const DEFAULT_LOG_LIMIT: LogLimiterOptions = { windowMs: 60_000, perKey: 5, total: 50, maxKeys: 1000 };

export interface Suppressed {
  suppressed: number;
  windowMs: number;
  /** The keys most held back, most first (at most 5). */
  top: Array<{ key: string; suppressed: number }>;
}

export class LogLimiter {
  private windowStart: number;
  private lines = 0;
  private readonly perKey = new Map<string, number>();
  private readonly held = new Map<string, number>();
  private heldTotal = 0;
  private readonly now: () => number;

  constructor(private readonly opts: LogLimiterOptions) {
    this.now = opts.now ?? Date.now;
    this.windowStart = this.now();
  }

  /** Whether a line for `key` may be written; `ended` is the summary of a window that just ended. */
  take(key: string): { allowed: boolean; ended?: Suppressed } {
    const ended = this.now() - this.windowStart >= this.opts.windowMs ? this.roll() : undefined;
    const k = this.perKey.has(key) || this.perKey.size < this.opts.maxKeys ? key : 'other';
    const used = this.perKey.get(k) ?? 0;
    if (used < this.opts.perKey && this.lines < this.opts.total) {
      this.perKey.set(k, used + 1);
      this.lines++;
      return { allowed: true, ended };
    }
    if (!this.perKey.has(k)) this.perKey.set(k, used);
    this.held.set(k, (this.held.get(k) ?? 0) + 1);
    this.heldTotal++;
    return { allowed: false, ended };
  }

  /** Ends the window: the summary of what was held back in it, or undefined when nothing was. */
  roll(): Suppressed | undefined {
    const out =
      this.heldTotal > 0
        ? {
            suppressed: this.heldTotal,
            windowMs: this.opts.windowMs,
            top: [...this.held]
              .sort((a, b) => b[1] - a[1])
              .slice(0, 5)
              .map(([key, suppressed]) => ({ key, suppressed })),
          }
        : undefined;
    this.windowStart = this.now();
    this.lines = 0;
    this.perKey.clear();
    this.held.clear();
    this.heldTotal = 0;
    return out;
  }
}

/** The gateway's "agent connection refused" warnings, rate-limited per code and remote address. */
export function createRefusalLog(
  logger: Logger,
  opts: Partial<LogLimiterOptions> = {},
): { refused(fields: { code: string; remote: string; reason: string }): void; stop(): void } {
  const limiter = new LogLimiter({ ...DEFAULT_LOG_LIMIT, ...opts });
  const summary = (s: Suppressed | undefined): void => {
    if (s)
      logger.warn(
        { suppressed: s.suppressed, windowMs: s.windowMs, top: s.top },
        `agent connection refusals: suppressed ${s.suppressed} more log lines`,
      );
  };
  const timer = setInterval(() => summary(limiter.roll()), opts.windowMs ?? DEFAULT_LOG_LIMIT.windowMs);
  timer.unref();
  return {
    refused(fields) {
      const { allowed, ended } = limiter.take(`${fields.code} ${fields.remote}`);
      summary(ended);
      if (allowed) logger.warn(fields, 'agent connection refused');
    },
    stop() {
      clearInterval(timer);
      summary(limiter.roll());
    },
  };
}
