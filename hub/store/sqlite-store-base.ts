// The shared part of the SQLite store: the connection, error mapping, settings (with a compare-and-
// set update) and the document tables of migration 4 (sqlite-documents.ts). sqlite-store.ts adds
// pools, tokens, nodes, certificates, events and commands on top.
import type Database from 'better-sqlite3';
import { toStoreError } from './sqlite-errors.js';
import { parseJson } from './rows.js';
import { SqliteDocuments } from './sqlite-documents.js';
import { SqliteSecrets } from './sqlite-secrets.js';
import { SqliteCluster } from './sqlite-cluster.js';
import {
  NO_CHANGES,
  type HubBeat,
  type HubRecord,
  type LeaseFence,
  type LeaseRecord,
  type StoreChanges,
} from './cluster-types.js';
import {
  StoreError,
  type ApiTokenRecord,
  type AutohealPacing,
  type K3sTokenCreds,
  type NodeK3sRecord,
  type PendingPurge,
  type RolloutHeader,
  type RolloutQuery,
} from './types.js';

export abstract class SqliteStoreBase {
  protected closed = false;
  private readonly docs: SqliteDocuments;
  private readonly secrets: SqliteSecrets;
  private readonly cluster: SqliteCluster;
  private readonly settingSt;

  constructor(
    protected readonly db: Database.Database,
    protected readonly path: string,
  ) {
    this.docs = new SqliteDocuments(db);
    this.secrets = new SqliteSecrets(db);
    this.cluster = new SqliteCluster(db);
    this.settingSt = {
      get: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?'),
      // The keys as one JSON array parameter: one statement for any number of keys.
      getMany: db.prepare<[string], { key: string; value: string }>(
        'SELECT key, value FROM settings WHERE key IN (SELECT value FROM json_each(?))',
      ),
      set: db.prepare<[string, string, string]>(`INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
        ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
      delete: db.prepare<[string]>('DELETE FROM settings WHERE key = ?'),
    };
  }

  protected async run<T>(what: string, fn: () => T): Promise<T> {
    if (this.closed) throw new StoreError('IO', `${what} failed: the hub database is closed`);
    try {
      return fn();
    } catch (err) {
      throw toStoreError(err, what, this.path);
    }
  }

  protected tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // Settings.
  getSetting<T>(key: string): Promise<T | undefined> {
    return this.run('reading a setting', () => this.readSetting<T>(key));
  }

  getSettings<T>(keys: readonly string[]): Promise<Map<string, T>> {
    return this.run('reading settings', () => {
      const out = new Map<string, T>();
      if (!keys.length) return out;
      for (const r of this.settingSt.getMany.all(JSON.stringify(keys)))
        out.set(r.key, parseJson<T>(r.value, `setting ${r.key}`));
      return out;
    });
  }

  /** `undefined` (or anything JSON cannot encode) deletes the key. */
  setSetting(key: string, value: unknown, fence?: LeaseFence): Promise<void> {
    return this.run('writing a setting', () =>
      this.fenced(fence, () => this.writeSetting(key, value, new Date().toISOString())),
    );
  }

  setSettings(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void> {
    if (!entries.length) return Promise.resolve();
    return this.run('writing settings', () =>
      this.tx(() => {
        const at = new Date().toISOString();
        for (const [key, value] of entries) this.writeSetting(key, value, at);
      }),
    );
  }

  updateSetting<T>(
    key: string,
    fn: (current: T | undefined) => T | undefined,
    fence?: LeaseFence,
  ): Promise<T | undefined> {
    return this.run('updating a setting', () =>
      this.tx(() => {
        if (fence) this.cluster.checkFence(fence);
        const next = fn(this.readSetting<T>(key));
        this.writeSetting(key, next, new Date().toISOString());
        return next;
      }),
    );
  }

  private readSetting<T>(key: string): T | undefined {
    const row = this.settingSt.get.get(key);
    return row && parseJson<T>(row.value, `setting ${key}`);
  }

  private writeSetting(key: string, value: unknown, at: string): void {
    const json = value === undefined ? undefined : JSON.stringify(value);
    if (json === undefined) this.settingSt.delete.run(key);
    else this.settingSt.set.run(key, json, at);
  }

  // API tokens.
  createApiToken(token: ApiTokenRecord): Promise<void> {
    return this.run('creating an API token', () => this.docs.createApiToken(token));
  }

  listApiTokens(): Promise<ApiTokenRecord[]> {
    return this.run('listing API tokens', () => this.docs.listApiTokens());
  }

  revokeApiToken(id: string, at: string): Promise<ApiTokenRecord | undefined> {
    return this.run('revoking an API token', () => this.docs.revokeApiToken(id, at));
  }

  // Rollouts.
  saveRollout(rollout: RolloutHeader, fence?: LeaseFence): Promise<void> {
    return this.run('saving a rollout', () => this.fenced(fence, () => this.docs.saveRollout(rollout)));
  }

  getRollout<T extends RolloutHeader>(id: string): Promise<T | undefined> {
    return this.run('reading a rollout', () => this.docs.getRollout<T>(id));
  }

  listRollouts<T extends RolloutHeader>(query?: RolloutQuery): Promise<T[]> {
    return this.run('listing rollouts', () => this.docs.listRollouts<T>(query));
  }

  // k3s per node.
  claimK3sToken(nodeId: string, creds: K3sTokenCreds): Promise<K3sTokenCreds> {
    return this.run('storing a k3s bootstrap token', () => this.docs.claimK3sToken(nodeId, creds));
  }

  getK3sToken(nodeId: string): Promise<K3sTokenCreds | undefined> {
    return this.run('reading a k3s bootstrap token', () => this.docs.getK3sToken(nodeId));
  }

  getDesiredK3sVersion(nodeId: string): Promise<string | undefined> {
    return this.run('reading a desired k3s version', () => this.docs.getDesiredK3sVersion(nodeId));
  }

  setDesiredK3sVersion(nodeId: string, version: string, onlyIfUnset?: boolean): Promise<string> {
    return this.run('setting a desired k3s version', () =>
      this.docs.setDesiredK3sVersion(nodeId, version, onlyIfUnset),
    );
  }

  listDesiredK3sVersions(): Promise<Array<{ nodeId: string; version: string }>> {
    return this.run('listing desired k3s versions', () => this.docs.listDesiredK3sVersions());
  }

  listNodeK3s(): Promise<NodeK3sRecord[]> {
    return this.run('listing k3s per node', () => this.docs.listNodeK3s());
  }

  deleteNodeK3s(nodeId: string): Promise<void> {
    return this.run("forgetting a node's k3s token and version", () => this.docs.deleteNodeK3s(nodeId));
  }

  // Pending purges.
  addPendingPurge(purge: PendingPurge): Promise<void> {
    return this.run('keeping a pending purge', () => this.docs.addPendingPurge(purge));
  }

  listPendingPurges(): Promise<PendingPurge[]> {
    return this.run('listing pending purges', () => this.docs.listPendingPurges());
  }

  markPurgeAgentStopped(nodeId: string): Promise<boolean> {
    return this.run('updating a pending purge', () => this.docs.markPurgeAgentStopped(nodeId));
  }

  finishPendingPurge(nodeId: string): Promise<boolean> {
    return this.run('finishing a pending purge', () => this.docs.finishPendingPurge(nodeId));
  }

  // Autoheal.
  getAutohealRecord<T>(nodeId: string): Promise<T | undefined> {
    return this.run('reading an autoheal record', () => this.docs.getAutohealRecord<T>(nodeId));
  }

  getAutohealRecords<T>(nodeIds: readonly string[]): Promise<Map<string, T>> {
    return this.run('reading autoheal records', () => this.docs.getAutohealRecords<T>(nodeIds));
  }

  saveAutohealRecords(entries: ReadonlyArray<readonly [string, unknown]>, fence?: LeaseFence): Promise<void> {
    return this.run('saving autoheal records', () => this.fenced(fence, () => this.docs.saveAutohealRecords(entries)));
  }

  getAutohealPacing(pool: string): Promise<AutohealPacing> {
    return this.run('reading autoheal pacing', () => this.docs.getAutohealPacing(pool));
  }

  setAutohealPacing(pool: string, pacing: AutohealPacing, fence?: LeaseFence): Promise<void> {
    return this.run('setting autoheal pacing', () =>
      this.fenced(fence, () => this.docs.setAutohealPacing(pool, pacing)),
    );
  }

  widenAutohealPacing(pool: string, max: number, fence?: LeaseFence): Promise<AutohealPacing> {
    return this.run('widening autoheal pacing', () =>
      this.fenced(fence, () => this.docs.widenAutohealPacing(pool, max)),
    );
  }

  /** `write` in one IMMEDIATE transaction after the fence check (nested transactions become savepoints). */
  private fenced<T>(fence: LeaseFence | undefined, write: () => T): T {
    if (!fence) return write();
    return this.tx(() => {
      this.cluster.checkFence(fence);
      return write();
    });
  }

  // Hub membership and leases (sqlite-cluster.ts).
  changes(): StoreChanges {
    return NO_CHANGES;
  }

  beatHub(hub: HubBeat): Promise<void> {
    return this.run('recording a hub beat', () => this.cluster.beatHub(hub));
  }

  listHubs(): Promise<HubRecord[]> {
    return this.run('listing hubs', () => this.cluster.listHubs());
  }

  removeHub(id: string): Promise<boolean> {
    return this.run('removing a hub', () => this.cluster.removeHub(id));
  }

  tryAcquireLease(role: string, holder: string, ttlMs: number): Promise<{ term: number } | undefined> {
    return this.run('acquiring a lease', () => this.cluster.tryAcquireLease(role, holder, ttlMs));
  }

  renewLease(role: string, holder: string, term: number, ttlMs: number): Promise<boolean> {
    return this.run('renewing a lease', () => this.cluster.renewLease(role, holder, term, ttlMs));
  }

  releaseLease(role: string, holder: string, term: number): Promise<void> {
    return this.run('releasing a lease', () => this.cluster.releaseLease(role, holder, term));
  }

  listLeases(): Promise<LeaseRecord[]> {
    return this.run('listing leases', () => this.cluster.listLeases());
  }

  // Sealed secrets (SecretStore, secret-types.ts).
  getSecret(name: string): Promise<Buffer | undefined> {
    return this.run('reading a sealed secret', () => this.secrets.get(name));
  }

  putSecretIfAbsent(name: string, sealed: Buffer): Promise<Buffer> {
    return this.run('storing a sealed secret', () => this.secrets.putSecretIfAbsent(name, sealed));
  }

  replaceSecret(name: string, sealed: Buffer): Promise<void> {
    return this.run('replacing a sealed secret', () => this.secrets.replaceSecret(name, sealed));
  }

  replaceK3sTokenSecret(nodeId: string, expected: string, next: string): Promise<boolean> {
    return this.run('sealing a k3s bootstrap token', () => this.secrets.replaceK3sTokenSecret(nodeId, expected, next));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.db.close();
    } catch (err) {
      throw toStoreError(err, 'closing the hub database', this.path);
    }
  }
}
