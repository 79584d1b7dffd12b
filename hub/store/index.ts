// The hub's persistence boundary: the Store interface and its embedded SQLite implementation.
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
