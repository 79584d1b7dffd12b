// Every fixed statement of the SQLite store, prepared once per connection.
import type Database from 'better-sqlite3';
import type { CertRow, CommandRow, NodeRow, PoolRow, SampleRow, TokenRow } from './rows.js';

export function prepareStatements(db: Database.Database) {
  return {
    listPools: db.prepare<[], PoolRow>('SELECT * FROM pools ORDER BY name'),
    getPool: db.prepare<[string], PoolRow>('SELECT * FROM pools WHERE name = ?'),
    insertPool: db.prepare<PoolRow>(`INSERT INTO pools (name, description, labels, taints, max_node_age, min_size,
      max_size, autoscale, created_at, updated_at) VALUES (@name, @description, @labels, @taints, @max_node_age,
      @min_size, @max_size, @autoscale, @created_at, @updated_at)`),
    updatePool: db.prepare<PoolRow>(`UPDATE pools SET description = @description, labels = @labels,
      taints = @taints, max_node_age = @max_node_age, min_size = @min_size, max_size = @max_size,
      autoscale = @autoscale, updated_at = @updated_at WHERE name = @name`),
    deletePool: db.prepare<[string]>('DELETE FROM pools WHERE name = ?'),
    countPoolNodes: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM nodes WHERE pool = ?'),
    listPoolTokens: db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE pool = ? AND revoked_at IS NULL'),

    insertToken: db.prepare<TokenRow>(`INSERT INTO tokens (id, secret_hash, pool, description, created_at,
      expires_at, max_uses, uses, revoked_at, created_by) VALUES (@id, @secret_hash, @pool, @description,
      @created_at, @expires_at, @max_uses, @uses, @revoked_at, @created_by)`),
    getToken: db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE id = ?'),
    listTokens: db.prepare<[], TokenRow>('SELECT * FROM tokens ORDER BY created_at, id'),
    revokeToken: db.prepare<[string, string]>('UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?'),
    useToken: db.prepare<[string]>('UPDATE tokens SET uses = uses + 1 WHERE id = ?'),

    getNode: db.prepare<[string], NodeRow>('SELECT * FROM nodes WHERE id = ?'),
    listNodes: db.prepare<[], NodeRow>('SELECT * FROM nodes ORDER BY name, id'),
    insertNode: db.prepare<NodeRow>(`INSERT INTO nodes (id, name, pool, state, labels, facts, agent_version,
      token_id, created_at, last_seen, health) VALUES (@id, @name, @pool, @state, @labels, @facts, @agent_version,
      @token_id, @created_at, @last_seen, @health)`),
    updateNode: db.prepare<NodeRow>(`UPDATE nodes SET name = @name, pool = @pool, state = @state, labels = @labels,
      facts = @facts, agent_version = @agent_version, last_seen = @last_seen, health = @health WHERE id = @id`),
    deleteNode: db.prepare<[string]>('DELETE FROM nodes WHERE id = ?'),
    // The hot path: positional parameters, no read-back. A null health keeps the last report.
    recordHealth: db.prepare<[string, string | null, string]>(
      'UPDATE nodes SET last_seen = ?, health = COALESCE(?, health) WHERE id = ?',
    ),

    insertSample: db.prepare<[string, number, number, number, number]>(
      'INSERT OR REPLACE INTO health_samples (node_id, at, cpu_pm, memory_pm, disk_pm) VALUES (?, ?, ?, ?, ?)',
    ),
    pruneSamples: db.prepare<[string, number]>('DELETE FROM health_samples WHERE node_id = ? AND at < ?'),
    listSamples: db.prepare<[string, number, number], SampleRow>(
      'SELECT * FROM health_samples WHERE node_id = ? AND at >= ? ORDER BY at LIMIT ?',
    ),
    deleteNodeSamples: db.prepare<[string]>('DELETE FROM health_samples WHERE node_id = ?'),

    insertCert: db.prepare<CertRow>(`INSERT INTO certs (serial, node_id, not_before, not_after, fingerprint,
      revoked_at, issued_at, used_at, public_key_sha256, cert_pem) VALUES (@serial, @node_id, @not_before, @not_after,
      @fingerprint, @revoked_at, @issued_at, @used_at, @public_key_sha256, @cert_pem)`),
    getCert: db.prepare<[string], CertRow>('SELECT * FROM certs WHERE serial = ?'),
    listCerts: db.prepare<[string], CertRow>('SELECT * FROM certs WHERE node_id = ? ORDER BY not_before, serial'),
    // Per node the newest live certificate (SQLite returns the serial of the MAX row), if it expires before @before.
    listExpiringCerts: db.prepare<
      [{ before: string; limit: number }],
      { node_id: string; serial: string; not_after: string }
    >(
      `SELECT node_id, serial, MAX(not_after) AS not_after FROM certs WHERE revoked_at IS NULL AND node_id IN (SELECT id FROM nodes)
       GROUP BY node_id HAVING MAX(not_after) < @before ORDER BY not_after LIMIT @limit`,
    ),
    revokeNodeCerts: db.prepare<[string, string]>(
      'UPDATE certs SET revoked_at = ? WHERE node_id = ? AND revoked_at IS NULL',
    ),

    insertCommand: db.prepare<CommandRow>(`INSERT INTO commands (id, node_id, action, args, actor, state, created_at,
      expires_at, sent_count, ok, error_code, message, completed_at) VALUES (@id, @node_id, @action, @args, @actor,
      @state, @created_at, @expires_at, @sent_count, @ok, @error_code, @message, @completed_at)`),
    getCommand: db.prepare<[string], CommandRow>('SELECT * FROM commands WHERE id = ?'),
    listCommands: db.prepare<[string, number], CommandRow>(
      'SELECT * FROM commands WHERE node_id = ? ORDER BY created_at DESC, id LIMIT ?',
    ),
    pendingCommands: db.prepare<
      [string, string],
      CommandRow
    >(`SELECT * FROM commands WHERE state = 'pending' AND node_id = ?
      AND expires_at > ? ORDER BY created_at, id`),
    unsentCommands: db.prepare<[string, string, number], CommandRow>(
      `SELECT * FROM commands WHERE state = 'pending' AND sent_count = 0 AND expires_at > ?
      AND node_id IN (SELECT value FROM json_each(?)) ORDER BY created_at, id LIMIT ?`,
    ),
    markCommandSent: db.prepare<[string]>('UPDATE commands SET sent_count = sent_count + 1 WHERE id = ?'),
    completeCommand: db.prepare<
      [number, string, string, string, string, string]
    >(`UPDATE commands SET state = 'done', ok = ?,
      error_code = ?, message = ?, completed_at = ? WHERE id = ? AND node_id = ? AND completed_at IS NULL`),
    expiredCommands: db.prepare<[string], CommandRow>(
      `SELECT * FROM commands WHERE state = 'pending' AND expires_at <= ?`,
    ),
    expireCommand: db.prepare<[string]>(`UPDATE commands SET state = 'expired' WHERE id = ? AND state = 'pending'`),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
