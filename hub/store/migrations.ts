// Schema migrations for the embedded SQLite store. Append new migrations at the end with the next
// version number; never edit one that has shipped. Each runs in its own IMMEDIATE transaction together
// with its row in schema_migrations, so a crash leaves the database at a whole version.
import type Database from 'better-sqlite3';
import { StoreError } from './types.js';
import { moveSettings, V4_TABLES } from './migrate-settings.js';
import { V8_CLUSTER_TABLES } from './sqlite-cluster.js';
import { V7_DAY2_TABLES } from './sqlite-day2.js';
import { DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE } from './pool-sizes.js';

export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database, at: string): void;
}

const V1_SCHEMA = `
CREATE TABLE pools (
  name        TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  labels      TEXT NOT NULL DEFAULT '{}',
  taints      TEXT NOT NULL DEFAULT '[]',
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

-- Deleting a pool is refused while it has live tokens; dead ones (revoked, expired, used up) go with it.
CREATE TABLE tokens (
  id          TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL UNIQUE,
  pool        TEXT NOT NULL REFERENCES pools(name) ON DELETE CASCADE,
  description TEXT NOT NULL DEFAULT '',
  created_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  max_uses    INTEGER,
  uses        INTEGER NOT NULL DEFAULT 0,
  revoked_at  TEXT,
  created_by  TEXT NOT NULL
);
CREATE INDEX tokens_pool ON tokens(pool);

CREATE TABLE nodes (
  id            TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  pool          TEXT NOT NULL REFERENCES pools(name),
  state         TEXT NOT NULL,
  labels        TEXT NOT NULL DEFAULT '{}',
  facts         TEXT NOT NULL,
  agent_version TEXT NOT NULL,
  token_id      TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  last_seen     TEXT,
  health        TEXT
);
CREATE INDEX nodes_pool ON nodes(pool);

-- node_id is plain text on purpose: certificates outlive their node so a revoked serial stays revoked.
CREATE TABLE certs (
  serial      TEXT PRIMARY KEY,
  node_id     TEXT NOT NULL,
  not_before  TEXT NOT NULL,
  not_after   TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  revoked_at  TEXT
);
CREATE INDEX certs_node_id ON certs(node_id);

-- AUTOINCREMENT: ids are never reused, so the id is a safe monotonic cursor.
CREATE TABLE events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at      TEXT NOT NULL,
  type    TEXT NOT NULL,
  node_id TEXT,
  pool    TEXT,
  actor   TEXT NOT NULL,
  message TEXT NOT NULL,
  data    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_node_id ON events(node_id);
CREATE INDEX events_pool ON events(pool);
CREATE INDEX events_type ON events(type);

CREATE TABLE settings (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
`;

// Health history: one sample per node at most every ~30 s (the hub's health batcher decides), times in
// epoch ms and percentages in tenths (integers keep rows small: 10,000 nodes x 1 h is ~1.2 M rows).
// WITHOUT ROWID on (node_id, at): a node's samples are one range for reads and for pruning.
const V2_HEALTH_SAMPLES = `
CREATE TABLE health_samples (
  node_id    TEXT NOT NULL,
  at         INTEGER NOT NULL,
  cpu_pm     INTEGER NOT NULL,
  memory_pm  INTEGER NOT NULL,
  disk_pm    INTEGER NOT NULL,
  PRIMARY KEY (node_id, at)
) WITHOUT ROWID;
`;

