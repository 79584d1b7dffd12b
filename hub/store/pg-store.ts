// The PostgreSQL store: the hub's state in a database the operator runs, for more than one machine.
// openPostgresStore makes a bounded pool, migrates the schema (pg-migrate.ts) and returns a Store
// (pg-store-impl.ts) once the database answered; a database that is unreachable, too old, or
// migrated by a newer atoll is a StoreError and nothing is left open.
import pg from 'pg';
import { systemClock, type Clock } from '../clock.js';
import { DEFAULT_POOL_SIZE, MAX_POOL_SIZE } from './datastore-url.js';
import { PgDb, DEFAULT_RETRY, type RetryPolicy } from './pg-db.js';
import { runPgMigrations, type PgMigrateOptions, type PgMigrateResult } from './pg-migrate.js';
import { PgClusterStore } from './pg-cluster-store.js';
import { StoreError, type Store } from './types.js';
import { checkPostgresUrl, redactUrl } from './datastore-url.js';

export interface PgStoreLogger {
  warn(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
}

export interface PostgresStoreOptions {
  /** postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=...] (or postgresql://). */
  url: string;
  /** Connections at most (default 10). */
  poolSize?: number;
  log?: PgStoreLogger;
  clock?: Clock;
  /** How long a request waits for a connection before it fails DATASTORE_UNAVAILABLE (default 5 s). */
  connectTimeoutMs?: number;
  /**
   * How long one statement may go without an answer before it fails DATASTORE_UNAVAILABLE and its
   * connection is dropped (default 10 s): a database behind a link that drops packets otherwise hangs
   * a request (and the membership beat) until TCP gives up, minutes later.
   */
  queryTimeoutMs?: number;
  retry?: RetryPolicy;
  /** For tests of the migration checks. */
  migrate?: PgMigrateOptions;
}

const INT8_OID = 20;
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

/** Every connection's settings: bigint as number, keepalive, a connect deadline. */
function clientConfig(opts: PostgresStoreOptions): pg.ClientConfig {
  return {
    connectionString: opts.url,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    // A query with no answer (the database's link cut: packets dropped, no error) fails and its
    // connection is dropped, so a pool never stays stuck on dead connections; idle ones are probed.
    query_timeout: opts.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: 'atoll-hub',
    // bigint columns (event ids, epoch ms) as numbers: every value atoll stores is below 2^53.
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8_OID
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
    },
  };
}

/** The store's pool: bounded, idle failures logged (exported for tests that wrap it). */
export function createPgPool(opts: PostgresStoreOptions): pg.Pool {
  const size = Math.floor(opts.poolSize ?? DEFAULT_POOL_SIZE);
  if (!(size >= 1 && size <= MAX_POOL_SIZE))
    throw new StoreError(
      'DATASTORE_UNAVAILABLE',
      `the datastore pool size must be 1 to ${MAX_POOL_SIZE} (got ${opts.poolSize})`,
    );
  const pool = new pg.Pool({ ...clientConfig(opts), max: size, idleTimeoutMillis: 30_000 });
  // An idle connection that breaks (the server restarts) is dropped by the pool, which then emits this;
  // without a listener it would end the process. The next request opens a new connection.
  pool.on('error', (err) => opts.log?.warn({ err: err.message }, 'a PostgreSQL connection of the pool failed'));
  return pool;
}

/** Runs the migrations alone (`atoll-hub datastore migrate`) and closes the pool. */
export async function migratePostgres(opts: PostgresStoreOptions): Promise<PgMigrateResult> {
  checkPostgresUrl(opts.url);
  const pool = createPgPool({ ...opts, poolSize: 1 });
  try {
    return await runPgMigrations(pool, redactUrl(opts.url), migrateOptions(opts));
  } finally {
    await pool.end().catch(() => undefined);
  }
}

function migrateOptions(opts: PostgresStoreOptions): PgMigrateOptions {
  const clock = opts.clock ?? systemClock;
  return {
    now: () => clock.now(),
    onApplied: (m) => opts.log?.info?.({ version: m.version, name: m.name }, 'migrated the PostgreSQL datastore'),
    ...opts.migrate,
  };
}

export async function openPostgresStore(opts: PostgresStoreOptions): Promise<Store> {
  checkPostgresUrl(opts.url);
  const where = redactUrl(opts.url);
  const pool = createPgPool(opts);
  try {
    await runPgMigrations(pool, where, migrateOptions(opts));
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  const listener = {
    client: () => new pg.Client(clientConfig(opts)),
    onFailure: (err: Error) =>
      opts.log?.warn({ err: err.message }, 'the PostgreSQL notification connection failed; reconnecting'),
  };
  const db = new PgDb(pool, where, opts.retry ?? DEFAULT_RETRY, listener);
  return new PgClusterStore(db, opts.clock ?? systemClock);
}
