// The hub's persistence boundary. Everything the hub must not lose goes through this interface:
// the embedded SQLite store (sqlite-*.ts) and the PostgreSQL one (pg-*.ts) implement it, and the
// conformance suite (test/unit/store/conformance) holds both to the same behaviour.
// All times are ISO-8601 strings in UTC; all methods are async even where SQLite is synchronous.
// The records live in node-records.ts and log-records.ts.
import { AtollError } from '../../certs/atoll-error.js';
import type { SecretStore } from './secret-types.js';
import type { Day2Store } from './day2-types.js';
import type { ClusterStore, LeaseFence } from './cluster-types.js';
import type {
  CertRecord,
  CurrentCert,
  EnrollInput,
  EnrollOutcome,
  HealthSample,
  HealthUpdate,
  IssueCertOutcome,
  NodeCertRecord,
  NodePatch,
  NodeRecord,
  Pool,
  PoolPatch,
  RejoinInput,
  TokenRecord,
} from './node-records.js';
import type {
  ApiTokenRecord,
  AutohealPacing,
  CommandRecord,
  EventPrune,
  EventQuery,
  EventRecord,
  EventStats,
  K3sTokenCreds,
  NewEvent,
  NodeK3sRecord,
  PendingPurge,
  RolloutHeader,
  RolloutQuery,
} from './log-records.js';

export type { SecretStore } from './secret-types.js';
export type { ClusterStore, HubBeat, HubRecord, LeaseFence, LeaseRecord } from './cluster-types.js';
export * from './node-records.js';
export * from './log-records.js';

/**
 * Sealed secrets (secret-types.ts); day-2 tables: version support, support states, alerts (day2-types.ts);
 * hub membership and leases (cluster-types.ts). The singletons' writes take a `fence`: with one, the
 * write fails StoreError('LEASE_LOST') unless the lease is still held at that term (checked in its transaction).
 */
export interface Store extends SecretStore, Day2Store<NewEvent, EventRecord>, ClusterStore {
  // Pools. A pool named `default` always exists (created by migrations) and cannot be deleted.
  listPools(): Promise<Pool[]>;
  getPool(name: string): Promise<Pool | undefined>;
  /** Throws StoreError('CONFLICT') when the name exists. */
  createPool(pool: Pool): Promise<void>;
  updatePool(name: string, patch: PoolPatch, at: string): Promise<Pool | undefined>;
  /** false when absent. Throws StoreError('CONFLICT') for `default` or a pool that still has nodes or live tokens. */
  deletePool(name: string): Promise<boolean>;

