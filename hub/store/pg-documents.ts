// The shared part of the PostgreSQL store: the database, settings (with a compare-and-set update),
// API tokens, rollouts, k3s per node, pending purges and autoheal records and pacing. Every write is
// one statement or one transaction (pg-db.ts); pg-nodes-store.ts and pg-store-impl.ts build on it.
import { parseJson } from './rows.js';
import { DEFAULT_PACING, apiTokenFromRow, nodeK3sFromRow, type ApiTokenRow, type NodeK3sRow } from './document-rows.js';
import type { Exec, PgDb } from './pg-db.js';
import { DQ as Q, SETTING_LOCK_CLASS } from './pg-document-sql.js';
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
import type { Clock } from '../clock.js';
import { checkFence } from './pg-cluster.js';
import type { LeaseFence } from './cluster-types.js';

/**
 * Splits key/value entries into the JSON to write and the keys to delete (undefined, or what JSON
 * cannot encode); the last entry of a key wins. Throws (writing nothing) when a value cannot be encoded.
 */
export function splitEntries(entries: ReadonlyArray<readonly [string, unknown]>): {
  keys: string[];
  values: string[];
  deleted: string[];
} {
  const last = new Map<string, string | undefined>();
  for (const [key, value] of entries) last.set(key, value === undefined ? undefined : JSON.stringify(value));
  const keys: string[] = [];
  const values: string[] = [];
  const deleted: string[] = [];
  for (const [key, json] of last) {
    if (json === undefined) deleted.push(key);
    else {
      keys.push(key);
      values.push(json);
    }
  }
  return { keys, values, deleted };
}

export abstract class PgStoreBase {
  constructor(
    protected readonly db: PgDb,
    protected readonly clock: Clock,
  ) {}

  protected nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  // Settings.
  getSetting<T>(key: string): Promise<T | undefined> {
    return this.db.run('reading a setting', async (ex) => {
      const row = await ex.row<{ value: string }>(Q.getSetting, [key]);
      return row && parseJson<T>(row.value, `setting ${key}`);
    });
  }

