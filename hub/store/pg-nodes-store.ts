// The PostgreSQL store's pools, join tokens (and enroll), nodes and their health: the middle layer
// between PgStoreBase (settings and documents) and PgStore (certificates, events, commands).
// What SQLite's BEGIN IMMEDIATE serialised is serialised here by row locks taken first in the
// transaction (SELECT ... FOR UPDATE of the token, the pool, the node).
import { appendEvent } from './pg-events.js';
import { type Exec } from './pg-db.js';
import { PgStoreBase } from './pg-documents.js';
import { NQ } from './pg-node-sql.js';
import {
  certToRow,
  nodeFromRow,
  nodeToRow,
  poolFromRow,
  poolToRow,
  sampleFromRow,
  sampleToRow,
  tokenCheck,
  tokenFromRow,
  tokenToRow,
  type CertRow,
  type NodeRow,
  type PoolRow,
  type SampleRow,
  type TokenRow,
} from './rows.js';
import { NODE_PATCH_KEYS, POOL_PATCH_KEYS, assertState, isLive, pick, sampleLimit } from './store-rules.js';
import {
  StoreError,
  type CertRecord,
  type EnrollInput,
  type EnrollOutcome,
  type HealthSample,
  type HealthUpdate,
  type NodePatch,
  type NodeRecord,
  type Pool,
  type PoolPatch,
  type TokenRecord,
} from './types.js';

export const poolParams = (r: PoolRow) => [
  r.name,
  r.description,
  r.labels,
  r.taints,
  r.min_size,
  r.max_size,
  r.autoscale,
  r.created_at,
  r.updated_at,
];
export const tokenParams = (r: TokenRow) => [
  r.id,
  r.secret_hash,
  r.pool,
  r.description,
  r.created_at,
  r.expires_at,
  r.max_uses,
  r.uses,
  r.revoked_at,
  r.created_by,
];
export const nodeParams = (r: NodeRow) => [
  r.id,
  r.name,
  r.pool,
  r.state,
  r.labels,
  r.facts,
  r.agent_version,
  r.token_id,
  r.created_at,
  r.last_seen,
  r.health,
];
export const certParams = (r: CertRow) => [
  r.serial,
  r.node_id,
  r.not_before,
  r.not_after,
  r.fingerprint,
  r.revoked_at,
  r.issued_at,
  r.used_at,
  r.public_key_sha256,
  r.cert_pem,
];
export const insertCert = (ex: Exec, c: CertRecord) => ex.count(NQ.insertCert, certParams(certToRow(c)));

/** The batch as one statement's arrays: one entry per node (last lastSeen, last non-null health). */
function healthArrays(updates: HealthUpdate[]): [string[], string[], Array<string | null>] {
  const merged = new Map<string, { lastSeen: string; health: string | null }>();
  for (const u of updates) {
    const health = u.health == null ? null : JSON.stringify(u.health);
    merged.set(u.nodeId, { lastSeen: u.lastSeen, health: health ?? merged.get(u.nodeId)?.health ?? null });
  }
  const ids = [...merged.keys()].sort();
  return [ids, ids.map((id) => merged.get(id)!.lastSeen), ids.map((id) => merged.get(id)!.health)];
}

/** Samples as arrays, one per (node, time), the last wins; unparsable times and pruned-away ones are left out. */
function sampleArrays(
  samples: HealthSample[],
  pruneBeforeMs: number,
): [string[], number[], number[], number[], number[]] {
  const rows = new Map<string, SampleRow>();
  for (const s of samples) {
    const row = sampleToRow(s);
    if (Number.isFinite(row.at) && row.at >= pruneBeforeMs) rows.set(`${row.node_id}\n${row.at}`, row);
  }
  const list = [...rows.values()];
  return [
    list.map((r) => r.node_id),
    list.map((r) => r.at),
    list.map((r) => r.cpu_pm),
    list.map((r) => r.memory_pm),
    list.map((r) => r.disk_pm),
  ];
}

export abstract class PgNodeStore extends PgStoreBase {
  protected async requirePool(ex: Exec, name: string): Promise<void> {
    if (!(await ex.row(NQ.getPool, [name]))) throw new StoreError('NOT_FOUND', `pool "${name}" does not exist`);
  }

  // Pools.
  listPools(): Promise<Pool[]> {
    return this.db.run('listing pools', async (ex) => (await ex.rows<PoolRow>(NQ.listPools)).map(poolFromRow));
  }

  getPool(name: string): Promise<Pool | undefined> {
    return this.db.run('reading a pool', async (ex) => {
      const row = await ex.row<PoolRow>(NQ.getPool, [name]);
      return row && poolFromRow(row);
    });
  }

  createPool(pool: Pool): Promise<void> {
    return this.db.run('creating a pool', async (ex) => {
      if ((await ex.count(NQ.insertPool, poolParams(poolToRow(pool)))) === 0)
        throw new StoreError('CONFLICT', `pool "${pool.name}" already exists`);
    });
  }

  updatePool(name: string, patch: PoolPatch, at: string): Promise<Pool | undefined> {
    return this.db.tx('updating a pool', async (ex) => {
      const row = await ex.row<PoolRow>(NQ.lockPool, [name]);
      if (!row) return undefined;
      const next: Pool = { ...poolFromRow(row), ...pick(patch, POOL_PATCH_KEYS), updatedAt: at };
      const r = poolToRow(next);
      await ex.count(NQ.updatePool, [
        r.name,
        r.description,
        r.labels,
        r.taints,
        r.min_size,
        r.max_size,
        r.autoscale,
        r.updated_at,
      ]);
      return next;
    });
  }

