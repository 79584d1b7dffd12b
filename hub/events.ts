// The event log: durable (store) first, then fanned out to live listeners (SSE, tests, metrics).
// Repeats from one source fold into a bounded number of rows (event-fold.ts).
import { EventEmitter } from 'node:events';
import type { EventRecord, NewEvent, Store } from './store/types.js';
import type { Logger } from './logger.js';
import { DEFAULT_FOLD, EventFolder, type FoldOptions, type FoldSlot } from './event-fold.js';

export interface EventLog {
  /** Resolves once the event is durable. */
  record(event: NewEvent): Promise<EventRecord>;
  /** Like record, but never throws: for events whose loss must not break the caller (logged instead). */
  note(event: NewEvent): Promise<EventRecord | undefined>;
  /** `onGap` is for the feed of several hubs (cluster/event-feed.ts); this hub's own log has no gaps. */
  subscribe(listener: (e: EventRecord) => void, onGap?: () => void): () => void;
  /** Live listeners now (event streams, metrics). */
  subscriberCount(): number;
  /** Fans out an event that is already durable (written by another store call, e.g. store.enroll). */
  publish(event: EventRecord): void;
}

export interface EventLogOptions {
  fold?: Partial<FoldOptions>;
  now?: () => number;
}

export function createEventLog(store: Store, logger: Logger, opts: EventLogOptions = {}): EventLog {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const folder = new EventFolder({ ...DEFAULT_FOLD, ...opts.fold }, opts.now ?? Date.now);
  const write = async (slot: FoldSlot | undefined, event: NewEvent): Promise<EventRecord> => {
    const fold = slot && folder.plan(slot, event);
    if (!slot || !fold) return store.appendEvent(event);
    // Only a stored row moves the count on: after a failed write the next repeat counts from the last row.
    const saved = await store.replaceEvent(fold.replaces, fold.event);
    slot.repeat = { id: saved.id, count: fold.count, since: fold.since };
    return saved;
  };
  const record = async (event: NewEvent): Promise<EventRecord> => {
    const slot = folder.slot(event);
    let saved: EventRecord;
    if (slot) {
      const turn = slot.chain.then(() => write(slot, event));
      slot.chain = turn.catch(() => undefined);
      saved = await turn;
    } else {
      saved = await write(undefined, event);
    }
    emitter.emit('event', saved);
    return saved;
  };
  return {
    record,
    async note(event) {
      try {
        return await record(event);
      } catch (err) {
        logger.error({ err, type: event.type, nodeId: event.nodeId }, 'could not record event');
        return undefined;
      }
    },
    publish(event) {
      emitter.emit('event', event);
    },
    subscribe(listener) {
      emitter.on('event', listener);
      return () => emitter.off('event', listener);
    },
    subscriberCount: () => emitter.listenerCount('event'),
  };
}
