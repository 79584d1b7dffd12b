// Shared fixtures for the store tests: a temp dir per test and record factories.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE, DEFAULT_POOL_AUTOSCALE } from '../../../hub/store/pool-sizes.js';
import type { CertRecord, EnrollInput, HealthRecord, NodeRecord, Pool, TokenRecord } from '../../../hub/store/types.js';

export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
export const HOUR = 3_600_000;

export function pool(name: string, over: Partial<Pool> = {}): Pool {
  const at = iso(Date.now());
  return {
    name,
    description: `pool ${name}`,
    labels: { tier: name },
    taints: [],
    minSize: DEFAULT_MIN_SIZE,
    maxSize: DEFAULT_MAX_SIZE,
    autoscale: { ...DEFAULT_POOL_AUTOSCALE },
    createdAt: at,
    updatedAt: at,
    ...over,
  };
}

export function token(id: string, over: Partial<TokenRecord> = {}): TokenRecord {
  return {
    id,
    secretHash: `hash-${id}`,
    pool: 'default',
    description: '',
    createdAt: iso(Date.now()),
    expiresAt: iso(Date.now() + HOUR),
    maxUses: 1,
    uses: 0,
    revokedAt: null,
    createdBy: 'admin',
    ...over,
  };
}

export function node(id: string, over: Partial<NodeRecord> = {}): NodeRecord {
  return {
    id,
    name: `node-${id}`,
    pool: 'default',
    state: 'joining',
    labels: { zone: 'a' },
    facts: {
      hostname: `host-${id}`,
      os: 'linux',
      kernel: '6.1',
      arch: 'amd64',
      cpus: 2,
      memoryBytes: 2 ** 31,
      addresses: ['10.0.0.1'],
      bootId: 'boot-1',
    },
    agentVersion: '0.1.0',
    tokenId: 'tok',
    createdAt: iso(Date.now()),
    lastSeen: null,
    health: null,
    ...over,
  };
}

export function cert(serial: string, nodeId: string, over: Partial<CertRecord> = {}): CertRecord {
  return {
    serial,
    nodeId,
    notBefore: iso(Date.now()),
    notAfter: iso(Date.now() + 365 * 24 * HOUR),
    fingerprint: `fp-${serial}`,
    revokedAt: null,
    ...over,
  };
}

export function health(cpuPercent: number): HealthRecord {
  return {
    receivedAt: iso(Date.now()),
    cpuPercent,
    memoryTotalBytes: 4e9,
    memoryUsedBytes: 1e9,
    diskTotalBytes: 1e11,
    diskUsedBytes: 1e10,
    load1: 0.5,
    load5: 0.4,
    load15: 0.3,
    uptimeSeconds: 1000,
    k3s: { state: 'running', version: 'v1.31.0+k3s1', kubeletHealthy: true, restarts: 0, lastLogLines: [] },
    clockSkewMs: 3,
  };
}

export function enrollInput(tokenId: string, nodeId: string, now = iso(Date.now())): EnrollInput {
  return {
    tokenId,
    now,
    node: node(nodeId, { tokenId }),
    cert: cert(`serial-${nodeId}`, nodeId),
    event: { type: 'node.joined', actor: `node:${nodeId}`, message: `node ${nodeId} joined` },
  };
}
