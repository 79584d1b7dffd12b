// The hub's store as a command on the hub's host opens it: the datastore of the data dir, from
// ATOLL_DATASTORE (or --datastore where a command has it) as `atoll-hub run` reads it, so an audit
// event written here lands where the hubs read events, on SQLite and on PostgreSQL alike.
import { existsSync } from 'node:fs';
import { openPostgresStore, openSqliteStore, parseDatastore, type Store } from '../store/index.js';

/** Runs `fn` on the data dir's store; undefined without running it when no SQLite hub.db is there yet. */
export async function withLocalStore<T>(
  dataDir: string,
  fn: (store: Store) => Promise<T>,
  datastore: string | undefined = process.env.ATOLL_DATASTORE,
): Promise<T | undefined> {
  const spec = parseDatastore(datastore, dataDir);
  if (spec.kind === 'sqlite' && !existsSync(spec.path)) return undefined;
  const store =
    spec.kind === 'sqlite'
      ? await openSqliteStore({ path: spec.path })
      : await openPostgresStore({ url: spec.url, poolSize: 1 });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
