// Event retention: the event log keeps at most --events-max-count events, none older than
// --events-max-age. Pruned on a timer and soon after bursts of new events, in small batches (one
// short transaction each, the event loop gets a turn between them), never one giant delete.
import type { Store } from './store/types.js';
import type { Logger } from './logger.js';
import type { EventLog } from './events.js';
import { logFailure } from '../certs/log-failure.js';

export interface RetentionOptions {
  maxAgeMs: number;
  maxCount: number;
  /** How often to prune without new events (default 1 min). */
  intervalMs?: number;
  /** Rows per transaction (default 500). */
  batch?: number;
  /** Batches per run at most (default 200); the rest waits for the next run. */
  maxBatches?: number;
  now?: () => number;
}

export interface RetentionRun {
  deleted: number;
  batches: number;
}

/** A run follows events that made less than a burst within this long. */
const TRAILING_RUN_MS = 1000;

export class EventRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionRun> | undefined;
  private again = false;
  private sinceRun = 0;
  private unsubscribe: (() => void) | undefined;
  private trailing: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    private readonly store: Pick<Store, 'pruneEvents'>,
    private readonly logger: Logger,
    readonly opts: RetentionOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Prunes now, then every interval and after every tenth of maxCount new events. */
  start(events?: Pick<EventLog, 'subscribe'>): void {
    const burst = Math.max(1, Math.min(1000, Math.floor(this.opts.maxCount / 10)));
    this.unsubscribe = events?.subscribe(() => {
      if (++this.sinceRun >= burst) this.run().catch(logFailure(this.logger, 'pruning old events'));
      // Fewer than a burst since the last run: one more run within a second, so the count does not
      // sit over --events-max-count until the next interval.
      else if (!this.trailing) {
        this.trailing = setTimeout(() => {
          this.trailing = undefined;
          if (this.sinceRun > 0) this.run().catch(logFailure(this.logger, 'pruning old events'));
        }, TRAILING_RUN_MS);
        this.trailing.unref();
      }
    });
    this.timer = setInterval(
      () => this.run().catch(logFailure(this.logger, 'pruning old events')),
      this.opts.intervalMs ?? 60_000,
    );
    this.timer.unref();
    this.run().catch(logFailure(this.logger, 'pruning old events'));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.trailing);
    this.trailing = undefined;
    this.unsubscribe?.();
    this.again = false;
    await this.running;
  }

  /** One pruning run (joins the one in progress; asks for one more if events came meanwhile). Never throws. */
  run(): Promise<RetentionRun> {
    this.sinceRun = 0;
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.prune().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.run().catch(logFailure(this.logger, 'pruning old events'));
      }
    });
    return this.running;
  }

  private async prune(): Promise<RetentionRun> {
    const batch = this.opts.batch ?? 500;
    const maxBatches = this.opts.maxBatches ?? 200;
    const before = new Date(this.now() - this.opts.maxAgeMs).toISOString();
    let deleted = 0;
    let batches = 0;
    try {
      while (batches < maxBatches) {
        const n = await this.store.pruneEvents({ before, maxCount: this.opts.maxCount, limit: batch });
        batches++;
        deleted += n;
        if (n < batch) break;
        // More to do than one run may take: the next run follows (after other work got its turn).
        if (batches === maxBatches) this.again = true;
        await new Promise((r) => setImmediate(r));
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, deleted }, 'pruning old events failed; will retry');
    }
    if (deleted > 0)
      this.logger.info(
        { deleted, batches, maxCount: this.opts.maxCount, maxAgeMs: this.opts.maxAgeMs },
        'pruned old events',
      );
    return { deleted, batches };
  }
}
