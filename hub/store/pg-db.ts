// The PostgreSQL store's access to its database: one bounded pg.Pool, named (prepared) statements,
// transactions, a bounded retry with jitter of serialization failures and deadlocks, and every
// failure mapped to a StoreError (pg-errors.ts). The only module besides pg-store.ts that holds a pool.
import pg from 'pg';
import { isRetryable, toStoreError } from './pg-errors.js';
import { StoreError } from './types.js';
import { PgChanges } from './pg-changes.js';

/** A fixed statement with a stable name: prepared once per connection, then only executed. */
export interface Sql {
  readonly name: string;
  readonly text: string;
}

export const sql = (name: string, text: string): Sql => Object.freeze({ name: `atoll_${name}`, text });

/** What a store method runs its statements on: the pool (autocommit) or one transaction's client. */
export interface Exec {
  rows<T>(q: Sql, params?: readonly unknown[]): Promise<T[]>;
  row<T>(q: Sql, params?: readonly unknown[]): Promise<T | undefined>;
  /** Rows changed (UPDATE/DELETE/INSERT). */
  count(q: Sql, params?: readonly unknown[]): Promise<number>;
}

export interface RetryPolicy {
  /** Tries in all, at least 1 (default 8). */
  attempts: number;
  /** Upper bound of the first backoff, ms; doubled per try up to maxDelayMs (full jitter). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ attempts: 8, baseDelayMs: 4, maxDelayMs: 200 });

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

function exec(on: Queryable): Exec {
  const q = (s: Sql, params?: readonly unknown[]) =>
    on.query({ name: s.name, text: s.text, values: params ? [...params] : [] });
  return {
    rows: async <T>(s: Sql, params?: readonly unknown[]) => (await q(s, params)).rows as T[],
    row: async <T>(s: Sql, params?: readonly unknown[]) => (await q(s, params)).rows[0] as T | undefined,
    count: async (s: Sql, params?: readonly unknown[]) => (await q(s, params)).rowCount ?? 0,
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class PgDb {
  private closed = false;
  private readonly auto: Exec;
  /** Other writers' committed changes, heard on a connection of its own (opened on first use). */
  readonly changes: PgChanges;

  constructor(
    readonly pool: pg.Pool,
    /** The database as shown in messages: its URL without the password. */
    readonly where: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    listener?: { client(): pg.Client; onFailure?(err: Error): void },
  ) {
    this.auto = exec(pool);
    // Without a way to open its own connection (tests that wrap a pool), it hears nothing: never live.
    this.changes = new PgChanges(listener);
  }

  /** Statements in autocommit (each its own transaction), retried when PostgreSQL asks for it. */
  run<T>(what: string, fn: (ex: Exec) => Promise<T>): Promise<T> {
    return this.retried(what, () => fn(this.auto));
  }

  /**
   * One transaction on one connection: committed when `fn` resolves, rolled back when it throws. A
   * serialization failure or deadlock runs the whole transaction again (fn must be free of side
   * effects outside the database), at most `retry.attempts` times. Row locks (SELECT ... FOR UPDATE)
   * give what SQLite's BEGIN IMMEDIATE gave; `serializable` is there for reads that need a snapshot.
   */
  tx<T>(what: string, fn: (ex: Exec) => Promise<T>, opts: { serializable?: boolean } = {}): Promise<T> {
    return this.retried(what, async () => {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        await client.query(opts.serializable ? 'BEGIN ISOLATION LEVEL SERIALIZABLE' : 'BEGIN');
        const out = await fn(exec(client));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        try {
          // A statement that got no answer in time: the connection is stuck behind it; drop it.
          if (/Query read timeout/i.test(err instanceof Error ? err.message : '')) throw err;
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          // The connection is gone (or unusable): do not give it back to the pool.
          broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
        }
        throw err;
      } finally {
        client.release(broken);
      }
    });
  }

  private async retried<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError('IO', `${what} failed: the hub datastore is closed`);
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (err) {
        if (!isRetryable(err) || i >= this.retry.attempts) throw toStoreError(err, what, this.where);
        const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (i - 1));
        await sleep(Math.random() * cap);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.changes.close();
    try {
      await this.pool.end();
    } catch (err) {
      throw toStoreError(err, 'closing the hub datastore', this.where);
    }
  }
}
