// The records of the hub's logs and documents: events (the audit trail and its cursor), commands to
// agents, upgrade rollouts, API tokens, k3s per node, pending purges and autoheal pacing.
// All times are ISO-8601 strings in UTC. The Store interface (types.ts) reads and writes these.

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

/** What the hub keeps about a node's k3s: its bootstrap token and the version it should run. */
export interface NodeK3sRecord {
  nodeId: string;
  token: K3sTokenCreds | null;
  desiredVersion: string | null;
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
