// The hub's persistence boundary. Everything the hub must not lose goes through this interface, so
// a distributed implementation (Postgres, for HA) can replace the embedded SQLite one later.
// All times are ISO-8601 strings in UTC; all methods are async even where SQLite is synchronous.
import type { Day2Store } from './day2-types.js';

export const NODE_STATES = [
  'joining',
  'ready',
  'degraded',
  'unreachable',
  'remediating',
  'upgrading',
  'cordoned',
  'needs-attention',
] as const;
export type NodeState = (typeof NODE_STATES)[number];

export interface Pool {
  name: string;
  description: string;
  /** Labels every node of the pool gets (k3s --node-label). */
  labels: Record<string, string>;
  /** Taints every node of the pool gets, `key=value:Effect`. */
  taints: string[];
  createdAt: string;
  updatedAt: string;
}

export type PoolPatch = Partial<Pick<Pool, 'description' | 'labels' | 'taints'>>;

export interface TokenRecord {
  /** Public id, shown in lists and used to revoke. */
  id: string;
  /** Hex SHA-256 of the secret part; the secret itself is never stored. */
  secretHash: string;
  pool: string;
  description: string;
  createdAt: string;
  expiresAt: string;
  /** null means reusable (no limit). */
  maxUses: number | null;
  uses: number;
  revokedAt: string | null;
  /** Actor that created it (admin token id). */
  createdBy: string;
}

export interface HostFactsRecord {
  hostname: string;
  os: string;
  kernel: string;
  arch: string;
  cpus: number;
  memoryBytes: number;
  addresses: string[];
  bootId: string;
  /** /etc/machine-id of the host; absent from agents before it was reported. */
  machineId?: string;
  /** Cloud provider from the host's DMI (aws, gcp, hetzner, ...); '' or absent when unknown. */
  provider?: string;
}

export interface HealthRecord {
  /** Hub time at which the report arrived. */
  receivedAt: string;
  cpuPercent: number;
  memoryTotalBytes: number;
  memoryUsedBytes: number;
  diskTotalBytes: number;
  diskUsedBytes: number;
  load1: number;
  load5: number;
  load15: number;
  uptimeSeconds: number;
  k3s: { state: string; version: string; kubeletHealthy: boolean; restarts: number; lastLogLines: string[] };
  /** Agent clock minus hub clock, in ms, as estimated at the report. */
  clockSkewMs: number;
  /** File systems of the agent's and k3s's data dirs when not "/" (absent from older agents). */
  disks?: DiskRecord[];
}

export interface DiskRecord {
  /** agent-data or k3s-data */
  role: string;
  path: string;
  totalBytes: number;
  usedBytes: number;
}

export interface NodeRecord {
  id: string;
  name: string;
  pool: string;
  state: NodeState;
  labels: Record<string, string>;
  facts: HostFactsRecord;
  agentVersion: string;
  /** Token the node joined with. */
  tokenId: string;
  createdAt: string;
  lastSeen: string | null;
  health: HealthRecord | null;
}

export type NodePatch = Partial<
  Pick<NodeRecord, 'name' | 'pool' | 'state' | 'labels' | 'facts' | 'agentVersion' | 'lastSeen' | 'health'>
>;

export interface CertRecord {
  /** Hex serial, unique. */
  serial: string;
  nodeId: string;
  notBefore: string;
  notAfter: string;
  /** SHA-256 fingerprint of the DER, hex. */
  fingerprint: string;
  revokedAt: string | null;
  /** When the hub signed it (notBefore is backdated for clock skew); absent on rows from before v4. */
  issuedAt?: string;
  /** When the agent first connected with it; absent while unused. */
  usedAt?: string;
}

/** A certificate with what renewal needs: its key (to answer a retried request) and its PEM. */
export interface NodeCertRecord extends CertRecord {
  /** SHA-256 of the certified public key (SPKI DER), hex; null on rows from before v4. */
  publicKeySha256: string | null;
  /** The certificate itself, kept for renewals so a retried request gets the same one; null otherwise. */
  certPem: string | null;
}

/** The certificate a node uses now: the newest unrevoked one it connected with (else the newest unrevoked). */
export interface CurrentCert {
  nodeId: string;
  serial: string;
  notAfter: string;
  issuedAt: string;
}

export type IssueCertOutcome = 'ok' | 'node-missing';

/** A node whose certificate expired joins again under its id: a token use and a new certificate. */
export interface RejoinInput {
  tokenId: string;
  now: string;
  cert: NodeCertRecord;
}

export interface NewEvent {
  /** e.g. node.joined, node.state, token.created, admin.action, join.rejected */
  type: string;
  nodeId?: string | null;
  pool?: string | null;
  /** Who caused it: `admin`, `node:<id>`, `hub`, or an api token id. */
  actor: string;
  message: string;
  data?: Record<string, unknown>;
}

export interface EventRecord extends Required<Omit<NewEvent, 'data'>> {
  /** Monotonic cursor. */
  id: number;
  at: string;
  data: Record<string, unknown>;
}

