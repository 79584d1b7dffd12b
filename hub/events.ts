// The event log: durable (store) first, then fanned out to live listeners (SSE, tests, metrics).
import { EventEmitter } from 'node:events';
import type { EventRecord, NewEvent, Store } from './store/types.js';
import type { Logger } from './logger.js';

export interface EventLog {
  /** Resolves once the event is durable. */
  record(event: NewEvent): Promise<EventRecord>;
  /** Like record, but never throws: for events whose loss must not break the caller (logged instead). */
  note(event: NewEvent): Promise<EventRecord | undefined>;
  subscribe(listener: (e: EventRecord) => void): () => void;
  /** Live listeners now (event streams, metrics). */
  subscriberCount(): number;
  /** Fans out an event that is already durable (written by another store call, e.g. store.enroll). */
  publish(event: EventRecord): void;
}

export function createEventLog(store: Store, logger: Logger): EventLog {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const record = async (event: NewEvent): Promise<EventRecord> => {
    const saved = await store.appendEvent(event);
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
