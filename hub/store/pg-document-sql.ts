// The fixed statements of the PostgreSQL store's settings and documents (pg-documents.ts): API tokens,
// rollouts, k3s per node, pending purges and autoheal records and pacing.
import { ACTIVE_ROLLOUT_STATES_SQL, PRUNE_ROLLOUTS_SQL } from './migrate-settings.js';
import { sql } from './pg-db.js';

/** Advisory lock class of settings keys (two-key space; the key is hashtext of the setting's name). */
export const SETTING_LOCK_CLASS = 0x61746f;

export const DQ = {
  getSetting: sql('setting_get', 'SELECT value FROM settings WHERE key = $1'),
  getSettings: sql('settings_get', 'SELECT key, value FROM settings WHERE key = ANY($1::text[])'),
  setSettings: sql(
    'settings_set',
    `INSERT INTO settings (key, value, updated_at) SELECT k, v, $3 FROM unnest($1::text[], $2::text[]) AS e(k, v)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  ),
  deleteSettings: sql('settings_delete', 'DELETE FROM settings WHERE key = ANY($1::text[])'),
  lockSetting: sql('setting_lock', 'SELECT pg_advisory_xact_lock($1::int, hashtext($2))'),

  insertApiToken: sql(
    'api_token_insert',
    `INSERT INTO api_tokens (id, role, description, secret_hash, created_at, created_by, revoked_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
  ),
  listApiTokens: sql('api_token_list', 'SELECT * FROM api_tokens ORDER BY created_at, id'),
  revokeApiToken: sql(
    'api_token_revoke',
    'UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING *',
  ),

  saveRollout: sql(
    'rollout_save',
    `INSERT INTO rollouts (id, kind, state, created_at, updated_at, doc) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, state = excluded.state, created_at = excluded.created_at,
     updated_at = excluded.updated_at, doc = excluded.doc`,
  ),
  pruneRollouts: sql('rollout_prune', PRUNE_ROLLOUTS_SQL),
  getRollout: sql('rollout_get', 'SELECT doc FROM rollouts WHERE id = $1'),
  listRollouts: sql('rollout_list', 'SELECT id, doc FROM rollouts ORDER BY created_at DESC, id DESC LIMIT $1'),
  listActiveRollouts: sql(
    'rollout_list_active',
    `SELECT id, doc FROM rollouts WHERE state IN (${ACTIVE_ROLLOUT_STATES_SQL}) ORDER BY created_at DESC, id DESC LIMIT $1`,
  ),

  // Keeps a stored token (COALESCE): of two racing claims the second waits for the first and gets it back.
  claimK3sToken: sql(
    'k3s_token_claim',
    `INSERT INTO node_k3s AS k (node_id, token_id, token_secret) VALUES ($1, $2, $3)
     ON CONFLICT (node_id) DO UPDATE SET token_id = COALESCE(k.token_id, excluded.token_id),
     token_secret = CASE WHEN k.token_id IS NULL THEN excluded.token_secret ELSE k.token_secret END
     RETURNING token_id, token_secret`,
  ),
  getNodeK3s: sql('k3s_get', 'SELECT token_id, token_secret, desired_version FROM node_k3s WHERE node_id = $1'),
  setDesired: sql(
    'k3s_desired_set',
    `INSERT INTO node_k3s (node_id, desired_version) VALUES ($1, $2)
     ON CONFLICT (node_id) DO UPDATE SET desired_version = excluded.desired_version RETURNING desired_version`,
  ),
  pinDesired: sql(
    'k3s_desired_pin',
    `INSERT INTO node_k3s AS k (node_id, desired_version) VALUES ($1, $2)
     ON CONFLICT (node_id) DO UPDATE SET desired_version = COALESCE(k.desired_version, excluded.desired_version)
     RETURNING desired_version`,
  ),
  listDesired: sql(
    'k3s_desired_list',
    'SELECT node_id, desired_version FROM node_k3s WHERE desired_version IS NOT NULL ORDER BY node_id',
  ),
  deleteNodeK3s: sql('k3s_delete', 'DELETE FROM node_k3s WHERE node_id = $1'),
  listNodeK3s: sql(
    'k3s_list',
    'SELECT node_id, token_id, token_secret, desired_version FROM node_k3s ORDER BY node_id',
  ),

  addPurge: sql(
    'purge_add',
    `INSERT INTO k3s_purges (node_id, name, pool, agent_stopped, created_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (node_id) DO UPDATE SET name = excluded.name, pool = excluded.pool,
     agent_stopped = excluded.agent_stopped, created_at = excluded.created_at`,
  ),
  listPurges: sql(
    'purge_list',
    'SELECT node_id, name, pool, agent_stopped FROM k3s_purges ORDER BY created_at, node_id',
  ),
  stopPurge: sql('purge_stop', 'UPDATE k3s_purges SET agent_stopped = 1 WHERE node_id = $1 AND agent_stopped = 0'),
  finishPurge: sql('purge_finish', 'DELETE FROM k3s_purges WHERE node_id = $1 AND agent_stopped = 1'),

  getRecord: sql('autoheal_record_get', 'SELECT doc FROM autoheal_records WHERE node_id = $1'),
  getRecords: sql('autoheal_records_get', 'SELECT node_id, doc FROM autoheal_records WHERE node_id = ANY($1::text[])'),
  saveRecords: sql(
    'autoheal_records_save',
    `INSERT INTO autoheal_records (node_id, doc, updated_at) SELECT id, doc, $3 FROM unnest($1::text[], $2::text[]) AS r(id, doc)
     ON CONFLICT (node_id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`,
  ),
  deleteRecords: sql('autoheal_records_delete', 'DELETE FROM autoheal_records WHERE node_id = ANY($1::text[])'),
  getPacing: sql('autoheal_pacing_get', 'SELECT width, cooldown_until FROM autoheal_pacing WHERE pool = $1'),
  setPacing: sql(
    'autoheal_pacing_set',
    `INSERT INTO autoheal_pacing (pool, width, cooldown_until) VALUES ($1, $2, $3)
     ON CONFLICT (pool) DO UPDATE SET width = excluded.width, cooldown_until = excluded.cooldown_until`,
  ),
  widenPacing: sql(
    'autoheal_pacing_widen',
    `INSERT INTO autoheal_pacing AS p (pool, width, cooldown_until) VALUES ($1, LEAST(2, $2::int), 0)
     ON CONFLICT (pool) DO UPDATE SET width = LEAST($2::int, p.width * 2) RETURNING width, cooldown_until`,
  ),
};
