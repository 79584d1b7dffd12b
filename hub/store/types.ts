// The hub's persistence boundary. Everything the hub must not lose goes through this interface, so
// a distributed implementation (Postgres, for HA) can replace the embedded SQLite one later.
// All times are ISO-8601 strings in UTC; all methods are async even where SQLite is synchronous.

export const NODE_STATES = [
  'joining', 'ready', 'degraded', 'unreachable', 'remediating', 'upgrading', 'cordoned', 'needs-attention',
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

export type NodePatch = Partial<Pick<NodeRecord, 'name' | 'pool' | 'state' | 'labels' | 'facts' | 'agentVersion' | 'lastSeen' | 'health'>>;

export interface CertRecord {
  /** Hex serial, unique. */
  serial: string;
  nodeId: string;
  notBefore: string;
  notAfter: string;
  /** SHA-256 fingerprint of the DER, hex. */
  fingerprint: string;
  revokedAt: string | null;
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

export interface Store {
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
  listExpiringCerts(before: string, limit: number): Promise<Array<{ nodeId: string; serial: string; notAfter: string }>>;

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
  completeCommand(id: string, nodeId: string, result: { ok: boolean; errorCode: string; message: string }, at: string): Promise<CommandRecord | undefined>;
  /** Marks pending commands past their expiry as expired; returns them. */
  expireCommands(now: string): Promise<CommandRecord[]>;
  /** Stops re-sending one pending command (its caller gave up); false when it was not pending. */
  cancelCommand(id: string): Promise<boolean>;

  // Small key/value settings (JSON values).
  getSetting<T>(key: string): Promise<T | undefined>;
  setSetting(key: string, value: unknown): Promise<void>;
  /** Several settings in one transaction (one commit for many keys); undefined deletes a key. */
  setSettings(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void>;

  close(): Promise<void>;
}

export type StoreErrorCode = 'CONFLICT' | 'NOT_FOUND' | 'DISK_FULL' | 'READ_ONLY' | 'CORRUPT' | 'IO';

export class StoreError extends Error {
  constructor(readonly code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}
