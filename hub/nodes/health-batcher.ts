// Health reports arrive at up to thousands per second; they reach the store in batched transactions.
// Latest report per node wins within a batch. flush() is awaited at shutdown so nothing is dropped.
// With a sampler, the health history samples due ride in the same transaction.
import type { HealthUpdate, Store } from '../store/types.js';
import type { Logger } from '../logger.js';
import type { HealthSampler } from './health-sampler.js';
import type { Clock } from '../clock.js';
import { logFailure } from '../../certs/log-failure.js';

export interface HealthBatcher {
  push(update: HealthUpdate): void;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export function createHealthBatcher(
  store: Store,
  logger: Logger,
  opts: { intervalMs?: number; maxBatch?: number; sampler?: HealthSampler; now?: () => number; clock?: Clock } = {},
): HealthBatcher {
  // Small, frequent commits: at 10,000 agents (1,000 reports/s) a flush is ~200 updates, a few ms of the
  // event loop, so a heartbeat never waits long behind one.
  const intervalMs = opts.intervalMs ?? 200;
  const maxBatch = opts.maxBatch ?? 500;
  let pending = new Map<string, HealthUpdate>();
  let inflight: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (pending.size === 0) return inflight;
    const batch = pending;
    pending = new Map();
    inflight = inflight.then(async () => {
      const updates = [...batch.values()];
      try {
        await store.recordHealth(
          updates,
          opts.sampler?.take(updates, opts.clock ? opts.clock.now() : (opts.now ?? Date.now)(), opts.clock?.mono()),
        );
      } catch (err) {
        // Health is refreshed by the next report; keep serving, say why once per failure.
        logger.warn({ err, count: updates.length }, 'could not store health reports');
      }
    });
    return inflight;
  };

  const timer = setInterval(() => flush().catch(logFailure(logger, 'storing health reports')), intervalMs);
  timer.unref();

  return {
    push(update) {
      pending.set(update.nodeId, update);
      if (pending.size >= maxBatch) flush().catch(logFailure(logger, 'storing health reports'));
    },
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}
