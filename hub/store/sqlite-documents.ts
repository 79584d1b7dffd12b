// The SQLite side of API tokens, rollouts, k3s per node, pending purges and autoheal records and
// pacing (migration 4). Every write is one statement or one IMMEDIATE transaction: no caller reads,
// awaits and writes back.
import type Database from 'better-sqlite3';
import { parseJson } from './rows.js';
import { DEFAULT_PACING } from './document-rows.js';
import { apiTokenFromRow, nodeK3sFromRow, type ApiTokenRow, type NodeK3sRow, type PurgeRow } from './document-rows.js';
import { ACTIVE_ROLLOUT_STATES_SQL, PRUNE_ROLLOUTS_SQL } from './migrate-settings.js';
import {
  KEPT_FINISHED_ROLLOUTS,
  StoreError,
  type ApiTokenRecord,
  type AutohealPacing,
  type K3sTokenCreds,
  type NodeK3sRecord,
  type PendingPurge,
  type RolloutHeader,
  type RolloutQuery,
} from './types.js';

function prepare(db: Database.Database) {
  return {
    insertApiToken:
      db.prepare<ApiTokenRow>(`INSERT INTO api_tokens (id, role, description, secret_hash, created_at, created_by, revoked_at)
      VALUES (@id, @role, @description, @secret_hash, @created_at, @created_by, @revoked_at)`),
    listApiTokens: db.prepare<[], ApiTokenRow>('SELECT * FROM api_tokens ORDER BY created_at, id'),
    revokeApiToken: db.prepare<[string, string], ApiTokenRow>(
      'UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING *',
    ),

    saveRollout: db.prepare<
      [string, string, string, string, string, string]
    >(`INSERT INTO rollouts (id, kind, state, created_at, updated_at, doc)
      VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, state = excluded.state,
      created_at = excluded.created_at, updated_at = excluded.updated_at, doc = excluded.doc`),
    pruneRollouts: db.prepare(PRUNE_ROLLOUTS_SQL),
    getRollout: db.prepare<[string], { doc: string }>('SELECT doc FROM rollouts WHERE id = ?'),
    listRollouts: db.prepare<[number], { id: string; doc: string }>(
      'SELECT id, doc FROM rollouts ORDER BY created_at DESC, id DESC LIMIT ?',
    ),
    listActiveRollouts: db.prepare<[number], { id: string; doc: string }>(
      `SELECT id, doc FROM rollouts WHERE state IN (${ACTIVE_ROLLOUT_STATES_SQL}) ORDER BY created_at DESC, id DESC LIMIT ?`,
    ),

    // Keeps a stored token (COALESCE), so a racing second caller gets the first one back.
    claimK3sToken: db.prepare<
      [string, string, string],
      { token_id: string; token_secret: string }
    >(`INSERT INTO node_k3s (node_id, token_id, token_secret)
      VALUES (?, ?, ?) ON CONFLICT(node_id) DO UPDATE SET token_id = COALESCE(token_id, excluded.token_id),
      token_secret = CASE WHEN token_id IS NULL THEN excluded.token_secret ELSE token_secret END RETURNING token_id, token_secret`),
    getNodeK3s: db.prepare<
      [string],
      { token_id: string | null; token_secret: string | null; desired_version: string | null }
    >('SELECT token_id, token_secret, desired_version FROM node_k3s WHERE node_id = ?'),
    setDesired: db.prepare<
      [string, string],
      { desired_version: string }
    >(`INSERT INTO node_k3s (node_id, desired_version) VALUES (?, ?)
      ON CONFLICT(node_id) DO UPDATE SET desired_version = excluded.desired_version RETURNING desired_version`),
    pinDesired: db.prepare<
      [string, string],
      { desired_version: string }
    >(`INSERT INTO node_k3s (node_id, desired_version) VALUES (?, ?)
      ON CONFLICT(node_id) DO UPDATE SET desired_version = COALESCE(desired_version, excluded.desired_version) RETURNING desired_version`),
    listDesired: db.prepare<[], { node_id: string; desired_version: string }>(
      'SELECT node_id, desired_version FROM node_k3s WHERE desired_version IS NOT NULL ORDER BY node_id',
    ),
    deleteNodeK3s: db.prepare<[string]>('DELETE FROM node_k3s WHERE node_id = ?'),
    listNodeK3s: db.prepare<[], NodeK3sRow>(
      'SELECT node_id, token_id, token_secret, desired_version FROM node_k3s ORDER BY node_id',
    ),

    addPurge: db.prepare<
      [string, string, string, number, string]
    >(`INSERT OR REPLACE INTO k3s_purges (node_id, name, pool, agent_stopped, created_at)
      VALUES (?, ?, ?, ?, ?)`),
    listPurges: db.prepare<[], PurgeRow>(
      'SELECT node_id, name, pool, agent_stopped FROM k3s_purges ORDER BY created_at, node_id',
    ),
    stopPurge: db.prepare<[string]>('UPDATE k3s_purges SET agent_stopped = 1 WHERE node_id = ? AND agent_stopped = 0'),
    finishPurge: db.prepare<[string]>('DELETE FROM k3s_purges WHERE node_id = ? AND agent_stopped = 1'),

    getRecord: db.prepare<[string], { doc: string }>('SELECT doc FROM autoheal_records WHERE node_id = ?'),
    getRecords: db.prepare<[string], { node_id: string; doc: string }>(
      'SELECT node_id, doc FROM autoheal_records WHERE node_id IN (SELECT value FROM json_each(?))',
    ),
    saveRecord: db.prepare<
      [string, string, string]
    >(`INSERT INTO autoheal_records (node_id, doc, updated_at) VALUES (?, ?, ?)
      ON CONFLICT(node_id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`),
    deleteRecord: db.prepare<[string]>('DELETE FROM autoheal_records WHERE node_id = ?'),
    getPacing: db.prepare<[string], { width: number; cooldown_until: number }>(
      'SELECT width, cooldown_until FROM autoheal_pacing WHERE pool = ?',
    ),
    setPacing: db.prepare<
      [string, number, number]
    >(`INSERT INTO autoheal_pacing (pool, width, cooldown_until) VALUES (?, ?, ?)
      ON CONFLICT(pool) DO UPDATE SET width = excluded.width, cooldown_until = excluded.cooldown_until`),
    widenPacing: db.prepare<
      [string, number, number],
      { width: number; cooldown_until: number }
    >(`INSERT INTO autoheal_pacing (pool, width, cooldown_until)
      VALUES (?, MIN(2, ?), 0) ON CONFLICT(pool) DO UPDATE SET width = MIN(?, width * 2) RETURNING width, cooldown_until`),
  };
}

