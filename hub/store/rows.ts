// Row shapes of the store schema (the same columns on SQLite and PostgreSQL) and their mapping to the
// store's record types.
import {
  StoreError,
  type CertRecord,
  type NodeCertRecord,
  type CommandRecord,
  type CommandState,
  type EventRecord,
  type HealthRecord,
  type HealthSample,
  type HostFactsRecord,
  type EnrollOutcome,
  type NodeRecord,
  type NodeState,
  type Pool,
  type TokenRecord,
} from './types.js';
import { DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE, withAutoscaleDefaults, type PoolAutoscale } from './pool-sizes.js';

export interface PoolRow {
  name: string;
  description: string;
  labels: string;
  taints: string;
  min_size: number;
  max_size: number;
  autoscale: string;
  created_at: string;
  updated_at: string;
}

export interface TokenRow {
  id: string;
  secret_hash: string;
  pool: string;
  description: string;
  created_at: string;
  expires_at: string;
  max_uses: number | null;
  uses: number;
  revoked_at: string | null;
  created_by: string;
}

export interface NodeRow {
  id: string;
  name: string;
  pool: string;
  state: string;
  labels: string;
  facts: string;
  agent_version: string;
  token_id: string;
  created_at: string;
  last_seen: string | null;
  health: string | null;
}

export interface CertRow {
  serial: string;
  node_id: string;
  not_before: string;
  not_after: string;
  fingerprint: string;
  revoked_at: string | null;
  issued_at: string | null;
  used_at: string | null;
  public_key_sha256: string | null;
  cert_pem: string | null;
}

export interface SampleRow {
  node_id: string;
  at: number;
  cpu_pm: number;
  memory_pm: number;
  disk_pm: number;
}

export interface EventRow {
  id: number;
  at: string;
  type: string;
  node_id: string | null;
  pool: string | null;
  actor: string;
  message: string;
  data: string;
}

/** Whether a join token may be used at `now`; fails closed (an unparsable time counts as expired). */
export function tokenCheck(t: TokenRow | undefined, now: string): EnrollOutcome {
  if (!t) return 'token-missing';
  if (t.revoked_at !== null) return 'token-revoked';
  if (!(Date.parse(now) < Date.parse(t.expires_at))) return 'token-expired';
  if (t.max_uses !== null && t.uses >= t.max_uses) return 'token-used-up';
  return 'ok';
}

export function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new StoreError('CORRUPT', `the hub database holds invalid JSON in ${what}`, { cause: err });
  }
}