export interface EventQuery {
  /** Return events with id > since. */
  since?: number;
  /** And with id < before. Without `order`, a `before` query is newest first (paging back from the newest). */
  before?: number;
  /** By id: 'asc' (oldest first; the default without `before`) or 'desc' (newest first). */
  order?: 'asc' | 'desc';
  /** Default 100, max 1000. */
  limit?: number;
  type?: string;
  nodeId?: string;
  pool?: string;
}

export interface EventStats {
  count: number;
  /** Time of the oldest stored event; null when there is none. */
  oldestAt: string | null;
}

export interface EventPrune {
  /** Delete events recorded before this time (ISO). */
  before?: string;
  /** Delete the oldest events beyond this many. */
  maxCount?: number;
  /** At most this many rows in this call (one short transaction). */
  limit: number;
}

export type EnrollOutcome = 'ok' | 'token-missing' | 'token-revoked' | 'token-expired' | 'token-used-up';

export interface EnrollInput {
  tokenId: string;
  /** Used for the expiry check. */
  now: string;
  node: NodeRecord;
  cert: CertRecord;
  event: NewEvent;
}

export interface HealthUpdate {
  nodeId: string;
  lastSeen: string;
  /** null keeps the node's last report (a liveness-only update); updateNode({ health: null }) clears it. */
  health: HealthRecord | null;
}

/** One point of a node's health history (percentages 0-100, one decimal). */
export interface HealthSample {
  nodeId: string;
  at: string;
  cpuPercent: number;
  memoryPercent: number;
  diskPercent: number;
}

export type CommandState = 'pending' | 'done' | 'expired';

/** A command to a node's agent: stored before it is sent, re-sent on reconnect until answered or expired. */
export interface CommandRecord {
  id: string;
  nodeId: string;
  action: string;
  args: Record<string, string>;
  actor: string;
  state: CommandState;
  createdAt: string;
  /** Not sent (or re-sent) after this time; then `expired`. */
  expiresAt: string;
  sentCount: number;
  result: { ok: boolean; errorCode: string; message: string; at: string } | null;
}

/** Rollout states that are still in progress; every other state is finished (kept, then pruned). */
export const ACTIVE_ROLLOUT_STATES = ['waiting-window', 'running', 'paused'] as const;
/** Finished rollouts kept (newest first); older finished ones are deleted when a rollout is saved. */
export const KEPT_FINISHED_ROLLOUTS = 200;

/** What the store reads of a rollout (hub/upgrades/rollout-state.ts holds the whole document). */
export interface RolloutHeader {
  id: string;
  kind: string;
  state: string;
  createdAt: string;
  updatedAt: string;
}

export interface RolloutQuery {
  /** Only rollouts in ACTIVE_ROLLOUT_STATES. */
  active?: boolean;
  /** Default and max: KEPT_FINISHED_ROLLOUTS + the active ones. */
  limit?: number;
}

/** A dashboard API token (hub/api/api-tokens.ts); only the SHA-256 of its secret is stored. */
export interface ApiTokenRecord {
  id: string;
  role: string;
  description: string;
  secretHash: string;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
}

/** A node's k3s bootstrap token (secret) at the control plane. */
export interface K3sTokenCreds {
  id: string;
  token: string;
}

/** A removed node whose Kubernetes objects still have to be deleted (hub/k3s/node-k3s.ts). */
export interface PendingPurge {
  id: string;
  name: string;
  pool: string;
  /** The agent hung up after being told, or was refused with its revoked certificate. */
  agentStopped: boolean;
}

/** Autoheal pacing of a pool: how many repairs at a time, and a cooldown (epoch ms) after a failure. */
export interface AutohealPacing {
  width: number;
  cooldownUntil: number;
}

/** Day-2 tables (version support, support states, alerts): day2-types.ts. */
export interface Store extends Day2Store<NewEvent, EventRecord> {
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
  setSetting(key: string, value: unknown): Promise<void>;
  /** Several settings in one transaction (one commit for many keys); undefined deletes a key. */
  setSettings(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void>;

  /**
   * Read-modify-write of one setting inside one IMMEDIATE transaction (a compare-and-set: no other
   * writer runs between the read and the write). `fn` is synchronous; what it returns is stored
   * (undefined deletes the key) and returned. An error thrown by `fn` changes nothing and is rethrown.
   */
  updateSetting<T>(key: string, fn: (current: T | undefined) => T | undefined): Promise<T | undefined>;

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
  saveRollout(rollout: RolloutHeader): Promise<void>;
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
  /** Several records in one transaction; undefined deletes a node's record. */
  saveAutohealRecords(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void>;
  /** { width: 1, cooldownUntil: 0 } when none is stored. */
  getAutohealPacing(pool: string): Promise<AutohealPacing>;
  setAutohealPacing(pool: string, pacing: AutohealPacing): Promise<void>;
  /** Doubles the pool's width, at most `max`, in one statement (keeps its cooldown); returns the result. */
  widenAutohealPacing(pool: string, max: number): Promise<AutohealPacing>;

  close(): Promise<void>;
}

export type StoreErrorCode = 'CONFLICT' | 'NOT_FOUND' | 'DISK_FULL' | 'READ_ONLY' | 'CORRUPT' | 'IO';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}
