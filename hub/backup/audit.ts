// The audit event of a backup or restore run from the command line, written into the hub's store
// beside a running hub: on SQLite one INSERT (the events table's AUTOINCREMENT id keeps the order with
// the hub's own), on PostgreSQL through the store (its event counter).
import type { DatastoreSpec } from '../store/datastore-url.js';
import type { NewEvent } from '../store/log-records.js';
import { openPostgresStore } from '../store/postgres.js';
import { appendEventToFile } from '../store/sqlite-backup.js';

export async function recordAdminEvent(spec: DatastoreSpec, e: NewEvent): Promise<void> {
  if (spec.kind === 'sqlite') return appendEventToFile(spec.path, e);
  const store = await openPostgresStore({ url: spec.url, poolSize: 1 });
  try {
    await store.appendEvent(e);
  } finally {
    await store.close();
  }
}
