// The events table of the SQLite store: append, replace (a folded repeat gets a new id, so the id
// stays a monotonic cursor), list by cursor, stats, and pruning in small bounded batches.
import type Database from 'better-sqlite3';
import { eventFromRow, type EventRow } from './rows.js';
import type { EventPrune, EventQuery, EventRecord, EventStats, NewEvent } from './types.js';

const DEFAULT_EVENT_LIMIT = 100;
const MAX_EVENT_LIMIT = 1000;
/** One prune call deletes at most this many rows, so one transaction stays short. */
const MAX_PRUNE_BATCH = 10_000;

export type EventInsert = Omit<EventRow, 'id'>;

export function toEventRow(e: NewEvent, at: string): EventInsert {
  return {
    at,
    type: e.type,
    node_id: e.nodeId ?? null,
    pool: e.pool ?? null,
    actor: e.actor,
    message: e.message,
    data: JSON.stringify(e.data ?? {}),
  };
}

function finite(value: number | undefined, fallback: number): number {
  const n = Number(value);
  return value === undefined || !Number.isFinite(n) ? fallback : n;
}

export class SqliteEvents {
  private readonly queries = new Map<string, Database.Statement<[Record<string, unknown>], EventRow>>();
  private readonly st;

  constructor(private readonly db: Database.Database) {
    this.st = {
      insert: db.prepare<EventInsert>(`INSERT INTO events (at, type, node_id, pool, actor, message, data)
        VALUES (@at, @type, @node_id, @pool, @actor, @message, @data)`),
      remove: db.prepare<[number]>('DELETE FROM events WHERE id = ?'),
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM events'),
      oldest: db.prepare<[], { at: string }>('SELECT at FROM events ORDER BY id LIMIT 1'),
      // Both look at the oldest rows by id only (an index range): a prune never scans the table.
      pruneOldest: db.prepare<[number]>('DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?)'),
      pruneBefore: db.prepare<[number, string]>(`DELETE FROM events WHERE id IN
        (SELECT id FROM (SELECT id, at FROM events ORDER BY id LIMIT ?) WHERE at < ?)`),
    };
  }

  append(event: NewEvent): EventRecord {
    const row = toEventRow(event, new Date().toISOString());
    const id = Number(this.st.insert.run(row).lastInsertRowid);
    return eventFromRow({ id, ...row });
  }

  /** Deletes `oldId` (if still there) and appends `event`, atomically: the new row has a new, higher id. */
  replace(oldId: number | null, event: NewEvent): EventRecord {
    return this.db
      .transaction(() => {
        if (oldId !== null) this.st.remove.run(oldId);
        return this.append(event);
      })
      .immediate();
  }

  list(query: EventQuery): EventRecord[] {
    const since = Math.max(0, Math.floor(finite(query.since, 0)));
    const limit = Math.min(MAX_EVENT_LIMIT, Math.max(1, Math.floor(finite(query.limit, DEFAULT_EVENT_LIMIT))));
    const params: Record<string, unknown> = { since, limit };
    const where = ['id > @since'];
    if (query.before !== undefined) {
      where.push('id < @before');
      params.before = Math.floor(finite(query.before, 0));
    }
    const desc = query.order === 'desc' || (query.order === undefined && query.before !== undefined);
    if (query.type !== undefined) {
      where.push('type = @type');
      params.type = query.type;
    }
    if (query.nodeId !== undefined) {
      where.push('node_id = @nodeId');
      params.nodeId = query.nodeId;
    }
    if (query.pool !== undefined) {
      where.push('pool = @pool');
      params.pool = query.pool;
    }
    const sql = `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY id${desc ? ' DESC' : ''} LIMIT @limit`;
    let stmt = this.queries.get(sql);
    if (!stmt) {
      stmt = this.db.prepare<[Record<string, unknown>], EventRow>(sql);
      this.queries.set(sql, stmt);
    }
    return stmt.all(params).map(eventFromRow);
  }

  stats(): EventStats {
    return { count: this.st.count.get()?.n ?? 0, oldestAt: this.st.oldest.get()?.at ?? null };
  }

  prune(opts: EventPrune): number {
    const limit = Math.min(MAX_PRUNE_BATCH, Math.max(1, Math.floor(finite(opts.limit, 1))));
    return this.db
      .transaction(() => {
        let deleted = 0;
        if (opts.maxCount !== undefined) {
          const excess = (this.st.count.get()?.n ?? 0) - Math.max(0, Math.floor(opts.maxCount));
          if (excess > 0) deleted += this.st.pruneOldest.run(Math.min(excess, limit)).changes;
        }
        if (opts.before !== undefined && deleted < limit)
          deleted += this.st.pruneBefore.run(limit - deleted, opts.before).changes;
        return deleted;
      })
      .immediate();
  }
}
