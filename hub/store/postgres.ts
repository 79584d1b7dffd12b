// The PostgreSQL store's entry points for the rest of the hub. The driver (pg) is loaded on first use,
// so the admin commands and a hub on SQLite never load it.
import type { PgMigrateResult } from './pg-migrate.js';
import type { PostgresStoreOptions } from './pg-store.js';
import type { Store } from './types.js';

export async function openPostgresStore(opts: PostgresStoreOptions): Promise<Store> {
  return (await import('./pg-store.js')).openPostgresStore(opts);
}

/** Runs the schema migrations alone (atoll-hub datastore migrate). */
export async function migratePostgres(opts: PostgresStoreOptions): Promise<PgMigrateResult> {
  return (await import('./pg-store.js')).migratePostgres(opts);
}
