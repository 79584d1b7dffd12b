// Schema migrations of the PostgreSQL store, a series of its own (version 1 is the whole schema of
// SQLite version 5). Append new migrations at the end with the next version; never edit one that has
// shipped. pg-migrate.ts runs them, each in its own transaction with its row in schema_version.
//
// The columns are those of the SQLite schema (rows.ts maps both): times are ISO-8601 text, JSON
// documents are text (kept byte for byte, as the hub wrote them), and every text column compares
// and sorts bytewise (COLLATE "C"), as SQLite does, whatever the database's own collation.

import { SECRETS_MIGRATION } from './pg-secrets.js';
import { DAY2_MIGRATION } from './pg-day2.js';
import { CLUSTER_MIGRATION } from './pg-cluster.js';
import { DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE } from './pool-sizes.js';

export interface PgMigration {
  version: number;
  name: string;
  /** SQL run in the migration's transaction; `$1` is the time of the migration (ISO) where used. */
  statements: ReadonlyArray<string | { text: string; at: true }>;
}

const T = 'text COLLATE "C"';

const V1: PgMigration['statements'] = [
  `CREATE TABLE pools (
    name        ${T} PRIMARY KEY,
    description ${T} NOT NULL DEFAULT '',
    labels      ${T} NOT NULL DEFAULT '{}',
    taints      ${T} NOT NULL DEFAULT '[]',
    created_at  ${T} NOT NULL,
    updated_at  ${T} NOT NULL
  )`,
  {
    text: `INSERT INTO pools (name, description, labels, taints, created_at, updated_at)
      VALUES ('default', 'The default pool', '{}', '[]', $1, $1)`,
    at: true,
  },
  // Deleting a pool is refused while it has live tokens; dead ones (revoked, expired, used up) go with it.
  `CREATE TABLE tokens (
    id          ${T} PRIMARY KEY,
    secret_hash ${T} NOT NULL UNIQUE,
    pool        ${T} NOT NULL REFERENCES pools(name) ON DELETE CASCADE,
    description ${T} NOT NULL DEFAULT '',
    created_at  ${T} NOT NULL,
    expires_at  ${T} NOT NULL,
    max_uses    integer,
    uses        integer NOT NULL DEFAULT 0,
    revoked_at  ${T},
    created_by  ${T} NOT NULL
  )`,
  'CREATE INDEX tokens_pool ON tokens(pool)',
  `CREATE TABLE nodes (
    id            ${T} PRIMARY KEY,
    name          ${T} NOT NULL,
    pool          ${T} NOT NULL REFERENCES pools(name),
    state         ${T} NOT NULL,
    labels        ${T} NOT NULL DEFAULT '{}',
    facts         ${T} NOT NULL,
    agent_version ${T} NOT NULL,
    token_id      ${T} NOT NULL,
    created_at    ${T} NOT NULL,
    last_seen     ${T},
    health        ${T}
  )`,
  'CREATE INDEX nodes_pool ON nodes(pool)',
  // node_id is plain text on purpose: certificates outlive their node so a revoked serial stays revoked.
  `CREATE TABLE certs (
    serial            ${T} PRIMARY KEY,
    node_id           ${T} NOT NULL,
    not_before        ${T} NOT NULL,
    not_after         ${T} NOT NULL,
    fingerprint       ${T} NOT NULL,
    revoked_at        ${T},
    issued_at         ${T},
    used_at           ${T},
    public_key_sha256 ${T},
    cert_pem          ${T}
  )`,
  'CREATE INDEX certs_node_id ON certs(node_id)',
  'CREATE INDEX certs_live ON certs(node_id, not_after) WHERE revoked_at IS NULL',
  // Event ids are handed out by event_counter inside the appending transaction (pg-events.ts): the
  // row lock on the counter is held until commit, so ids become visible in id order.
  `CREATE TABLE events (
    id      bigint PRIMARY KEY,
    at      ${T} NOT NULL,
    type    ${T} NOT NULL,
    node_id ${T},
    pool    ${T},
    actor   ${T} NOT NULL,
    message ${T} NOT NULL,
    data    ${T} NOT NULL DEFAULT '{}'
  )`,
  'CREATE INDEX events_node_id ON events(node_id, id)',
  'CREATE INDEX events_pool ON events(pool, id)',
  'CREATE INDEX events_type ON events(type, id)',
  `CREATE TABLE event_counter (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_id bigint NOT NULL
  )`,
  'INSERT INTO event_counter (one, last_id) VALUES (true, 0)',
  `CREATE TABLE settings (
    key        ${T} PRIMARY KEY,
    value      ${T} NOT NULL,
    updated_at ${T} NOT NULL
  )`,
  // A removed node's samples go with it (also those a racing health batch would add).
  `CREATE TABLE health_samples (
    node_id   ${T} NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    at        bigint NOT NULL,
    cpu_pm    integer NOT NULL,
    memory_pm integer NOT NULL,
    disk_pm   integer NOT NULL,
    PRIMARY KEY (node_id, at)
  )`,
  // No foreign key: a removed node's commands stay as history.
  `CREATE TABLE commands (
    id           ${T} PRIMARY KEY,
    node_id      ${T} NOT NULL,
    action       ${T} NOT NULL,
    args         ${T} NOT NULL DEFAULT '{}',
    actor        ${T} NOT NULL,
    state        ${T} NOT NULL,
    created_at   ${T} NOT NULL,
    expires_at   ${T} NOT NULL,
    sent_count   integer NOT NULL DEFAULT 0,
    ok           integer,
    error_code   ${T},
    message      ${T},
    completed_at ${T}
  )`,
  'CREATE INDEX commands_node ON commands(node_id, created_at)',
  `CREATE INDEX commands_pending ON commands(state) WHERE state = 'pending'`,
  `CREATE TABLE api_tokens (
    id          ${T} PRIMARY KEY,
    role        ${T} NOT NULL,
    description ${T} NOT NULL DEFAULT '',
    secret_hash ${T} NOT NULL,
    created_at  ${T} NOT NULL,
    created_by  ${T} NOT NULL,
    revoked_at  ${T}
  )`,
  `CREATE TABLE rollouts (
    id         ${T} PRIMARY KEY,
    kind       ${T} NOT NULL,
    state      ${T} NOT NULL,
    created_at ${T} NOT NULL,
    updated_at ${T} NOT NULL,
    doc        ${T} NOT NULL
  )`,
  'CREATE INDEX rollouts_state_created ON rollouts(state, created_at)',
  'CREATE INDEX rollouts_created ON rollouts(created_at)',
  `CREATE TABLE node_k3s (
    node_id         ${T} PRIMARY KEY,
    token_id        ${T},
    token_secret    ${T},
    desired_version ${T}
  )`,
  `CREATE TABLE k3s_purges (
    node_id       ${T} PRIMARY KEY,
    name          ${T} NOT NULL,
    pool          ${T} NOT NULL,
    agent_stopped integer NOT NULL DEFAULT 0,
    created_at    ${T} NOT NULL
  )`,
  `CREATE TABLE autoheal_records (
    node_id    ${T} PRIMARY KEY,
    doc        ${T} NOT NULL,
    updated_at ${T} NOT NULL
  )`,
  `CREATE TABLE autoheal_pacing (
    pool           ${T} PRIMARY KEY,
    width          integer NOT NULL DEFAULT 1,
    cooldown_until bigint NOT NULL DEFAULT 0
  )`,
];