  deletePool(name: string): Promise<boolean> {
    return this.db.tx('deleting a pool', async (ex) => {
      if (name === 'default') throw new StoreError('CONFLICT', 'the default pool cannot be deleted');
      // The pool's row lock: a join into it (its foreign key check) waits for this transaction.
      if (!(await ex.row(NQ.lockPool, [name]))) return false;
      const nodes = (await ex.row<{ n: number }>(NQ.countPoolNodes, [name]))?.n ?? 0;
      if (nodes > 0) {
        throw new StoreError('CONFLICT', `pool "${name}" still has ${nodes} node(s); remove or move them first`);
      }
      const now = this.clock.now();
      const live = (await ex.rows<TokenRow>(NQ.listPoolTokens, [name])).filter((t) => isLive(t, now)).length;
      if (live > 0) {
        throw new StoreError(
          'CONFLICT',
          `pool "${name}" still has ${live} live join token(s); revoke them first or let them expire`,
        );
      }
      return (await ex.count(NQ.deletePool, [name])) > 0;
    });
  }

  // Join tokens.
  createToken(token: TokenRecord): Promise<void> {
    return this.db.tx('creating a join token', async (ex) => {
      await this.requirePool(ex, token.pool);
      if ((await ex.count(NQ.insertToken, tokenParams(tokenToRow(token)))) === 0)
        throw new StoreError('CONFLICT', `token "${token.id}" already exists`);
    });
  }

  getToken(id: string): Promise<TokenRecord | undefined> {
    return this.db.run('reading a join token', async (ex) => {
      const row = await ex.row<TokenRow>(NQ.getToken, [id]);
      return row && tokenFromRow(row);
    });
  }

  listTokens(): Promise<TokenRecord[]> {
    return this.db.run('listing join tokens', async (ex) => (await ex.rows<TokenRow>(NQ.listTokens)).map(tokenFromRow));
  }

  revokeToken(id: string, at: string): Promise<boolean> {
    return this.db.run('revoking a join token', async (ex) => (await ex.count(NQ.revokeToken, [at, id])) > 0);
  }

  enroll(input: EnrollInput): Promise<EnrollOutcome> {
    return this.db.tx('enrolling a node', async (ex): Promise<EnrollOutcome> => {
      const t = await ex.row<TokenRow>(NQ.lockToken, [input.tokenId]);
      const check = tokenCheck(t, input.now);
      if (check !== 'ok' || !t) return check;
      const { node, cert, event } = input;
      assertState(node.state);
      await this.requirePool(ex, node.pool);
      await ex.count(NQ.useToken, [t.id]);
      await ex.count(NQ.insertNode, nodeParams(nodeToRow(node)));
      await insertCert(ex, cert);
      await appendEvent(
        ex,
        { ...event, nodeId: event.nodeId ?? node.id, pool: event.pool ?? node.pool },
        this.nowIso(),
      );
      return 'ok';
    });
  }

  // Nodes.
  getNode(id: string): Promise<NodeRecord | undefined> {
    return this.db.run('reading a node', async (ex) => {
      const row = await ex.row<NodeRow>(NQ.getNode, [id]);
      return row && nodeFromRow(row);
    });
  }

  listNodes(): Promise<NodeRecord[]> {
    return this.db.run('listing nodes', async (ex) => (await ex.rows<NodeRow>(NQ.listNodes)).map(nodeFromRow));
  }

  updateNode(id: string, patch: NodePatch): Promise<NodeRecord | undefined> {
    return this.db.tx('updating a node', async (ex) => {
      const row = await ex.row<NodeRow>(NQ.lockNode, [id]);
      if (!row) return undefined;
      const next: NodeRecord = { ...nodeFromRow(row), ...pick(patch, NODE_PATCH_KEYS) };
      assertState(next.state);
      if (next.pool !== row.pool) await this.requirePool(ex, next.pool);
      const r = nodeToRow(next);
      await ex.count(NQ.updateNode, [
        r.id,
        r.name,
        r.pool,
        r.state,
        r.labels,
        r.facts,
        r.agent_version,
        r.last_seen,
        r.health,
      ]);
      return next;
    });
  }

  deleteNode(id: string, at: string): Promise<boolean> {
    return this.db.tx('deleting a node', async (ex) => {
      // The node's row first: a certificate being issued to it (which holds the row) commits before
      // this goes on, and the revocation below (a fresh snapshot) sees that certificate too.
      const deleted = (await ex.count(NQ.deleteNode, [id])) > 0;
      // Revoke even when the node row is gone already: a serial of a deleted node must never be valid.
      await ex.count(NQ.revokeNodeCerts, [at, id]);
      await ex.count(NQ.deleteNodeSamples, [id]);
      return deleted;
    });
  }

  /** One statement per batch, whatever its size (pg-node-sql.ts recordHealth). */
  async recordHealth(
    updates: HealthUpdate[],
    history?: { samples: HealthSample[]; pruneBefore: string },
  ): Promise<void> {
    const samples = history?.samples ?? [];
    if (updates.length === 0 && samples.length === 0) return;
    const parsed = history ? Date.parse(history.pruneBefore) : 0;
    const pruneBeforeMs = Number.isFinite(parsed) ? parsed : 0;
    const params = [...healthArrays(updates), ...sampleArrays(samples, pruneBeforeMs), pruneBeforeMs];
    return this.db.run('recording node health', async (ex) => {
      await ex.rows(NQ.recordHealth, params);
    });
  }

  listHealthSamples(nodeId: string, since: string, limit?: number): Promise<HealthSample[]> {
    const sinceMs = Date.parse(since);
    return this.db.run('listing health samples', async (ex) =>
      (
        await ex.rows<SampleRow>(NQ.listSamples, [nodeId, Number.isFinite(sinceMs) ? sinceMs : 0, sampleLimit(limit)])
      ).map(sampleFromRow),
    );
  }
}
