// What `atoll-hub datastore copy` moves: every table the hub keeps, parents before children (pools
// before tokens and nodes, nodes before health samples: PostgreSQL has those foreign keys). The
// bookkeeping tables of each store are not copied: the target has its own schema version, and the
// event id counter (SQLite's sqlite_sequence, PostgreSQL's event_counter) is set from the source's.
// test/unit/datastore-copy-tables.test.ts fails when a migration adds a table missing here.

export const COPY_TABLES: readonly string[] = Object.freeze([
  'pools',
  'tokens',
  'nodes',
  'certs',
  'health_samples',
  'commands',
  'events',
  'settings',
  'api_tokens',
  'rollouts',
  'node_k3s',
  'k3s_purges',
  'autoheal_records',
  'autoheal_pacing',
  'secrets',
  'version_support',
  'support_states',
  'alerts',
]);

/**
 * Tables never copied as rows: the stores' own bookkeeping, and the running hubs' membership beats and
 * singleton leases (hub/cluster/): a stopped hub's beat and leases are not state to move; the hubs on
 * the target beat and take leases of their own.
 */
export const STORE_INTERNAL_TABLES: readonly string[] = Object.freeze([
  'schema_migrations',
  'schema_version',
  'sqlite_sequence',
  'event_counter',
  'hubs',
  'leases',
]);

/** A target holding rows in any of these is refused (the migration's own default pool is no data). */
export const DATA_TABLES: readonly string[] = COPY_TABLES;

/** Rows per INSERT and per read from the source: memory stays bounded whatever the table's size. */
export const COPY_BATCH_ROWS = 500;