  // Join tokens.
  createToken(token: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  /** Sets revokedAt if not yet revoked; false when absent. */
  revokeToken(id: string, at: string): Promise<boolean>;

  /**
   * One atomic, durable step: re-checks the token (exists, not revoked, not expired at `now`, uses <
   * maxUses), increments its use count, inserts the node and its certificate, and appends the event.
   * Anything but 'ok' changes nothing.
   */
  enroll(input: EnrollInput): Promise<EnrollOutcome>;

  // Nodes.
  getNode(id: string): Promise<NodeRecord | undefined>;
  listNodes(): Promise<NodeRecord[]>;
  updateNode(id: string, patch: NodePatch): Promise<NodeRecord | undefined>;
  /** Deletes the node and revokes all its certificates at `at`, atomically. false when absent. */
  deleteNode(id: string, at: string): Promise<boolean>;
  /**
   * Many health/lastSeen updates in one transaction (the hub batches reports). Unknown ids are skipped.
   * `samples` go to the health history in the same transaction (one fsync); each sampled node's
   * samples older than `pruneBefore` are deleted there too, so the history stays bounded.
   */
  recordHealth(updates: HealthUpdate[], history?: { samples: HealthSample[]; pruneBefore: string }): Promise<void>;
  /** A node's health history from `since` on, oldest first, at most `limit` samples (default 1000). */
  listHealthSamples(nodeId: string, since: string, limit?: number): Promise<HealthSample[]>;

  // Certificates issued to nodes.
  addCert(cert: CertRecord): Promise<void>;
  getCert(serial: string): Promise<CertRecord | undefined>;
  listCerts(nodeId: string): Promise<CertRecord[]>;
  /** Per node, its newest unrevoked certificate when that expires before `before`; soonest first, at most `limit`. */
  listExpiringCerts(
    before: string,
    limit: number,
  ): Promise<Array<{ nodeId: string; serial: string; notAfter: string }>>;
  /** A node's certificates with key hashes and PEMs (renewal), oldest first. */
  listNodeCerts(nodeId: string): Promise<NodeCertRecord[]>;
  /**
   * Records a certificate issued to an existing node, atomically with the check that the node exists:
   * when it does not (removed meanwhile), the certificate is stored revoked at `now` and the outcome is
   * 'node-missing'. `revokeSerials` (e.g. a spare it replaces) are revoked in the same transaction.
   */
  issueNodeCert(cert: NodeCertRecord, now: string, revokeSerials?: readonly string[]): Promise<IssueCertOutcome>;
  /**
   * The agent connected with this certificate: stamps usedAt (first use only) and revokes the node's
   * other live certificates issued before it (the ones it replaces). Returns the serials revoked.
   */
  markCertUsed(serial: string, at: string): Promise<string[]>;
  /**
   * Atomically: re-checks the token as enroll does, checks the node exists, uses the token, revokes
   * the node's live certificates and records the new one. Anything but 'ok' changes nothing.
   */
  rejoinNode(input: RejoinInput): Promise<EnrollOutcome | 'node-missing'>;
  /** The current certificate of every node that has a live one (one query). */
  currentCerts(): Promise<CurrentCert[]>;

  // Events (audit trail). appendEvent resolves only once the event is durable.
  appendEvent(event: NewEvent): Promise<EventRecord>;
  /**
   * A folded repeat (events.ts): deletes `oldId` when still stored and appends `event`, atomically, so
   * the new row gets a new, higher id and cursors (id > since) see it.
   */
  replaceEvent(oldId: number | null, event: NewEvent): Promise<EventRecord>;
  listEvents(query: EventQuery): Promise<EventRecord[]>;
  eventStats(): Promise<EventStats>;
  /** Deletes at most `limit` of the oldest events that are past `maxCount` or older than `before`; returns how many. */
  pruneEvents(opts: EventPrune): Promise<number>;

  // Commands to agents. addCommand resolves once the command is durable.
  addCommand(cmd: CommandRecord): Promise<void>;
  getCommand(id: string): Promise<CommandRecord | undefined>;
  /** Newest first. */
  listCommands(nodeId: string, limit: number): Promise<CommandRecord[]>;
  /** Pending commands of a node that have not expired at `now`, oldest first. */
  pendingCommands(nodeId: string, now: string): Promise<CommandRecord[]>;
  /**
   * Pending commands of these nodes never sent yet and not expired at `now`, oldest first, at most
   * `limit` (several hubs: the hub holding the nodes' links picks up what another hub stored; other
   * hubs' commands for nodes not linked here never crowd them out).
   */
  unsentCommands(now: string, limit: number, nodeIds: readonly string[]): Promise<CommandRecord[]>;
  markCommandSent(id: string): Promise<void>;
  /**
   * Stores the first result of a command of `nodeId`, pending or expired (later ones, and results for
   * another node's command, change nothing and give undefined).
   */
  completeCommand(
    id: string,
    nodeId: string,
    result: { ok: boolean; errorCode: string; message: string },
    at: string,
  ): Promise<CommandRecord | undefined>;
  /** Marks pending commands past their expiry as expired; returns them. */
  expireCommands(now: string): Promise<CommandRecord[]>;
  /** Stops re-sending one pending command (its caller gave up); false when it was not pending. */
  cancelCommand(id: string): Promise<boolean>;

  // Small key/value settings (JSON values).
  getSetting<T>(key: string): Promise<T | undefined>;
  /** Several settings in one query (for a set of nodes, not a loop of reads); absent keys are not in the map. */
  getSettings<T>(keys: readonly string[]): Promise<Map<string, T>>;
  /** With a fence (a singleton's state), refused LEASE_LOST once the role has moved on. */
  setSetting(key: string, value: unknown, fence?: LeaseFence): Promise<void>;
  /** Several settings in one transaction (one commit for many keys); undefined deletes a key. */
  setSettings(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void>;

  /**
   * Read-modify-write of one setting inside one IMMEDIATE transaction (a compare-and-set: no other
   * writer runs between the read and the write). `fn` is synchronous; what it returns is stored
   * (undefined deletes the key) and returned. An error thrown by `fn` changes nothing and is rethrown.
   */
  updateSetting<T>(
    key: string,
    fn: (current: T | undefined) => T | undefined,
    fence?: LeaseFence,
  ): Promise<T | undefined>;

  // API tokens (dashboard roles). Each call is one statement.
  /** Throws StoreError('CONFLICT') when the id exists. */
  createApiToken(token: ApiTokenRecord): Promise<void>;
  /** Oldest first. */
  listApiTokens(): Promise<ApiTokenRecord[]>;
  /** Sets revokedAt unless already revoked (the first time stays); the token as stored, undefined when absent. */
  revokeApiToken(id: string, at: string): Promise<ApiTokenRecord | undefined>;

  // Upgrade rollouts: one row per rollout holding its whole document.
  /**
   * Inserts or replaces the rollout, and deletes the finished rollouts beyond the newest
   * KEPT_FINISHED_ROLLOUTS, in one transaction.
   */
  saveRollout(rollout: RolloutHeader, fence?: LeaseFence): Promise<void>;
  getRollout<T extends RolloutHeader>(id: string): Promise<T | undefined>;
  /** Newest first (by createdAt), one query. */
  listRollouts<T extends RolloutHeader>(query?: RolloutQuery): Promise<T[]>;

  // k3s per node: its bootstrap token and the version it should run. Each call is one statement.
  /**
   * Stores the node's bootstrap token unless one is stored already; returns the stored one (so of two
   * racing callers both get the same token, and the loser can delete the one it made).
   */
  claimK3sToken(nodeId: string, creds: K3sTokenCreds): Promise<K3sTokenCreds>;
  getK3sToken(nodeId: string): Promise<K3sTokenCreds | undefined>;
  getDesiredK3sVersion(nodeId: string): Promise<string | undefined>;
  /** Sets the node's version; with `onlyIfUnset` keeps a stored one. Returns the stored version. */
  setDesiredK3sVersion(nodeId: string, version: string, onlyIfUnset?: boolean): Promise<string>;
  /** Every node's desired version, one query. */
  listDesiredK3sVersions(): Promise<Array<{ nodeId: string; version: string }>>;
  /** Every node's k3s row (token and desired version), one query: assigning k3s to all nodes at once. */
  listNodeK3s(): Promise<NodeK3sRecord[]>;
  /** Forgets the node's token and version. */
  deleteNodeK3s(nodeId: string): Promise<void>;

  // Pending purges of removed nodes, one row each; every call is one statement.
  /** Inserts or replaces the purge of `purge.id`. */
  addPendingPurge(purge: PendingPurge): Promise<void>;
  listPendingPurges(): Promise<PendingPurge[]>;
  /** Sets agentStopped; false when there is no such purge or it was set already. */
  markPurgeAgentStopped(nodeId: string): Promise<boolean>;
  /** Deletes the purge if its agent has stopped (else it stays: the kubelet may still run); true when deleted. */
  finishPendingPurge(nodeId: string): Promise<boolean>;

  // Autoheal: a record per node (hub/autoheal/records.ts holds its type) and pacing per pool.
  getAutohealRecord<T>(nodeId: string): Promise<T | undefined>;
  /** The records of these nodes in one query; nodes without one are not in the map. */
  getAutohealRecords<T>(nodeIds: readonly string[]): Promise<Map<string, T>>;
  /** Several records in one transaction; undefined deletes a node's record. */
  saveAutohealRecords(entries: ReadonlyArray<readonly [string, unknown]>, fence?: LeaseFence): Promise<void>;
  /** { width: 1, cooldownUntil: 0 } when none is stored. */
  getAutohealPacing(pool: string): Promise<AutohealPacing>;
  setAutohealPacing(pool: string, pacing: AutohealPacing, fence?: LeaseFence): Promise<void>;
  /** Doubles the pool's width, at most `max`, in one statement (keeps its cooldown); returns the result. */
  widenAutohealPacing(pool: string, max: number, fence?: LeaseFence): Promise<AutohealPacing>;

  close(): Promise<void>;
}

/**
 * DATASTORE_UNAVAILABLE: the database server cannot be reached or refuses to serve now (PostgreSQL
 * down, restarting, wrong credentials); it may come back by itself. SCHEMA_VERSION: the database was
 * migrated by a newer atoll, or is too old for this one to migrate.
 */
export type StoreErrorCode =
  | 'CONFLICT'
  | 'NOT_FOUND'
  | 'DISK_FULL'
  | 'READ_ONLY'
  | 'CORRUPT'
  | 'IO'
  | 'DATASTORE_UNAVAILABLE'
  | 'SCHEMA_VERSION'
  | 'LEASE_LOST';

export class StoreError extends AtollError<StoreErrorCode> {
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StoreError';
  }
}