export class SqliteDocuments {
  private readonly st: ReturnType<typeof prepare>;
  private readonly saveRolloutTx: Database.Transaction<(r: RolloutHeader, doc: string) => void>;
  private readonly saveRecordsTx: Database.Transaction<
    (entries: ReadonlyArray<readonly [string, unknown]>, at: string) => void
  >;

  constructor(db: Database.Database) {
    const st = prepare(db);
    this.st = st;
    this.saveRolloutTx = db.transaction((r: RolloutHeader, doc: string) => {
      st.saveRollout.run(r.id, r.kind, r.state, r.createdAt, r.updatedAt, doc);
      st.pruneRollouts.run();
    });
    this.saveRecordsTx = db.transaction((entries: ReadonlyArray<readonly [string, unknown]>, at: string) => {
      for (const [id, rec] of entries) {
        const json = rec === undefined ? undefined : JSON.stringify(rec);
        if (json === undefined) st.deleteRecord.run(id);
        else st.saveRecord.run(id, json, at);
      }
    });
  }

  createApiToken(t: ApiTokenRecord): void {
    try {
      this.st.insertApiToken.run({
        id: t.id,
        role: t.role,
        description: t.description,
        secret_hash: t.secretHash,
        created_at: t.createdAt,
        created_by: t.createdBy,
        revoked_at: t.revokedAt,
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
        throw new StoreError('CONFLICT', `API token "${t.id}" already exists`);
      throw err;
    }
  }

  listApiTokens(): ApiTokenRecord[] {
    return this.st.listApiTokens.all().map(apiTokenFromRow);
  }

  revokeApiToken(id: string, at: string): ApiTokenRecord | undefined {
    const row = this.st.revokeApiToken.get(at, id);
    return row && apiTokenFromRow(row);
  }

  saveRollout(r: RolloutHeader): void {
    this.saveRolloutTx.immediate(r, JSON.stringify(r));
  }

  getRollout<T extends RolloutHeader>(id: string): T | undefined {
    const row = this.st.getRollout.get(id);
    return row && parseJson<T>(row.doc, `rollout ${id}`);
  }

  listRollouts<T extends RolloutHeader>(q: RolloutQuery = {}): T[] {
    const max = KEPT_FINISHED_ROLLOUTS + 100;
    const limit = Math.min(max, Math.max(1, Math.floor(Number.isFinite(q.limit) ? Number(q.limit) : max)));
    const rows = q.active ? this.st.listActiveRollouts.all(limit) : this.st.listRollouts.all(limit);
    return rows.map((r) => parseJson<T>(r.doc, `rollout ${r.id}`));
  }

  claimK3sToken(nodeId: string, creds: K3sTokenCreds): K3sTokenCreds {
    const row = this.st.claimK3sToken.get(nodeId, creds.id, creds.token);
    return row ? { id: row.token_id, token: row.token_secret } : creds;
  }

  getK3sToken(nodeId: string): K3sTokenCreds | undefined {
    const row = this.st.getNodeK3s.get(nodeId);
    return row?.token_id && row.token_secret ? { id: row.token_id, token: row.token_secret } : undefined;
  }

  getDesiredK3sVersion(nodeId: string): string | undefined {
    return this.st.getNodeK3s.get(nodeId)?.desired_version ?? undefined;
  }

  setDesiredK3sVersion(nodeId: string, version: string, onlyIfUnset = false): string {
    const row = (onlyIfUnset ? this.st.pinDesired : this.st.setDesired).get(nodeId, version);
    return row?.desired_version ?? version;
  }

  listDesiredK3sVersions(): Array<{ nodeId: string; version: string }> {
    return this.st.listDesired.all().map((r) => ({ nodeId: r.node_id, version: r.desired_version }));
  }

  listNodeK3s(): NodeK3sRecord[] {
    return this.st.listNodeK3s.all().map(nodeK3sFromRow);
  }

  deleteNodeK3s(nodeId: string): void {
    this.st.deleteNodeK3s.run(nodeId);
  }

  addPendingPurge(p: PendingPurge): void {
    this.st.addPurge.run(p.id, p.name, p.pool, p.agentStopped ? 1 : 0, new Date().toISOString());
  }

  listPendingPurges(): PendingPurge[] {
    return this.st.listPurges
      .all()
      .map((r) => ({ id: r.node_id, name: r.name, pool: r.pool, agentStopped: r.agent_stopped === 1 }));
  }

  markPurgeAgentStopped(nodeId: string): boolean {
    return this.st.stopPurge.run(nodeId).changes > 0;
  }

  finishPendingPurge(nodeId: string): boolean {
    return this.st.finishPurge.run(nodeId).changes > 0;
  }

  getAutohealRecord<T>(nodeId: string): T | undefined {
    const row = this.st.getRecord.get(nodeId);
    return row && parseJson<T>(row.doc, `autoheal record of ${nodeId}`);
  }

  getAutohealRecords<T>(nodeIds: readonly string[]): Map<string, T> {
    const out = new Map<string, T>();
    if (!nodeIds.length) return out;
    for (const r of this.st.getRecords.all(JSON.stringify(nodeIds)))
      out.set(r.node_id, parseJson<T>(r.doc, `autoheal record of ${r.node_id}`));
    return out;
  }

  saveAutohealRecords(entries: ReadonlyArray<readonly [string, unknown]>): void {
    if (entries.length) this.saveRecordsTx.immediate(entries, new Date().toISOString());
  }

  getAutohealPacing(pool: string): AutohealPacing {
    const row = this.st.getPacing.get(pool);
    return row ? { width: row.width, cooldownUntil: row.cooldown_until } : { ...DEFAULT_PACING };
  }

  setAutohealPacing(pool: string, p: AutohealPacing): void {
    this.st.setPacing.run(pool, Math.max(1, Math.floor(p.width)), Math.floor(p.cooldownUntil));
  }

  widenAutohealPacing(pool: string, max: number): AutohealPacing {
    const cap = Math.max(1, Math.floor(max));
    const row = this.st.widenPacing.get(pool, cap, cap);
    return row ? { width: row.width, cooldownUntil: row.cooldown_until } : { ...DEFAULT_PACING };
  }
}
