// The records the hub keeps about nodes: pools, join tokens, nodes with their facts and health,
// certificates, and the inputs of the atomic steps that write them (enroll, rejoin, health batches).
// All times are ISO-8601 strings in UTC. The Store interface (types.ts) reads and writes these.
import type { PoolAutoscale } from './pool-sizes.js';

export type { PoolAutoscale } from './pool-sizes.js';

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
  /** Size bounds: autoscale and `pool scale` stay within them (0 <= minSize <= maxSize). */
  minSize: number;
  maxSize: number;
  autoscale: PoolAutoscale;
  createdAt: string;
  updatedAt: string;
}

export type PoolPatch = Partial<Pick<Pool, 'description' | 'labels' | 'taints' | 'minSize' | 'maxSize' | 'autoscale'>>;

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

export type EnrollOutcome = 'ok' | 'token-missing' | 'token-revoked' | 'token-expired' | 'token-used-up';

import type { NewEvent } from './log-records.js';

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
