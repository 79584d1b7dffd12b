// Every hub's events, for the live event stream (GET /v1/events/stream): this hub's as it records
// them, and, with several hubs on one store, the others' read from the store by cursor while anyone
// listens: when another hub's event is heard of (store/pg-changes.ts), and every slowMs anyway
// (intervalMs while no notifications flow).
//
// Listeners get events in id order, each once, so a stream client's last id is a cursor that misses
// nothing (Last-Event-ID). The store makes ids visible in id order with no gaps (store/pg-events.ts):
// a reader that sees id N sees every id below it that still exists. So this hub's own event N is
// passed on at once when N follows the last one passed on; otherwise it is held and the store is read
// at once, which brings the ids below N (other hubs' events, or this hub's whose write answered later).
// An id missing from a read was deleted (a folded repeat) and is skipped.
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
/** This hub's events held for a lower id, at most; past it (the store cannot be read) they go on in order, gaps and all. */
export const FEED_HELD_MAX = 10_000;
const PAGE = 1000;

export function createEventFeed(d: {
  store: Pick<Store, 'listEvents'>;
  events: Pick<EventLog, 'subscribe'>;
  logger: Logger;
  intervalMs?: number;
  slowMs?: number;
  heldMax?: number;
  changes?: StoreChanges;
}): EventFeed & { stop(): void } {
  const intervalMs = d.intervalMs ?? FEED_INTERVAL_MS;
  const heldMax = d.heldMax ?? FEED_HELD_MAX;
  const listeners = new Set<(e: EventRecord) => void>();
  /** This hub's events waiting for the ids below them. */
  const held = new Map<number, EventRecord>();
  /** The highest id passed on; undefined until the newest stored id is known (older rows are history). */
  let high: number | undefined;
  let loop: PacedLoop | undefined;

  const deliver = (e: EventRecord): void => {
    high = e.id;
    for (const l of [...listeners]) l(e);
  };
  /** Passes on the held events that follow, and forgets those already passed on (read from the store). */
  const drain = (): void => {
    if (high === undefined) return;
    for (let e = held.get(high + 1); e; e = held.get(high + 1)) {
      held.delete(e.id);
      deliver(e);
    }
    for (const id of held.keys()) if (id <= high) held.delete(id);
  };
  const overflow = (): void => {
    d.logger.warn(
      { held: held.size },
      "event stream: the store cannot be read; passing on this hub's events as they are",
    );
    for (const e of [...held.values()].sort((a, b) => a.id - b.id)) if (high === undefined || e.id > high) deliver(e);
    held.clear();
  };
  const read = async (): Promise<void> => {
    if (high === undefined) {
      const newest = (await d.store.listEvents({ order: 'desc', limit: 1 }))[0]?.id ?? 0;
      // Events of this hub recorded while listening began are not history: start below them.
      const lowestHeld = Math.min(...held.keys());
      high = Math.min(newest, lowestHeld - 1);
      drain();
    }
    for (let round = 0; round < 10 && listeners.size > 0; round++) {
      const page = await d.store.listEvents({ since: high, limit: PAGE });
      for (const e of page) if (e.id > high) deliver(e);
      drain();
      if (page.length < PAGE) break;
    }
    // Held ones that arrived during the read: read once more.
    if (held.size > 0) loop?.wake();
  };
  const unsubscribeLocal = d.events.subscribe((e) => {
    if (listeners.size === 0 || (high !== undefined && e.id <= high)) return;
    if (high !== undefined && e.id === high + 1) {
      deliver(e);
      drain();
      return;
    }
    held.set(e.id, e);
    if (held.size > heldMax) overflow();
    else loop?.wake();
  });

  return {
    subscriberCount: () => listeners.size,
    subscribe(listener) {
      listeners.add(listener);
      if (!loop) {
        high = undefined;
        held.clear();
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
          held.clear();
        }
      };
    },
    stop() {
      loop?.stop();
      loop = undefined;
      listeners.clear();
      held.clear();
      unsubscribeLocal();
    },
  };
}