/** Version 10 (PostgreSQL 6): a pool's size bounds and autoscale settings ('{}' reads as the defaults). */
export const POOL_SIZE_COLUMNS: readonly string[] = [
  `min_size INTEGER NOT NULL DEFAULT ${DEFAULT_MIN_SIZE}`,
  `max_size INTEGER NOT NULL DEFAULT ${DEFAULT_MAX_SIZE}`,
  `autoscale TEXT NOT NULL DEFAULT '{}'`,
];

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'initial schema',
    up(db: Database.Database, at: string): void {
      db.exec(V1_SCHEMA);
      db.prepare(
        `INSERT INTO pools (name, description, labels, taints, created_at, updated_at)
                  VALUES ('default', 'The default pool', '{}', '[]', ?, ?)`,
      ).run(at, at);
    },
  },
  {
    version: 2,
    name: 'health history samples',
    up(db: Database.Database): void {
      db.exec(V2_HEALTH_SAMPLES);
    },
  },
  {
    version: 3,
    name: 'durable node commands',
    up(db: Database.Database): void {
      // Commands are stored before they are sent and re-sent on reconnect until a result or expiry.
      // No foreign key: a removed node's commands stay as history.
      db.exec(`CREATE TABLE commands (
        id           TEXT PRIMARY KEY,
        node_id      TEXT NOT NULL,
        action       TEXT NOT NULL,
        args         TEXT NOT NULL DEFAULT '{}',
        actor        TEXT NOT NULL,
        state        TEXT NOT NULL,
        created_at   TEXT NOT NULL,
        expires_at   TEXT NOT NULL,
        sent_count   INTEGER NOT NULL DEFAULT 0,
        ok           INTEGER,
        error_code   TEXT,
        message      TEXT,
        completed_at TEXT
      );
      CREATE INDEX commands_node ON commands(node_id, created_at);
      CREATE INDEX commands_pending ON commands(state) WHERE state = 'pending';`);
    },
  },
  {
    version: 4,
    name: 'tables for api tokens, rollouts, k3s per node, pending purges, autoheal',
    up(db: Database.Database, at: string): void {
      db.exec(V4_TABLES);
      moveSettings(db, at);
    },
  },
  {
    version: 5,
    name: 'certificate renewal bookkeeping',
    up(db: Database.Database): void {
      // issued_at: when the hub signed it (the renewal window counts from here, notBefore is backdated);
      // used_at: first connect with it (what it replaces is revoked then); the key hash and PEM let a
      // retried renewal with the same key get the same certificate instead of a new one.
      db.exec(`ALTER TABLE certs ADD COLUMN issued_at TEXT;
      ALTER TABLE certs ADD COLUMN used_at TEXT;
      ALTER TABLE certs ADD COLUMN public_key_sha256 TEXT;
      ALTER TABLE certs ADD COLUMN cert_pem TEXT;
      CREATE INDEX certs_live ON certs(node_id, not_after) WHERE revoked_at IS NULL;`);
    },
  },
  {
    version: 6,
    name: 'sealed secrets',
    up(db: Database.Database): void {
      // The CA, the serving key, TLS ticket keys and the k3s server token, each sealed with the
      // cluster secret (certs/sealed.ts); the database alone opens none of them.
      db.exec(`CREATE TABLE secrets (
        name       TEXT PRIMARY KEY,
        sealed     BLOB NOT NULL,
        created_at TEXT NOT NULL
      );`);
    },
  },
  {
    version: 7,
    name: 'version support data, support states and alerts',
    up(db: Database.Database): void {
      db.exec(V7_DAY2_TABLES);
    },
  },
  {
    version: 8,
    name: 'hub membership and singleton leases',
    up(db: Database.Database): void {
      db.exec(V8_CLUSTER_TABLES);
    },
  },
  {
    version: 10,
    name: 'pool size bounds and autoscale settings',
    up(db: Database.Database): void {
      db.exec(POOL_SIZE_COLUMNS.map((c) => `ALTER TABLE pools ADD COLUMN ${c};`).join('\n'));
    },
  },
]);

/** The newest schema version this code knows. */
export function latestVersion(migrations: readonly Migration[] = MIGRATIONS): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0);
}

function appliedVersion(db: Database.Database): number {
  const row = db.prepare<[], { v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations').get();
  return row?.v ?? 0;
}

/**
 * Brings the database to the newest known version. Idempotent. Throws StoreError('CORRUPT') when the
 * database was written by a newer version of atoll.
 */
export function runMigrations(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)');
  const known = latestVersion(migrations);
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  const check = (): number => {
    const current = appliedVersion(db);
    if (current > known) {
      throw new StoreError(
        'CORRUPT',
        `the hub database has schema version ${current}, but this atoll knows versions ` +
          `up to ${known} only: it was written by a newer atoll. Run that newer version, or restore a backup ` +
          'made with this one.',
      );
    }
    return current;
  };
  check();
  const record = db.prepare<[number, string]>('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  for (const m of ordered) {
    db.transaction(() => {
      // Re-read inside the write lock: another process may have migrated meanwhile.
      if (check() >= m.version) return;
      const at = new Date().toISOString();
      m.up(db, at);
      record.run(m.version, at);
    }).immediate();
  }
  return check();
}
