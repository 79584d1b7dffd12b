// The PostgreSQL end of `atoll-hub datastore copy`: a source read in one REPEATABLE READ snapshot
// through a cursor (bounded memory), or a target migrated and then filled in one transaction with its
// tables locked. Refuses a source that a hub is connected to (application_name atoll-hub), unless
// `online` (a backup beside running hubs): then it reads one SERIALIZABLE READ ONLY DEFERRABLE
// snapshot, as pg_dump --serializable-deferrable does: it never blocks the hubs' writes, never fails
// with a serialization error, and sees each of their transactions whole or not at all.
import pg from 'pg';
import { createPgPool } from '../pg-store.js';
import { latestPgVersion, pgSchemaVersion, runPgMigrations } from '../pg-migrate.js';
import { toStoreError } from '../pg-errors.js';
import { checkPostgresUrl, redactUrl } from '../datastore-url.js';
import { StoreError } from '../types.js';
import { COPY_TABLES } from './copy-tables.js';
import { quoteIdent, type CopySource, type CopyTarget, type Row } from './copy-types.js';

const APP = 'atoll-hub-copy';

async function connect(url: string): Promise<{ pool: pg.Pool; client: pg.PoolClient; where: string }> {
  checkPostgresUrl(url);
  const where = redactUrl(url);
  const pool = createPgPool({ url, poolSize: 2 });
  try {
    const client = await pool.connect();
    await client.query(`SET application_name = '${APP}'`);
    return { pool, client, where };
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw toStoreError(err, 'connecting', where);
  }
}

async function tableColumns(client: pg.PoolClient, table: string): Promise<string[]> {
  const r = await client.query<{ c: string }>(
    `SELECT column_name AS c FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return r.rows.map((x) => x.c);
}

export async function openPgSource(url: string, opts: { online?: boolean } = {}): Promise<CopySource> {
  const { pool, client, where } = await connect(url);
  const fail = async (err: unknown, what: string): Promise<never> => {
    client.release(true);
    await pool.end().catch(() => undefined);
    throw err instanceof StoreError ? err : toStoreError(err, what, where);
  };
  try {
    const running = await client.query<{ n: string }>(
      `SELECT COUNT(*) AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'atoll-hub' AND pid <> pg_backend_pid()`,
    );
    if (!opts.online && Number(running.rows[0]?.n ?? 0) > 0)
      throw new StoreError(
        'CONFLICT',
        `a hub is connected to ${where} (${running.rows[0]?.n} connections): stop every hub on it before copying`,
      );
    const version = await pgSchemaVersion(client);
    if (version !== latestPgVersion())
      throw new StoreError(
        'SCHEMA_VERSION',
        `${where} has schema version ${version}, this atoll writes version ${latestPgVersion()}: ` +
          (version < latestPgVersion()
            ? 'run `atoll-hub datastore migrate` on it first'
            : 'it was migrated by a newer atoll; copy it with that one'),
      );
    await client.query(
      opts.online
        ? 'BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE'
        : 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  } catch (err) {
    return fail(err, 'reading');
  }
  return {
    where,
    async tables() {
      const r = await client.query<{ t: string }>(
        `SELECT table_name AS t FROM information_schema.tables
          WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
      );
      return r.rows.map((x) => x.t);
    },
    columns: (table) => tableColumns(client, table),
    async count(table) {
      return Number((await client.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${quoteIdent(table)}`)).rows[0].n);
    },
    async *batches(table, cols, size) {
      await client.query(
        `DECLARE atoll_copy NO SCROLL CURSOR FOR SELECT ${cols.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)}`,
      );
      try {
        for (;;) {
          const r = await client.query<Row>({ text: `FETCH ${Math.floor(size)} FROM atoll_copy`, rowMode: 'array' });
          if (r.rows.length === 0) break;
          yield r.rows;
        }
      } finally {
        await client.query('CLOSE atoll_copy');
      }
    },
    async lastEventId() {
      const r = await client.query<{ c: number | null; m: number | null }>(
        'SELECT (SELECT last_id FROM event_counter) AS c, (SELECT MAX(id) FROM events) AS m',
      );
      return Math.max(Number(r.rows[0]?.c ?? 0), Number(r.rows[0]?.m ?? 0));
    },
    async close() {
      await client.query('COMMIT').catch(() => undefined);
      client.release();
      await pool.end().catch(() => undefined);
    },
  };
}

export async function openPgTarget(url: string): Promise<CopyTarget> {
  const { pool, client, where } = await connect(url);
  const q = async (text: string, values?: unknown[]) => {
    try {
      return await client.query(text, values);
    } catch (err) {
      throw toStoreError(err, 'copying', where);
    }
  };
  return {
    where,
    async migrate() {
      await runPgMigrations(pool, where).catch((err: unknown) => {
        throw err instanceof StoreError ? err : toStoreError(err, 'migrating the schema', where);
      });
    },
    columns: (table) => tableColumns(client, table),
    async begin() {
      await q('BEGIN');
      // Another copy (or a hub) starting meanwhile waits, then finds the tables full.
      await q(`LOCK TABLE ${[...COPY_TABLES, 'event_counter'].map(quoteIdent).join(', ')} IN EXCLUSIVE MODE`);
    },
    async count(table, dataOnly) {
      const cond = dataOnly && table === 'pools' ? ` WHERE name <> 'default'` : '';
      return Number((await q(`SELECT COUNT(*) AS n FROM ${quoteIdent(table)}${cond}`)).rows[0].n);
    },
    async clearSeeded() {
      await q(`DELETE FROM pools WHERE name = 'default'`);
    },
    async insert(table, cols, rows) {
      if (rows.length === 0) return;
      const values: unknown[] = [];
      const tuples = rows.map((r) => {
        const start = values.length;
        values.push(...r);
        return `(${r.map((_, i) => `$${start + i + 1}`).join(', ')})`;
      });
      await q(
        `INSERT INTO ${quoteIdent(table)} (${cols.map(quoteIdent).join(', ')}) VALUES ${tuples.join(', ')}`,
        values,
      );
    },
    async setLastEventId(id) {
      await q('UPDATE event_counter SET last_id = $1', [id]);
    },
    async commit() {
      await q('COMMIT');
    },
    async rollback() {
      await client.query('ROLLBACK').catch(() => undefined);
    },
    async close() {
      client.release();
      await pool.end().catch(() => undefined);
    },
  };
}