/**
 * Each statement that adds or changes commands, adds events, or changes api_tokens NOTIFYs `atoll_changes` with the
 * table's name (delivered at commit, once per transaction and table), so the other hubs hear of it.
 */
const CHANGES_MIGRATION: PgMigration['statements'] = [
  `CREATE FUNCTION atoll_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN PERFORM pg_notify('atoll_changes', TG_TABLE_NAME); RETURN NULL; END $$`,
  ...[
    ['commands', 'INSERT OR UPDATE'],
    ['events', 'INSERT'],
    ['api_tokens', 'INSERT OR UPDATE OR DELETE'],
  ].map(
    ([table, ops]) =>
      `CREATE TRIGGER atoll_${table}_changed AFTER ${ops} ON ${table}
       FOR EACH STATEMENT EXECUTE FUNCTION atoll_notify_change()`,
  ),
];

export const PG_MIGRATIONS: readonly PgMigration[] = Object.freeze([
  { version: 1, name: 'initial schema (SQLite version 5)', statements: V1 },
  { version: 2, name: 'sealed secrets (SQLite version 6)', statements: SECRETS_MIGRATION },
  {
    version: 3,
    name: 'version support data, support states and alerts (SQLite version 7)',
    statements: DAY2_MIGRATION,
  },
  { version: 4, name: 'hub membership and singleton leases (SQLite version 8)', statements: CLUSTER_MIGRATION },
  {
    version: 5,
    name: 'pool node lifespan (SQLite version 9)',
    statements: [`ALTER TABLE pools ADD COLUMN max_node_age ${T}`],
  },
  {
    version: 6,
    name: 'pool size bounds and autoscale settings (SQLite version 10)',
    statements: [
      `ALTER TABLE pools ADD COLUMN min_size integer NOT NULL DEFAULT ${DEFAULT_MIN_SIZE}`,
      `ALTER TABLE pools ADD COLUMN max_size integer NOT NULL DEFAULT ${DEFAULT_MAX_SIZE}`,
      `ALTER TABLE pools ADD COLUMN autoscale ${T} NOT NULL DEFAULT '{}'`,
    ],
  },
  { version: 7, name: 'change notifications for other hubs (pg-changes.ts)', statements: CHANGES_MIGRATION },
]);

/** A database below this version (but not empty) was made by an atoll too old to migrate from here. */
export const PG_OLDEST_MIGRATABLE = 1;