export const poolFromRow = (r: PoolRow): Pool => ({
  name: r.name,
  description: r.description,
  labels: parseJson<Record<string, string>>(r.labels, `pools.labels of ${r.name}`),
  taints: parseJson<string[]>(r.taints, `pools.taints of ${r.name}`),
  minSize: Number(r.min_size),
  maxSize: Number(r.max_size),
  autoscale: withAutoscaleDefaults(parseJson<Partial<PoolAutoscale>>(r.autoscale, `pools.autoscale of ${r.name}`)),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const poolToRow = (p: Pool): PoolRow => ({
  name: p.name,
  description: p.description,
  labels: JSON.stringify(p.labels ?? {}),
  taints: JSON.stringify(p.taints ?? []),
  min_size: p.minSize ?? DEFAULT_MIN_SIZE,
  max_size: p.maxSize ?? DEFAULT_MAX_SIZE,
  autoscale: JSON.stringify(withAutoscaleDefaults(p.autoscale)),
  created_at: p.createdAt,
  updated_at: p.updatedAt,
});

export const tokenFromRow = (r: TokenRow): TokenRecord => ({
  id: r.id,
  secretHash: r.secret_hash,
  pool: r.pool,
  description: r.description,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  maxUses: r.max_uses,
  uses: r.uses,
  revokedAt: r.revoked_at,
  createdBy: r.created_by,
});

export const tokenToRow = (t: TokenRecord): TokenRow => ({
  id: t.id,
  secret_hash: t.secretHash,
  pool: t.pool,
  description: t.description,
  created_at: t.createdAt,
  expires_at: t.expiresAt,
  max_uses: t.maxUses ?? null,
  uses: t.uses ?? 0,
  revoked_at: t.revokedAt ?? null,
  created_by: t.createdBy,
});

export const nodeFromRow = (r: NodeRow): NodeRecord => ({
  id: r.id,
  name: r.name,
  pool: r.pool,
  state: r.state as NodeState,
  labels: parseJson<Record<string, string>>(r.labels, `nodes.labels of ${r.id}`),
  facts: parseJson<HostFactsRecord>(r.facts, `nodes.facts of ${r.id}`),
  agentVersion: r.agent_version,
  tokenId: r.token_id,
  createdAt: r.created_at,
  lastSeen: r.last_seen,
  health: r.health === null ? null : parseJson<HealthRecord>(r.health, `nodes.health of ${r.id}`),
});

export const nodeToRow = (n: NodeRecord): NodeRow => ({
  id: n.id,
  name: n.name,
  pool: n.pool,
  state: n.state,
  labels: JSON.stringify(n.labels ?? {}),
  facts: JSON.stringify(n.facts),
  agent_version: n.agentVersion,
  token_id: n.tokenId,
  created_at: n.createdAt,
  last_seen: n.lastSeen ?? null,
  health: n.health == null ? null : JSON.stringify(n.health),
});

export const certFromRow = (r: CertRow): CertRecord => ({
  serial: r.serial,
  nodeId: r.node_id,
  notBefore: r.not_before,
  notAfter: r.not_after,
  fingerprint: r.fingerprint,
  revokedAt: r.revoked_at,
  ...(r.issued_at ? { issuedAt: r.issued_at } : {}),
  ...(r.used_at ? { usedAt: r.used_at } : {}),
});

export const nodeCertFromRow = (r: CertRow): NodeCertRecord => ({
  ...certFromRow(r),
  publicKeySha256: r.public_key_sha256,
  certPem: r.cert_pem,
});

export const certToRow = (c: CertRecord | NodeCertRecord): CertRow => ({
  serial: c.serial,
  node_id: c.nodeId,
  not_before: c.notBefore,
  not_after: c.notAfter,
  fingerprint: c.fingerprint,
  revoked_at: c.revokedAt ?? null,
  issued_at: c.issuedAt ?? null,
  used_at: c.usedAt ?? null,
  public_key_sha256: 'publicKeySha256' in c ? c.publicKeySha256 : null,
  cert_pem: 'certPem' in c ? c.certPem : null,
});

export const eventFromRow = (r: EventRow): EventRecord => ({
  id: r.id,
  at: r.at,
  type: r.type,
  nodeId: r.node_id,
  pool: r.pool,
  actor: r.actor,
  message: r.message,
  data: parseJson<Record<string, unknown>>(r.data, `events.data of ${r.id}`),
});

/** Percent (0-100) to the stored integer tenths, clamped; non-finite values count as 0. */
const toPermille = (pct: number): number =>
  Number.isFinite(pct) ? Math.round(Math.min(100, Math.max(0, pct)) * 10) : 0;

export const sampleFromRow = (r: SampleRow): HealthSample => ({
  nodeId: r.node_id,
  at: new Date(r.at).toISOString(),
  cpuPercent: r.cpu_pm / 10,
  memoryPercent: r.memory_pm / 10,
  diskPercent: r.disk_pm / 10,
});

export const sampleToRow = (s: HealthSample): SampleRow => ({
  node_id: s.nodeId,
  at: Date.parse(s.at),
  cpu_pm: toPermille(s.cpuPercent),
  memory_pm: toPermille(s.memoryPercent),
  disk_pm: toPermille(s.diskPercent),
});

export interface CommandRow {
  id: string;
  node_id: string;
  action: string;
  args: string;
  actor: string;
  state: string;
  created_at: string;
  expires_at: string;
  sent_count: number;
  ok: number | null;
  error_code: string | null;
  message: string | null;
  completed_at: string | null;
}

export const commandFromRow = (r: CommandRow): CommandRecord => ({
  id: r.id,
  nodeId: r.node_id,
  action: r.action,
  args: parseJson<Record<string, string>>(r.args, `command ${r.id} args`),
  actor: r.actor,
  state: r.state as CommandState,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  sentCount: r.sent_count,
  result:
    r.completed_at === null || r.ok === null
      ? null
      : { ok: r.ok === 1, errorCode: r.error_code ?? '', message: r.message ?? '', at: r.completed_at },
});

export const commandToRow = (c: CommandRecord): CommandRow => ({
  id: c.id,
  node_id: c.nodeId,
  action: c.action,
  args: JSON.stringify(c.args),
  actor: c.actor,
  state: c.state,
  created_at: c.createdAt,
  expires_at: c.expiresAt,
  sent_count: c.sentCount,
  ok: c.result ? (c.result.ok ? 1 : 0) : null,
  error_code: c.result?.errorCode ?? null,
  message: c.result?.message ?? null,
  completed_at: c.result?.at ?? null,
});
