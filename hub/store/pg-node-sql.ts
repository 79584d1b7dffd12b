// The fixed statements of the PostgreSQL store's pools, tokens, nodes, health and certificates.
// Parameters are positional; the column lists match the row shapes of rows.ts.
import { sql } from './pg-db.js';

export const POOL_COLUMNS = 'name, description, labels, taints, min_size, max_size, autoscale, created_at, updated_at';
export const TOKEN_COLUMNS =
  'id, secret_hash, pool, description, created_at, expires_at, max_uses, uses, revoked_at, created_by';
export const NODE_COLUMNS =
  'id, name, pool, state, labels, facts, agent_version, token_id, created_at, last_seen, health';
export const CERT_COLUMNS =
  'serial, node_id, not_before, not_after, fingerprint, revoked_at, issued_at, used_at, public_key_sha256, cert_pem';

export const NQ = {
  listPools: sql('pool_list', 'SELECT * FROM pools ORDER BY name'),
  getPool: sql('pool_get', 'SELECT * FROM pools WHERE name = $1'),
  lockPool: sql('pool_lock', 'SELECT * FROM pools WHERE name = $1 FOR UPDATE'),
  insertPool: sql(
    'pool_insert',
    `INSERT INTO pools (${POOL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO NOTHING`,
  ),
  updatePool: sql(
    'pool_update',
    `UPDATE pools SET description = $2, labels = $3, taints = $4, min_size = $5, max_size = $6, autoscale = $7,
      updated_at = $8 WHERE name = $1`,
  ),
  deletePool: sql('pool_delete', 'DELETE FROM pools WHERE name = $1'),
  countPoolNodes: sql('pool_count_nodes', 'SELECT COUNT(*)::int AS n FROM nodes WHERE pool = $1'),
  listPoolTokens: sql('pool_live_tokens', 'SELECT * FROM tokens WHERE pool = $1 AND revoked_at IS NULL'),

  insertToken: sql(
    'token_insert',
    `INSERT INTO tokens (${TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
  ),
  getToken: sql('token_get', 'SELECT * FROM tokens WHERE id = $1'),
  // Holds the token's row until commit: of two joins with a single-use token the second waits, then
  // reads the first one's use (READ COMMITTED re-reads a row it waited for) and is refused.
  lockToken: sql('token_lock', 'SELECT * FROM tokens WHERE id = $1 FOR UPDATE'),
  listTokens: sql('token_list', 'SELECT * FROM tokens ORDER BY created_at, id'),
  revokeToken: sql('token_revoke', 'UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2'),
  useToken: sql('token_use', 'UPDATE tokens SET uses = uses + 1 WHERE id = $1'),

  getNode: sql('node_get', 'SELECT * FROM nodes WHERE id = $1'),
  lockNode: sql('node_lock', 'SELECT * FROM nodes WHERE id = $1 FOR UPDATE'),
  // Keeps the node from being deleted until commit (a certificate is never added to a removed node).
  holdNode: sql('node_hold', 'SELECT id FROM nodes WHERE id = $1 FOR KEY SHARE'),
  listNodes: sql('node_list', 'SELECT * FROM nodes ORDER BY name, id'),
  insertNode: sql(
    'node_insert',
    `INSERT INTO nodes (${NODE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
  ),
  updateNode: sql(
    'node_update',
    `UPDATE nodes SET name = $2, pool = $3, state = $4, labels = $5, facts = $6, agent_version = $7,
     last_seen = $8, health = $9 WHERE id = $1`,
  ),
  deleteNode: sql('node_delete', 'DELETE FROM nodes WHERE id = $1'),
  revokeNodeCerts: sql(
    'node_certs_revoke',
    'UPDATE certs SET revoked_at = $1 WHERE node_id = $2 AND revoked_at IS NULL',
  ),
  deleteNodeSamples: sql('node_samples_delete', 'DELETE FROM health_samples WHERE node_id = $1'),

  // A whole health batch in one statement: node rows from arrays (unnest), samples of nodes that
  // exist, and the pruning of the sampled nodes' old samples. A sampled node stays until commit: the
  // UPDATE holds the rows it changed, `held` (FOR KEY SHARE) the sampled nodes without an update (a
  // locking read skips rows this statement changed, hence the two). A node deleted meanwhile is in
  // neither and gets no sample. Ids are unique within a batch (pg-nodes-store.ts merges them).
  recordHealth: sql(
    'health_record',
    `WITH u AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, last_seen, health)
     ), upd AS (
       UPDATE nodes n SET last_seen = u.last_seen, health = COALESCE(u.health, n.health) FROM u WHERE n.id = u.id
       RETURNING n.id
     ), s AS (
       SELECT * FROM unnest($4::text[], $5::bigint[], $6::int[], $7::int[], $8::int[])
         AS s(node_id, at, cpu_pm, memory_pm, disk_pm)
     ), held AS (
       SELECT n.id FROM nodes n WHERE n.id IN (SELECT node_id FROM s) AND n.id NOT IN (SELECT id FROM u)
       FOR KEY SHARE
     ), live AS (
       SELECT id FROM upd WHERE id IN (SELECT node_id FROM s) UNION SELECT id FROM held
     ), pruned AS (
       DELETE FROM health_samples h USING live WHERE h.node_id = live.id AND h.at < $9
     ), ins AS (
       INSERT INTO health_samples (node_id, at, cpu_pm, memory_pm, disk_pm)
       SELECT s.node_id, s.at, s.cpu_pm, s.memory_pm, s.disk_pm FROM s JOIN live ON live.id = s.node_id
       ON CONFLICT (node_id, at) DO UPDATE SET cpu_pm = excluded.cpu_pm, memory_pm = excluded.memory_pm,
         disk_pm = excluded.disk_pm
     )
     SELECT COUNT(*)::int AS n FROM upd`,
  ),
  listSamples: sql(
    'health_samples_list',
    'SELECT * FROM health_samples WHERE node_id = $1 AND at >= $2 ORDER BY at LIMIT $3',
  ),

  insertCert: sql(
    'cert_insert',
    `INSERT INTO certs (${CERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  ),
  insertCertOnce: sql(
    'cert_insert_once',
    `INSERT INTO certs (${CERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (serial) DO NOTHING`,
  ),
  getCert: sql('cert_get', 'SELECT * FROM certs WHERE serial = $1'),
  lockCert: sql('cert_lock', 'SELECT * FROM certs WHERE serial = $1 FOR UPDATE'),
  listCerts: sql('cert_list', 'SELECT * FROM certs WHERE node_id = $1 ORDER BY not_before, serial'),
  listNodeCerts: sql(
    'cert_list_node',
    'SELECT * FROM certs WHERE node_id = $1 ORDER BY COALESCE(issued_at, not_before), serial',
  ),
  // Per node its newest live certificate, if that expires before $1.
  listExpiringCerts: sql(
    'cert_expiring',
    `SELECT node_id, serial, not_after FROM (
       SELECT DISTINCT ON (node_id) node_id, serial, not_after FROM certs
       WHERE revoked_at IS NULL AND node_id IN (SELECT id FROM nodes) ORDER BY node_id, not_after DESC, serial
     ) newest WHERE not_after < $1 ORDER BY not_after, node_id LIMIT $2`,
  ),
  revokeOne: sql(
    'cert_revoke_one',
    'UPDATE certs SET revoked_at = $1 WHERE serial = $2 AND node_id = $3 AND revoked_at IS NULL',
  ),
  revokeSome: sql(
    'cert_revoke_some',
    'UPDATE certs SET revoked_at = $1 WHERE serial = ANY($2::text[]) AND node_id = $3 AND revoked_at IS NULL',
  ),
  markUsed: sql('cert_mark_used', 'UPDATE certs SET used_at = COALESCE(used_at, $1) WHERE serial = $2'),
  olderLive: sql(
    'cert_older_live',
    `SELECT serial FROM certs WHERE node_id = $1 AND revoked_at IS NULL AND serial <> $2
     AND COALESCE(issued_at, not_before) < $3 ORDER BY serial`,
  ),
  pruneExpired: sql('cert_prune_expired', 'DELETE FROM certs WHERE node_id = $1 AND not_after < $2'),
  current: sql(
    'cert_current',
    `SELECT node_id AS "nodeId", serial, not_after AS "notAfter", issued_at AS "issuedAt" FROM (
       SELECT node_id, serial, not_after, COALESCE(issued_at, not_before) AS issued_at,
         ROW_NUMBER() OVER (PARTITION BY node_id ORDER BY (used_at IS NULL), not_after DESC) AS rn
       FROM certs WHERE revoked_at IS NULL) c WHERE rn = 1`,
  ),
};
