// Brings a PostgreSQL database to the newest schema this atoll knows, under a session advisory lock so
// that two hubs starting at once do not both migrate (the second waits, then finds nothing to do).
// Refuses, before changing anything, a database migrated by a newer atoll or too old to migrate.
import type pg from 'pg';
import { PG_MIGRATIONS, PG_OLDEST_MIGRATABLE, type PgMigration } from './pg-schema.js';
import { toStoreError } from './pg-errors.js';
import { StoreError } from './types.js';

/** The advisory lock key of migrations ("atoll" in ASCII); the bigint key space is atoll's own. */
export const MIGRATION_LOCK_KEY = '418565287020';

export interface PgMigrateOptions {
  migrations?: readonly PgMigration[];
  /** A non-empty database below this version is refused (default PG_OLDEST_MIGRATABLE). */
  oldestMigratable?: number;
  now?: () => number;
  onApplied?: (m: PgMigration) => void;
}

export interface PgMigrateResult {
  from: number;
  to: number;
}

export function latestPgVersion(migrations: readonly PgMigration[] = PG_MIGRATIONS): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0);
}

/** The schema version of the database, 0 when atoll never migrated it (no schema_version table). */
export async function pgSchemaVersion(client: Pick<pg.ClientBase, 'query'>): Promise<number> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('schema_version') AS t`);
  if (!exists.rows[0]?.t) return 0;
  const r = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_version');
  return Number(r.rows[0]?.v ?? 0);
}

function check(current: number, known: number, oldest: number, where: string): void {
  if (current > known) {
    throw new StoreError(
      'SCHEMA_VERSION',
      `the PostgreSQL datastore ${where} has schema version ${current}, but this atoll knows versions up to ` +
        `${known} only: it was migrated by a newer atoll. Run that newer version, or restore a backup made with this one.`,
    );
  }
  if (current > 0 && current < oldest) {
    throw new StoreError(
      'SCHEMA_VERSION',
      `the PostgreSQL datastore ${where} has schema version ${current}, too old for this atoll to migrate ` +
        `(it migrates from version ${oldest} on): run an intermediate atoll release first, then this one.`,
    );
  }
}

export async function runPgMigrations(
  pool: pg.Pool,
  where: string,
  opts: PgMigrateOptions = {},
): Promise<PgMigrateResult> {
  const migrations = [...(opts.migrations ?? PG_MIGRATIONS)].sort((a, b) => a.version - b.version);
  const known = latestPgVersion(migrations);
  const oldest = opts.oldestMigratable ?? PG_OLDEST_MIGRATABLE;
  const now = opts.now ?? Date.now;
  let client: pg.PoolClient | undefined;
  let locked = false;
  try {
    client = await pool.connect();
    await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    locked = true;
    const from = await pgSchemaVersion(client);
    check(from, known, oldest, where);
    if (from < known) {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_version (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at text NOT NULL
      )`);
    }
    for (const m of migrations) {
      if (m.version <= from) continue;
      const at = new Date(now()).toISOString();
      await client.query('BEGIN');
      try {
        for (const s of m.statements) {
          if (typeof s === 'string') await client.query(s);
          else await client.query(s.text, [at]);
        }
        await client.query('INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          at,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      opts.onApplied?.(m);
    }
    return { from, to: Math.max(from, known) };
  } catch (err) {
    throw toStoreError(err, 'migrating the schema', where);
  } finally {
    if (client) {
      // Ending the session would release the lock too; a broken client is not given back.
      const unlocked = locked
        ? await client.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]).then(
            () => true,
            () => false,
          )
        : true;
      client.release(unlocked ? undefined : true);
    }
  }
}
