// Folding of repeats in the event log. The same thing over and over from one source (a node's
// reconnect storm, one token's denied API calls) becomes a bounded number of rows: within a window the
// first few are written as they are, the rest fold into one row that carries the count
// (`data.repeated`, `data.count`) and is rewritten as repeats arrive. Each rewrite is a new row with a
// new id that replaces the previous one (`data.replaces`), so cursors (id > since) stay correct.
import type { NewEvent } from './store/types.js';

/** Which event types fold, and what makes two of them "the same". */
const FOLD_KEYS: Record<string, (e: NewEvent) => string | undefined> = {
  'node.connected': (e) => e.nodeId ?? undefined,
  'node.disconnected': (e) => e.nodeId ?? undefined,
  'node.health': (e) => e.nodeId ?? undefined,
  'api.denied': (e) => `${e.actor}\u0000${String(e.data?.action ?? '')}`,
};

export interface FoldOptions {
  /** Length of a fold window (ms). */
  windowMs: number;
  /** Events per source and window written as they are before folding starts. */
  verbatim: number;
  /** Sources tracked at once (memory bound); the oldest is forgotten first. */
  maxKeys: number;
}

export const DEFAULT_FOLD: FoldOptions = { windowMs: 60_000, verbatim: 3, maxKeys: 10_000 };

export interface FoldSlot {
  windowStart: number;
  written: number;
  /** The current repeat row of this window. */
  repeat?: { id: number; count: number; since: string };
  /** Writes of one source run one after the other (a fold rewrites the previous repeat row). */
  chain: Promise<unknown>;
}

export class EventFolder {
  private readonly slots = new Map<string, FoldSlot>();

  constructor(
    private readonly opts: FoldOptions,
    private readonly now: () => number,
  ) {}

  /** The slot an event folds into, or undefined when its type never folds. */
  slot(e: NewEvent): FoldSlot | undefined {
    const keyOf = FOLD_KEYS[e.type];
    const source = keyOf?.(e);
    if (source === undefined) return undefined;
    const key = `${e.type}\u0000${source}`;
    const now = this.now();
    const old = this.slots.get(key);
    if (old && now - old.windowStart < this.opts.windowMs) return old;
    // A new window. A storm that goes on (the last window folded) keeps folding: one row per window.
    const stormy = Boolean(old?.repeat) && now - (old?.windowStart ?? 0) < 2 * this.opts.windowMs;
    const next: FoldSlot = {
      windowStart: now,
      written: stormy ? this.opts.verbatim : 0,
      chain: old?.chain ?? Promise.resolve(),
    };
    // Re-inserted, so the map stays ordered by window start and the oldest goes first.
    this.slots.delete(key);
    while (this.slots.size >= this.opts.maxKeys) {
      const first = this.slots.keys().next();
      if (first.done) break;
      this.slots.delete(first.value);
    }
    this.slots.set(key, next);
    return next;
  }

  /** How `e` is written in `slot`: as is, or as the next version of the repeat row. */
  plan(
    slot: FoldSlot,
    e: NewEvent,
  ): { replaces: number | null; event: NewEvent; count: number; since: string } | undefined {
    if (slot.written < this.opts.verbatim) {
      slot.written++;
      return undefined;
    }
    const count = (slot.repeat?.count ?? 0) + 1;
    const since = slot.repeat?.since ?? new Date(this.now()).toISOString();
    const replaces = slot.repeat?.id ?? null;
    return {
      replaces,
      count,
      since,
      event: {
        ...e,
        message: `${e.message} (${count} more like this since ${since})`,
        data: { ...e.data, repeated: true, count, since, replaces },
      },
    };
  }

  size(): number {
    return this.slots.size;
  }
}
