// Every hub's events, for the live event stream (GET /v1/events/stream): this hub's as it records
// them, and, with several hubs on one store, the others' read from the store by cursor while anyone
// listens: when another hub's event is heard of (store/pg-changes.ts), and every slowMs anyway
// (intervalMs while no notifications flow). The store's ids become visible in order, but this hub's
// own events are passed on at once, before another hub's lower id is read: each read starts
// `lookback` ids below the highest seen, and ids already passed on are skipped, so each event
// reaches a listener once.
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { EventRecord, Store } from '../store/types.js';
import { NO_CHANGES, type StoreChanges } from '../store/cluster-types.js';
import { logFailure } from '../../certs/log-failure.js';
import { pacedLoop, type PacedLoop } from './paced-loop.js';

export interface EventFeed {
  subscribe(listener: (e: EventRecord) => void): () => void;
  /** How many listeners are attached (the stream's clients). */
  subscriberCount(): number;
}

export const FEED_INTERVAL_MS = 500;
export const FEED_SLOW_MS = 2000;
export const FEED_LOOKBACK = 200;
const PAGE = 1000;

export function createEventFeed(d: {
  store: Pick<Store, 'listEvents'>;
  events: Pick<EventLog, 'subscribe'>;
  logger: Logger;
  intervalMs?: number;
  slowMs?: number;
  lookback?: number;
  changes?: StoreChanges;
}): EventFeed & { stop(): void } {
  const intervalMs = d.intervalMs ?? FEED_INTERVAL_MS;
  const lookback = d.lookback ?? FEED_LOOKBACK;
  const listeners = new Set<(e: EventRecord) => void>();
  const seen = new Set<number>();
  let high: number | undefined;
  /** The newest stored id when listening began: older rows are history (the stream replays them with ?since). */
  let floor: number | undefined;
  let loop: PacedLoop | undefined;
  let busy = false;

  const pass = (e: EventRecord, local: boolean): void => {
    if (seen.has(e.id) || (floor !== undefined && e.id <= floor && !local)) return;
    seen.add(e.id);
    if (high === undefined || e.id > high) high = e.id;
    for (const l of [...listeners]) l(e);
  };
  const prune = (): void => {
    if (high === undefined) return;
    for (const id of seen) if (id < high - 2 * lookback) seen.delete(id);
  };
  const read = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      if (floor === undefined) {
        floor = (await d.store.listEvents({ order: 'desc', limit: 1 }))[0]?.id ?? 0;
        high = Math.max(high ?? 0, floor);
        return;
      }
      let since = Math.max(floor, (high ?? 0) - lookback);
      for (let round = 0; round < 10 && listeners.size > 0; round++) {
        const page = await d.store.listEvents({ since, limit: PAGE });
        for (const e of page) pass(e, false);
        if (page.length < PAGE) break;
        since = page[page.length - 1].id;
      }
      prune();
    } finally {
      busy = false;
    }
  };
  const unsubscribeLocal = d.events.subscribe((e) => {
    if (listeners.size > 0) pass(e, true);
  });

  return {
    subscriberCount: () => listeners.size,
    subscribe(listener) {
      listeners.add(listener);
      if (!loop) {
        high = floor = undefined;
        seen.clear();
        loop = pacedLoop({
          run: read,
          onError: logFailure(d.logger, 'reading the events of other hubs'),
          fastMs: intervalMs,
          slowMs: d.slowMs ?? Math.max(intervalMs, FEED_SLOW_MS),
          changes: d.changes ?? NO_CHANGES,
          topics: ['events'],
        });
        loop.wake();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          loop?.stop();
          loop = undefined;
        }
      };
    },
    stop() {
      loop?.stop();
      loop = undefined;
      listeners.clear();
      unsubscribeLocal();
    },
  };
}
