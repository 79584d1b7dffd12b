// The events table of the PostgreSQL store, and its cursor.
//
// Readers page with `id > since`. With several writers (hubs, or one hub's pool) a plain sequence is
// not enough: ids are taken at insert and become visible at commit, in another order, so a reader can
// pass id 11 while 10 is still uncommitted, and never see 10. Here the id is taken from a one-row
// counter (event_counter) by the same statement that inserts the event; the counter's row lock is held
// until the transaction ends, so the next writer takes its id only after this one has committed (or
// rolled back, handing the same id on: there are no gaps either). Ids therefore become visible in id
// order, and a reader that sees id N sees every id below it. Every transaction appends its event as
// its last statement, so the lock is held for that statement and the commit only.
import { eventFromRow, type EventRow } from './rows.js';
import { sql, type Exec, type Sql } from './pg-db.js';
import type { EventPrune, EventQuery, EventRecord, EventStats, NewEvent } from './types.js';

const DEFAULT_EVENT_LIMIT = 100;
const MAX_EVENT_LIMIT = 1000;
/** One prune call deletes at most this many rows, so one transaction stays short. */
const MAX_PRUNE_BATCH = 10_000;

const Q = {
  append: sql(
    'event_append',
    `WITH c AS (UPDATE event_counter SET last_id = last_id + 1 RETURNING last_id)
     INSERT INTO events (id, at, type, node_id, pool, actor, message, data)
     SELECT c.last_id, $1, $2, $3, $4, $5, $6, $7 FROM c RETURNING id`,
  ),
  remove: sql('event_delete', 'DELETE FROM events WHERE id = $1'),
  count: sql('event_count', 'SELECT COUNT(*)::bigint AS n FROM events'),
  oldest: sql('event_oldest', 'SELECT at FROM events ORDER BY id LIMIT 1'),
  // Both look at the oldest rows by id only (an index range): a prune never scans the table.
  pruneOldest: sql('event_prune_oldest', 'DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT $1)'),
  pruneBefore: sql(
    'event_prune_before',
    `DELETE FROM events WHERE id IN (SELECT id FROM (SELECT id, at FROM events ORDER BY id LIMIT $1) o WHERE at < $2)`,
  ),
};

function finite(value: number | undefined, fallback: number): number {
  const n = Number(value);
  return value === undefined || !Number.isFinite(n) ? fallback : n;
}

/** Appends the event; call it as the last statement of a transaction (see the header). */
export async function appendEvent(ex: Exec, e: NewEvent, at: string): Promise<EventRecord> {
  const row: Omit<EventRow, 'id'> = {
    at,
    type: e.type,
    node_id: e.nodeId ?? null,
    pool: e.pool ?? null,
    actor: e.actor,
    message: e.message,
    data: JSON.stringify(e.data ?? {}),
  };
  const r = await ex.row<{ id: number }>(Q.append, [
    row.at,
    row.type,
    row.node_id,
    row.pool,
    row.actor,
    row.message,
    row.data,
  ]);
  return eventFromRow({ id: Number(r?.id), ...row });
}

export async function removeEvent(ex: Exec, id: number): Promise<void> {
  await ex.count(Q.remove, [id]);
}

/** One named statement per combination of filters (at most 2^5 of them), named after the combination. */
function listSql(filters: string[], desc: boolean): Sql {
  const where = filters.map((f, i) => `${f} $${i + 1}`).join(' AND ');
  const name = filters.map((f) => f.replace('>', 'gt').replace('<', 'lt').replace(/\W+/g, '')).join('_');
  return sql(
    `event_list_${name}_${desc ? 'desc' : 'asc'}`,
    `SELECT * FROM events WHERE ${where} ORDER BY id${desc ? ' DESC' : ''} LIMIT $${filters.length + 1}`,
  );
}

export async function listEvents(ex: Exec, query: EventQuery): Promise<EventRecord[]> {
  const since = Math.max(0, Math.floor(finite(query.since, 0)));
  const limit = Math.min(MAX_EVENT_LIMIT, Math.max(1, Math.floor(finite(query.limit, DEFAULT_EVENT_LIMIT))));
  const filters = ['id >'];
  const params: unknown[] = [since];
  if (query.before !== undefined) {
    filters.push('id <');
    params.push(Math.floor(finite(query.before, 0)));
  }
  const desc = query.order === 'desc' || (query.order === undefined && query.before !== undefined);
  for (const [col, value] of [
    ['type', query.type],
    ['node_id', query.nodeId],
    ['pool', query.pool],
  ] as const) {
    if (value === undefined) continue;
    filters.push(`${col} =`);
    params.push(value);
  }
  params.push(limit);
  const rows = await ex.rows<EventRow>(listSql(filters, desc), params);
  return rows.map((r) => eventFromRow({ ...r, id: Number(r.id) }));
}

export async function eventStats(ex: Exec): Promise<EventStats> {
  const count = await ex.row<{ n: number }>(Q.count);
  const oldest = await ex.row<{ at: string }>(Q.oldest);
  return { count: Number(count?.n ?? 0), oldestAt: oldest?.at ?? null };
}

export async function pruneEvents(ex: Exec, opts: EventPrune): Promise<number> {
  const limit = Math.min(MAX_PRUNE_BATCH, Math.max(1, Math.floor(finite(opts.limit, 1))));
  let deleted = 0;
  if (opts.maxCount !== undefined) {
    const excess = Number((await ex.row<{ n: number }>(Q.count))?.n ?? 0) - Math.max(0, Math.floor(opts.maxCount));
    if (excess > 0) deleted += await ex.count(Q.pruneOldest, [Math.min(excess, limit)]);
  }
  if (opts.before !== undefined && deleted < limit)
    deleted += await ex.count(Q.pruneBefore, [limit - deleted, opts.before]);
  return deleted;
}
