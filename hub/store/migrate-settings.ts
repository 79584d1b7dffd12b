// Migration 4: the hub's settings documents that grew into lists and per-node records get tables of
// their own (api tokens, rollouts, k3s per node, pending purges, autoheal records and pacing). Rows
// an older hub left in `settings` move into them, in the migration's transaction, and are deleted.
import type Database from 'better-sqlite3';
import { ACTIVE_ROLLOUT_STATES, KEPT_FINISHED_ROLLOUTS } from './types.js';

export const V4_TABLES = `
CREATE TABLE api_tokens (
  id          TEXT PRIMARY KEY,
  role        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  secret_hash TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  revoked_at  TEXT
);

CREATE TABLE rollouts (
  id         TEXT PRIMARY KEY,
  kind       TEXT NOT NULL,
  state      TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  doc        TEXT NOT NULL
);
CREATE INDEX rollouts_state_created ON rollouts(state, created_at);
CREATE INDEX rollouts_created ON rollouts(created_at);

CREATE TABLE node_k3s (
  node_id         TEXT PRIMARY KEY,
  token_id        TEXT,
  token_secret    TEXT,
  desired_version TEXT
);

CREATE TABLE k3s_purges (
  node_id       TEXT PRIMARY KEY,
  name          TEXT NOT NULL,
  pool          TEXT NOT NULL,
  agent_stopped INTEGER NOT NULL DEFAULT 0,
  created_at    TEXT NOT NULL
);

CREATE TABLE autoheal_records (
  node_id    TEXT PRIMARY KEY,
  doc        TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE autoheal_pacing (
  pool           TEXT PRIMARY KEY,
  width          INTEGER NOT NULL DEFAULT 1,
  cooldown_until INTEGER NOT NULL DEFAULT 0
);
`;

const ACTIVE_SQL = ACTIVE_ROLLOUT_STATES.map((s) => `'${s}'`).join(', ');

/** Deletes the finished rollouts beyond the newest KEPT_FINISHED_ROLLOUTS (shared with the store). */
export const PRUNE_ROLLOUTS_SQL = `DELETE FROM rollouts WHERE state NOT IN (${ACTIVE_SQL}) AND id NOT IN
  (SELECT id FROM rollouts WHERE state NOT IN (${ACTIVE_SQL}) ORDER BY created_at DESC, id DESC LIMIT ${KEPT_FINISHED_ROLLOUTS})`;
export { ACTIVE_SQL as ACTIVE_ROLLOUT_STATES_SQL };

type Obj = Record<string, unknown>;

function parse(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Moves the old settings rows into the new tables (unreadable rows are dropped with their key). */
export function moveSettings(db: Database.Database, at: string): void {
  const rows = db.prepare<[], { key: string; value: string }>('SELECT key, value FROM settings').all();
  const del = db.prepare<[string]>('DELETE FROM settings WHERE key = ?');
  const token =
    db.prepare(`INSERT OR IGNORE INTO api_tokens (id, role, description, secret_hash, created_at, created_by, revoked_at)
    VALUES (@id, @role, @description, @secretHash, @createdAt, @createdBy, @revokedAt)`);
  const rollout = db.prepare(`INSERT OR REPLACE INTO rollouts (id, kind, state, created_at, updated_at, doc)
    VALUES (@id, @kind, @state, @createdAt, @updatedAt, @doc)`);
  const k3sToken = db.prepare<
    [string, string, string]
  >(`INSERT INTO node_k3s (node_id, token_id, token_secret) VALUES (?, ?, ?)
    ON CONFLICT(node_id) DO UPDATE SET token_id = excluded.token_id, token_secret = excluded.token_secret`);
  const desired = db.prepare<[string, string]>(`INSERT INTO node_k3s (node_id, desired_version) VALUES (?, ?)
    ON CONFLICT(node_id) DO UPDATE SET desired_version = excluded.desired_version`);
  const purge = db.prepare<[string, string, string, number, string]>(`INSERT OR REPLACE INTO k3s_purges
    (node_id, name, pool, agent_stopped, created_at) VALUES (?, ?, ?, ?, ?)`);
  const record = db.prepare<[string, string, string]>(
    'INSERT OR REPLACE INTO autoheal_records (node_id, doc, updated_at) VALUES (?, ?, ?)',
  );
  const pacing = db.prepare<[string, number, number]>(
    'INSERT OR REPLACE INTO autoheal_pacing (pool, width, cooldown_until) VALUES (?, ?, ?)',
  );

  for (const { key, value } of rows) {
    const v = parse(value);
    let moved = true;
    if (key === 'api-tokens') {
      for (const t of Array.isArray(v) ? v.filter(isObj) : []) {
        if (typeof t.id !== 'string' || typeof t.secretHash !== 'string') continue;
        token.run({
          id: t.id,
          role: str(t.role, 'read-only'),
          description: str(t.description),
          secretHash: t.secretHash,
          createdAt: str(t.createdAt, at),
          createdBy: str(t.createdBy, 'admin'),
          revokedAt: typeof t.revokedAt === 'string' ? t.revokedAt : null,
        });
      }
    } else if (key === 'upgrades.rollouts') {
      // The old index of ids: the rows below are the rollouts themselves.
    } else if (key.startsWith('upgrades.rollout.')) {
      if (isObj(v) && typeof v.id === 'string') {
        rollout.run({
          id: v.id,
          kind: str(v.kind, 'k3s'),
          state: str(v.state, 'done'),
          createdAt: str(v.createdAt, at),
          updatedAt: str(v.updatedAt, at),
          doc: value,
        });
      }
    } else if (key.startsWith('k3s.node-token.')) {
      if (isObj(v) && typeof v.id === 'string' && typeof v.token === 'string')
        k3sToken.run(key.slice('k3s.node-token.'.length), v.id, v.token);
    } else if (key.startsWith('k3s.desired-version.')) {
      if (typeof v === 'string') desired.run(key.slice('k3s.desired-version.'.length), v);
    } else if (key === 'k3s.pending-purges') {
      for (const p of Array.isArray(v) ? v.filter(isObj) : []) {
        if (typeof p.id === 'string')
          purge.run(p.id, str(p.name, p.id), str(p.pool, 'default'), p.agentStopped === true ? 1 : 0, at);
      }
    } else if (key.startsWith('autoheal.pool.') && key.endsWith('.pacing')) {
      if (isObj(v))
        pacing.run(
          key.slice('autoheal.pool.'.length, -'.pacing'.length),
          Number(v.width) || 1,
          Number(v.cooldownUntil) || 0,
        );
    } else if (key.startsWith('autoheal.node.') && !key.endsWith('.switch')) {
      if (isObj(v)) record.run(key.slice('autoheal.node.'.length), value, at);
    } else {
      moved = false;
    }
    if (moved) del.run(key);
  }
  db.exec(PRUNE_ROLLOUTS_SQL);
}
