// The hub's persistence boundary: the Store interface, its embedded SQLite implementation and the
// PostgreSQL one.
export * from './types.js';
export * from './day2-types.js';
export { openSqliteStore, type SqliteStoreOptions, type StoreLogger } from './sqlite-store.js';
export { MIGRATIONS, latestVersion, type Migration } from './migrations.js';
export {
  inspectDatabaseFile,
  integrityProblems,
  CA_PIN_SETTING,
  type DatabaseReport,
  type IntegrityLevel,
} from './integrity.js';
export { openPostgresStore, migratePostgres } from './postgres.js';
export type { PostgresStoreOptions, PgStoreLogger } from './pg-store.js';
export { checkPostgresUrl, redactUrl, parseDatastore, DEFAULT_POOL_SIZE, type DatastoreSpec } from './datastore-url.js';
export { latestPgVersion, type PgMigrateResult } from './pg-migrate.js';