  async getSettings<T>(keys: readonly string[]): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    if (!keys.length) return out;
    const rows = await this.db.run('reading settings', (ex) =>
      ex.rows<{ key: string; value: string }>(Q.getSettings, [[...keys]]),
    );
    for (const r of rows) out.set(r.key, parseJson<T>(r.value, `setting ${r.key}`));
    return out;
  }

  setSetting(key: string, value: unknown, fence?: LeaseFence): Promise<void> {
    return this.setSettings([[key, value]], fence);
  }

  /** With a fence: in one transaction after the fence check (pg-cluster.ts). */
  async setSettings(entries: ReadonlyArray<readonly [string, unknown]>, fence?: LeaseFence): Promise<void> {
    if (!entries.length) return;
    const { keys, values, deleted } = splitEntries(entries);
    const at = this.nowIso();
    const write = async (ex: Exec) => {
      await checkFence(ex, fence);
      if (keys.length) await ex.count(Q.setSettings, [keys, values, at]);
      if (deleted.length) await ex.count(Q.deleteSettings, [deleted]);
    };
    return (keys.length && deleted.length) || fence
      ? this.db.tx('writing settings', write)
      : this.db.run('writing settings', write);
  }

  /** A compare-and-set: a transaction-level advisory lock on the key orders concurrent updates of it. */
  updateSetting<T>(
    key: string,
    fn: (current: T | undefined) => T | undefined,
    fence?: LeaseFence,
  ): Promise<T | undefined> {
    return this.db.tx('updating a setting', async (ex) => {
      await checkFence(ex, fence);
      await ex.rows(Q.lockSetting, [SETTING_LOCK_CLASS, key]);
      const row = await ex.row<{ value: string }>(Q.getSetting, [key]);
      const next = fn(row && parseJson<T>(row.value, `setting ${key}`));
      const json = next === undefined ? undefined : JSON.stringify(next);
      if (json === undefined) await ex.count(Q.deleteSettings, [[key]]);
      else await ex.count(Q.setSettings, [[key], [json], this.nowIso()]);
      return next;
    });
  }

  // API tokens.
  createApiToken(t: ApiTokenRecord): Promise<void> {
    return this.db.run('creating an API token', async (ex) => {
      const params = [t.id, t.role, t.description, t.secretHash, t.createdAt, t.createdBy, t.revokedAt];
      if ((await ex.count(Q.insertApiToken, params)) === 0)
        throw new StoreError('CONFLICT', `API token "${t.id}" already exists`);
    });
  }

  listApiTokens(): Promise<ApiTokenRecord[]> {
    return this.db.run('listing API tokens', async (ex) =>
      (await ex.rows<ApiTokenRow>(Q.listApiTokens)).map(apiTokenFromRow),
    );
  }

  revokeApiToken(id: string, at: string): Promise<ApiTokenRecord | undefined> {
    return this.db.run('revoking an API token', async (ex) => {
      const row = await ex.row<ApiTokenRow>(Q.revokeApiToken, [at, id]);
      return row && apiTokenFromRow(row);
    });
  }

  // Rollouts.
  async saveRollout(r: RolloutHeader, fence?: LeaseFence): Promise<void> {
    const doc = JSON.stringify(r);
    return this.db.tx('saving a rollout', async (ex) => {
      await checkFence(ex, fence);
      await ex.count(Q.saveRollout, [r.id, r.kind, r.state, r.createdAt, r.updatedAt, doc]);
      await ex.count(Q.pruneRollouts);
    });
  }

  getRollout<T extends RolloutHeader>(id: string): Promise<T | undefined> {
    return this.db.run('reading a rollout', async (ex) => {
      const row = await ex.row<{ doc: string }>(Q.getRollout, [id]);
      return row && parseJson<T>(row.doc, `rollout ${id}`);
    });
  }

  listRollouts<T extends RolloutHeader>(q: RolloutQuery = {}): Promise<T[]> {
    const max = KEPT_FINISHED_ROLLOUTS + 100;
    const limit = Math.min(max, Math.max(1, Math.floor(Number.isFinite(q.limit) ? Number(q.limit) : max)));
    return this.db.run('listing rollouts', async (ex) => {
      const rows = await ex.rows<{ id: string; doc: string }>(q.active ? Q.listActiveRollouts : Q.listRollouts, [
        limit,
      ]);
      return rows.map((r) => parseJson<T>(r.doc, `rollout ${r.id}`));
    });
  }

  // k3s per node.
  claimK3sToken(nodeId: string, creds: K3sTokenCreds): Promise<K3sTokenCreds> {
    return this.db.run('storing a k3s bootstrap token', async (ex) => {
      const row = await ex.row<{ token_id: string; token_secret: string }>(Q.claimK3sToken, [
        nodeId,
        creds.id,
        creds.token,
      ]);
      return row ? { id: row.token_id, token: row.token_secret } : creds;
    });
  }

  getK3sToken(nodeId: string): Promise<K3sTokenCreds | undefined> {
    return this.db.run('reading a k3s bootstrap token', async (ex) => {
      const row = await ex.row<{ token_id: string | null; token_secret: string | null }>(Q.getNodeK3s, [nodeId]);
      return row?.token_id && row.token_secret ? { id: row.token_id, token: row.token_secret } : undefined;
    });
  }

  getDesiredK3sVersion(nodeId: string): Promise<string | undefined> {
    return this.db.run('reading a desired k3s version', async (ex) => {
      const row = await ex.row<{ desired_version: string | null }>(Q.getNodeK3s, [nodeId]);
      return row?.desired_version ?? undefined;
    });
  }

  setDesiredK3sVersion(nodeId: string, version: string, onlyIfUnset = false): Promise<string> {
    return this.db.run('setting a desired k3s version', async (ex) => {
      const row = await ex.row<{ desired_version: string }>(onlyIfUnset ? Q.pinDesired : Q.setDesired, [
        nodeId,
        version,
      ]);
      return row?.desired_version ?? version;
    });
  }

  listDesiredK3sVersions(): Promise<Array<{ nodeId: string; version: string }>> {
    return this.db.run('listing desired k3s versions', async (ex) =>
      (await ex.rows<{ node_id: string; desired_version: string }>(Q.listDesired)).map((r) => ({
        nodeId: r.node_id,
        version: r.desired_version,
      })),
    );
  }

  listNodeK3s(): Promise<NodeK3sRecord[]> {
    return this.db.run('listing k3s per node', async (ex) =>
      (await ex.rows<NodeK3sRow>(Q.listNodeK3s)).map(nodeK3sFromRow),
    );
  }

  deleteNodeK3s(nodeId: string): Promise<void> {
    return this.db.run("forgetting a node's k3s token and version", async (ex) => {
      await ex.count(Q.deleteNodeK3s, [nodeId]);
    });
  }

  // Pending purges.
  addPendingPurge(p: PendingPurge): Promise<void> {
    return this.db.run('keeping a pending purge', async (ex) => {
      await ex.count(Q.addPurge, [p.id, p.name, p.pool, p.agentStopped ? 1 : 0, this.nowIso()]);
    });
  }

  listPendingPurges(): Promise<PendingPurge[]> {
    return this.db.run('listing pending purges', async (ex) =>
      (await ex.rows<{ node_id: string; name: string; pool: string; agent_stopped: number }>(Q.listPurges)).map(
        (r) => ({ id: r.node_id, name: r.name, pool: r.pool, agentStopped: r.agent_stopped === 1 }),
      ),
    );
  }

  markPurgeAgentStopped(nodeId: string): Promise<boolean> {
    return this.db.run('updating a pending purge', async (ex) => (await ex.count(Q.stopPurge, [nodeId])) > 0);
  }

  finishPendingPurge(nodeId: string): Promise<boolean> {
    return this.db.run('finishing a pending purge', async (ex) => (await ex.count(Q.finishPurge, [nodeId])) > 0);
  }

  // Autoheal.
  getAutohealRecord<T>(nodeId: string): Promise<T | undefined> {
    return this.db.run('reading an autoheal record', async (ex) => {
      const row = await ex.row<{ doc: string }>(Q.getRecord, [nodeId]);
      return row && parseJson<T>(row.doc, `autoheal record of ${nodeId}`);
    });
  }

  async getAutohealRecords<T>(nodeIds: readonly string[]): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    if (!nodeIds.length) return out;
    const rows = await this.db.run('reading autoheal records', (ex) =>
      ex.rows<{ node_id: string; doc: string }>(Q.getRecords, [[...nodeIds]]),
    );
    for (const r of rows) out.set(r.node_id, parseJson<T>(r.doc, `autoheal record of ${r.node_id}`));
    return out;
  }

  async saveAutohealRecords(entries: ReadonlyArray<readonly [string, unknown]>, fence?: LeaseFence): Promise<void> {
    if (!entries.length) return;
    const { keys, values, deleted } = splitEntries(entries);
    const at = this.nowIso();
    return this.db.tx('saving autoheal records', async (ex) => {
      await checkFence(ex, fence);
      if (keys.length) await ex.count(Q.saveRecords, [keys, values, at]);
      if (deleted.length) await ex.count(Q.deleteRecords, [deleted]);
    });
  }

  getAutohealPacing(pool: string): Promise<AutohealPacing> {
    return this.db.run('reading autoheal pacing', async (ex) => {
      const row = await ex.row<{ width: number; cooldown_until: number }>(Q.getPacing, [pool]);
      return row ? { width: row.width, cooldownUntil: row.cooldown_until } : { ...DEFAULT_PACING };
    });
  }

  setAutohealPacing(pool: string, p: AutohealPacing, fence?: LeaseFence): Promise<void> {
    return this.db.tx('setting autoheal pacing', async (ex) => {
      await checkFence(ex, fence);
      await ex.count(Q.setPacing, [pool, Math.max(1, Math.floor(p.width)), Math.floor(p.cooldownUntil)]);
    });
  }

  widenAutohealPacing(pool: string, max: number, fence?: LeaseFence): Promise<AutohealPacing> {
    const cap = Math.max(1, Math.floor(max));
    return this.db.tx('widening autoheal pacing', async (ex) => {
      await checkFence(ex, fence);
      const row = await ex.row<{ width: number; cooldown_until: number }>(Q.widenPacing, [pool, cap]);
      return row ? { width: row.width, cooldownUntil: row.cooldown_until } : { ...DEFAULT_PACING };
    });
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
