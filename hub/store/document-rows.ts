// Row shapes of the document tables (migration 4 on SQLite, the same columns on PostgreSQL) that
// both stores map the same way: API tokens, pending purges, k3s per node.
import type { ApiTokenRecord, AutohealPacing, NodeK3sRecord } from './types.js';

export interface ApiTokenRow {
  id: string;
  role: string;
  description: string;
  secret_hash: string;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
}

export const apiTokenFromRow = (r: ApiTokenRow): ApiTokenRecord => ({
  id: r.id,
  role: r.role,
  description: r.description,
  secretHash: r.secret_hash,
  createdAt: r.created_at,
  createdBy: r.created_by,
  revokedAt: r.revoked_at,
});

export interface PurgeRow {
  node_id: string;
  name: string;
  pool: string;
  agent_stopped: number;
}

export interface NodeK3sRow {
  node_id: string;
  token_id: string | null;
  token_secret: string | null;
  desired_version: string | null;
}

export const nodeK3sFromRow = (r: NodeK3sRow): NodeK3sRecord => ({
  nodeId: r.node_id,
  token: r.token_id && r.token_secret ? { id: r.token_id, token: r.token_secret } : null,
  desiredVersion: r.desired_version,
});

/** Autoheal pacing of a pool that has none stored. */
export const DEFAULT_PACING: AutohealPacing = Object.freeze({ width: 1, cooldownUntil: 0 });
