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
//
// When the store cannot be read for long (held events past heldMax, or held longer than holdMs),
// listeners are told of a gap (a stream ends, and its client replays from its cursor), and the held
// events go on in order.
import { performance } from 'node:perf_hooks';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { EventRecord, Store } from '../store/types.js';
import { NO_CHANGES, type StoreChanges } from '../store/cluster-types.js';
import { logFailure } from '../../certs/log-failure.js';
import { pacedLoop, type PacedLoop } from './paced-loop.js';

export interface EventFeed {
  /** `onGap`: events of other hubs may have been skipped (the listener should replay from its cursor). */
  subscribe(listener: (e: EventRecord) => void, onGap?: () => void): () => void;
  /** How many listeners are attached (the stream's clients). */
  subscriberCount(): number;
}

export const FEED_INTERVAL_MS = 500;
export const FEED_SLOW_MS = 2000;
/** This hub's events held for a lower id, at most, and for how long. */
export const FEED_HELD_MAX = 10_000;
export const FEED_HOLD_MS = 5_000;
const PAGE = 1000;

interface Listener {
  on: (e: EventRecord) => void;
  gap?: () => void;
}

export function createEventFeed(d: {
  store: Pick<Store, 'listEvents'>;
  events: Pick<EventLog, 'subscribe'>;
  logger: Logger;
  intervalMs?: number;
  slowMs?: number;
  heldMax?: number;
  holdMs?: number;
  changes?: StoreChanges;
}): EventFeed & { stop(): void } {
  const intervalMs = d.intervalMs ?? FEED_INTERVAL_MS;
  const heldMax = d.heldMax ?? FEED_HELD_MAX;
  const holdMs = d.holdMs ?? FEED_HOLD_MS;
  const listeners = new Set<Listener>();
  /** This hub's events waiting for the ids below them, and since when each waits (monotonic ms). */
  const held = new Map<number, EventRecord>();
  const heldAt = new Map<number, number>();
  /** The highest id passed on; undefined until the newest stored id is known (older rows are history). */
  let high: number | undefined;
  let loop: PacedLoop | undefined;
  /** Moves on with each new loop: a read of a stopped loop changes nothing. */
  let generation = 0;

  const deliver = (e: EventRecord): void => {
    high = e.id;
    for (const l of [...listeners]) l.on(e);
  };
  const hold = (e: EventRecord): void => {
    held.set(e.id, e);
    heldAt.set(e.id, performance.now());
  };
  const forget = (id: number): void => {
    held.delete(id);
    heldAt.delete(id);
  };
  const forgetAll = (): void => {
    held.clear();
    heldAt.clear();
  };
  const heldLongest = (): number => performance.now() - Math.min(...heldAt.values());
  /** Passes on the held events that follow, and forgets those already passed on (read from the store). */
  const drain = (): void => {
    if (high === undefined) return;
    for (let e = held.get(high + 1); e; e = held.get(high + 1)) {
      forget(e.id);
      deliver(e);
    }
    for (const id of [...held.keys()]) if (id <= high) forget(id);
  };
  const release = (why: string): void => {
    d.logger.warn({ held: held.size, why }, "event stream: passing on this hub's events without the ids below them");
    for (const l of [...listeners]) l.gap?.();
    const waiting = [...held.values()].sort((a, b) => a.id - b.id);
    forgetAll();
    for (const e of waiting) if (high === undefined || e.id > high) deliver(e);
  };
  const read = async (): Promise<void> => {
    const mine = generation;
    if (held.size > 0 && heldLongest() > holdMs) release(`held over ${holdMs} ms`);
    const before = high;
    if (high === undefined) {
      const newest = (await d.store.listEvents({ order: 'desc', limit: 1 }))[0]?.id ?? 0;
      if (mine !== generation || high !== undefined) return;
      // Events of this hub recorded while listening began are not history: start below them.
      high = Math.min(newest, Math.min(...held.keys()) - 1);
      drain();
    }
    for (let round = 0; round < 10 && listeners.size > 0; round++) {
      const page = await d.store.listEvents({ since: high, limit: PAGE });
      if (mine !== generation) return;
      for (const e of page) if (e.id > (high ?? -1)) deliver(e);
      drain();
      if (page.length < PAGE) break;
    }
    // Held ones that arrived during the read: read once more, if this one got anywhere (else at the next tick).
    if (held.size > 0 && high !== before) loop?.wake();
  };
  const unsubscribeLocal = d.events.subscribe((e) => {
    if (listeners.size === 0 || (high !== undefined && e.id <= high)) return;
    if (high !== undefined && e.id === high + 1) {
      deliver(e);
      drain();
      return;
    }
    hold(e);
    if (held.size > heldMax) release(`more than ${heldMax} held`);
    else loop?.wake();
  });

  return {
    subscriberCount: () => listeners.size,
    subscribe(on, gap) {
      const listener: Listener = { on, gap };
      listeners.add(listener);
      if (!loop) {
        generation++;
        high = undefined;
        forgetAll();
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
          forgetAll();
        }
      };
    },
    stop() {
      loop?.stop();
      loop = undefined;
      listeners.clear();
      forgetAll();
      unsubscribeLocal();
    },
  };
}
