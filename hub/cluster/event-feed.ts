// Every hub's events, for the live event stream (GET /v1/events/stream): this hub's as it records
// them, and, with several hubs on one store, the others' read from the store by cursor every
// intervalMs while anyone listens. PostgreSQL ids are handed out before commit, so a row may show up
// after a higher one: each read starts `lookback` ids below the highest seen, and ids already passed
// on are skipped, so each event reaches a listener once.
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { EventRecord, Store } from '../store/types.js';
import { logFailure } from '../../certs/log-failure.js';

export interface EventFeed {
  subscribe(listener: (e: EventRecord) => void): () => void;
  /** How many listeners are attached (the stream's clients). */
  subscriberCount(): number;
}

export const FEED_INTERVAL_MS = 500;
export const FEED_LOOKBACK = 200;
const PAGE = 1000;

export function createEventFeed(d: {
  store: Pick<Store, 'listEvents'>;
  events: Pick<EventLog, 'subscribe'>;
  logger: Logger;
  intervalMs?: number;
  lookback?: number;
}): EventFeed & { stop(): void } {
  const intervalMs = d.intervalMs ?? FEED_INTERVAL_MS;
  const lookback = d.lookback ?? FEED_LOOKBACK;
  const listeners = new Set<(e: EventRecord) => void>();
  const seen = new Set<number>();
  let high: number | undefined;
  /** The newest stored id when listening began: older rows are history (the stream replays them with ?since). */
  let floor: number | undefined;
  let timer: NodeJS.Timeout | undefined;
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
      if (!timer) {
        high = floor = undefined;
        seen.clear();
        read().catch(logFailure(d.logger, 'reading the events of other hubs'));
        timer = setInterval(() => read().catch(logFailure(d.logger, 'reading the events of other hubs')), intervalMs);
        timer.unref();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      listeners.clear();
      unsubscribeLocal();
    },
  };
}
