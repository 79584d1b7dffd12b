// kine's operations (pkg/logstructured + sqllog), run on the datastore thread against one
// PostgreSQL connection: create/update/delete append rows guarded by the unique
// (name, prev_revision) index; reads take the newest row per name; compaction follows kine's.
import type pg from 'pg';
import * as sql from './kine-sql.js';
import { toRow, type CompactResult, type KineRow, type WriteResult } from './kine-row.js';

type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

const UNIQUE_VIOLATION = '23505';
const SERIALIZATION_FAILURE = '40001';

function pgCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

function constraintOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'constraint' in e
    ? String((e as { constraint: unknown }).constraint)
    : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class KineOps {
  constructor(private readonly q: Query) {}

  /** Tables and indexes, the compact_rev_key row and kine's health key; returns the current revision. */
  async setup(): Promise<number> {
    for (const stmt of sql.SCHEMA) {
      try {
        await this.q(stmt);
      } catch (e) {
        // two servers creating the table at once: one of them loses the race on the catalog
        if (pgCode(e) !== UNIQUE_VIOLATION && pgCode(e) !== '42P07') throw e;
      }
    }
    const compactRows = (await this.q(sql.COMPACT_ROWS)).rows.map(toRow);
    if (compactRows.length === 0) await this.create('compact_rev_key', Buffer.alloc(0), 0);
    const health = await this.get('/registry/health');
    if (!health || health.deleted) await this.create('/registry/health', Buffer.from('{"health":"true"}'), 0);
    return this.currentRev();
  }

  async currentRev(): Promise<number> {
    return Number((await this.q(sql.CURRENT_REV)).rows[0]?.rev ?? 0);
  }

  async compactRev(): Promise<number> {
    return Number((await this.q(sql.COMPACT_REV)).rows[0]?.rev ?? 0);
  }

  async list(prefix: string): Promise<{ rev: number; rows: KineRow[] }> {
    const r = await this.q(sql.LIST_CURRENT, [`${prefix}%`]);
    const rev = r.rows.length ? Number(r.rows[0]?.current_rev) : await this.currentRev();
    return { rev, rows: r.rows.map(toRow) };
  }

  async get(name: string): Promise<KineRow | undefined> {
    const r = await this.q(sql.GET_LATEST, [name]);
    return r.rows[0] ? toRow(r.rows[0]) : undefined;
  }

  async after(rev: number, limit: number): Promise<KineRow[]> {
    return (await this.q(sql.AFTER, [rev, limit])).rows.map(toRow);
  }

  async create(name: string, value: Uint8Array, lease: number): Promise<WriteResult> {
    const latest = await this.get(name);
    if (latest && !latest.deleted) return { ok: false, reason: 'exists' };
    return this.insert(name, true, false, 0, latest?.id ?? 0, lease, value, 'exists');
  }

  async update(name: string, value: Uint8Array, expected: number, lease: number): Promise<WriteResult> {
    const latest = await this.get(name);
    if (!latest || latest.deleted) return { ok: false, reason: 'gone' };
    if (latest.id !== expected) return { ok: false, reason: 'conflict' };
    const createRev = latest.created ? latest.id : latest.createRevision;
    return this.insert(name, false, false, createRev, expected, lease, value, 'conflict');
  }

  async delete(name: string, expected: number): Promise<WriteResult> {
    const latest = await this.get(name);
    if (!latest || latest.deleted) return { ok: false, reason: 'gone' };
    if (expected !== 0 && latest.id !== expected) return { ok: false, reason: 'conflict' };
    return this.insert(name, false, true, 0, latest.id, 0, null, 'conflict');
  }

  /** Fills a missing id with a `gap-N` row; false when the id turned out to be taken. */
  async fill(id: number): Promise<boolean> {
    try {
      await this.q(sql.FILL, [id]);
      return true;
    } catch (e) {
      if (pgCode(e) === UNIQUE_VIOLATION) return false;
      throw e;
    }
  }

  /** kine's compactor: batches of `batch` revisions, never the newest `retain`, one serializable transaction each. */
  async compact(retain: number, batch: number): Promise<CompactResult | undefined> {
    const start = await this.compactRev();
    const target = (await this.currentRev()) - retain;
    if (target <= start) return undefined;
    let compacted = start;
    let deleted = 0;
    while (compacted < target) {
      const step = Math.min(compacted + batch, target);
      await this.q('BEGIN ISOLATION LEVEL SERIALIZABLE');
      try {
        if ((await this.compactRev()) !== compacted) {
          await this.q('ROLLBACK');
          break; // another server compacted meanwhile
        }
        const r = await this.q(sql.COMPACT, [step]);
        await this.q(sql.SET_COMPACT_REV, [step]);
        await this.q('COMMIT');
        deleted += r.rowCount ?? 0;
        compacted = step;
      } catch (e) {
        await this.q('ROLLBACK').catch(() => undefined);
        if (pgCode(e) === SERIALIZATION_FAILURE) break;
        throw e;
      }
    }
    return compacted > start ? { from: start, to: compacted, deleted } : undefined;
  }

  private async insert(
    name: string,
    created: boolean,
    deleted: boolean,
    createRev: number,
    prevRev: number,
    lease: number,
    value: Uint8Array | null,
    onCollision: 'exists' | 'conflict',
  ): Promise<WriteResult> {
    const args = [name, created ? 1 : 0, deleted ? 1 : 0, createRev, prevRev, lease, value ? Buffer.from(value) : null];
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.q(sql.INSERT, args);
        return { ok: true, id: Number(r.rows[0]?.id) };
      } catch (e) {
        if (pgCode(e) !== UNIQUE_VIOLATION) throw e;
        // a poller filled our id with a gap row before we committed: take a new id
        if (constraintOf(e) === 'kine_pkey' && attempt < 20) {
          await sleep(10 * (attempt + 1));
          continue;
        }
        return { ok: false, reason: onCollision };
      }
    }
  }
}
