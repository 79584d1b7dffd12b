// The SQLite store's pools, join tokens (and enroll), nodes and their health: the middle layer
// between SqliteStoreBase (settings and documents) and SqliteStore (certificates, events, commands).
import type Database from 'better-sqlite3';
import { prepareStatements, type Statements } from './sqlite-statements.js';
import { SqliteEvents } from './sqlite-events.js';
import { SqliteDay2Store } from './sqlite-day2.js';
import { NODE_PATCH_KEYS, POOL_PATCH_KEYS, assertState, isLive, pick, sampleLimit } from './store-rules.js';
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
} from './rows.js';
import {
  StoreError,
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

export abstract class SqliteNodeStore extends SqliteDay2Store {
  protected readonly st: Statements;
  protected readonly events: SqliteEvents;
  private readonly healthTx: (updates: HealthUpdate[], samples: HealthSample[], pruneBeforeMs: number) => void;

  constructor(db: Database.Database, path: string) {
    super(db, path);
    this.st = prepareStatements(db);
    this.events = new SqliteEvents(db);
    const st = this.st;
    this.healthTx = db.transaction((updates: HealthUpdate[], samples: HealthSample[], pruneBeforeMs: number) => {
      const known = new Set<string>();
      for (const u of updates) {
        if (st.recordHealth.run(u.lastSeen, u.health == null ? null : JSON.stringify(u.health), u.nodeId).changes > 0)
          known.add(u.nodeId);
      }
      for (const sample of samples) {
        // Only nodes that exist (a sample of a removed node would never be pruned).
        if (!known.has(sample.nodeId) && !st.getNode.get(sample.nodeId)) continue;
        const row = sampleToRow(sample);
        if (!Number.isFinite(row.at)) continue;
        st.pruneSamples.run(row.node_id, pruneBeforeMs);
        st.insertSample.run(row.node_id, row.at, row.cpu_pm, row.memory_pm, row.disk_pm);
      }
    });
  }

  protected requirePool(name: string): void {
    if (!this.st.getPool.get(name)) throw new StoreError('NOT_FOUND', `pool "${name}" does not exist`);
  }

  // Pools.
  listPools(): Promise<Pool[]> {
    return this.run('listing pools', () => this.st.listPools.all().map(poolFromRow));
  }

  getPool(name: string): Promise<Pool | undefined> {
    return this.run('reading a pool', () => {
      const row = this.st.getPool.get(name);
      return row && poolFromRow(row);
    });
  }

  createPool(pool: Pool): Promise<void> {
    return this.run('creating a pool', () =>
      this.tx(() => {
        if (this.st.getPool.get(pool.name)) throw new StoreError('CONFLICT', `pool "${pool.name}" already exists`);
        this.st.insertPool.run(poolToRow(pool));
      }),
    );
  }

  updatePool(name: string, patch: PoolPatch, at: string): Promise<Pool | undefined> {
    return this.run('updating a pool', () =>
      this.tx(() => {
        const row = this.st.getPool.get(name);
        if (!row) return undefined;
        const next: Pool = { ...poolFromRow(row), ...pick(patch, POOL_PATCH_KEYS), updatedAt: at };
        this.st.updatePool.run(poolToRow(next));
        return next;
      }),
    );
  }

  deletePool(name: string): Promise<boolean> {
    return this.run('deleting a pool', () =>
      this.tx(() => {
        if (name === 'default') throw new StoreError('CONFLICT', 'the default pool cannot be deleted');
        if (!this.st.getPool.get(name)) return false;
        const nodes = this.st.countPoolNodes.get(name)?.n ?? 0;
        if (nodes > 0) {
          throw new StoreError('CONFLICT', `pool "${name}" still has ${nodes} node(s); remove or move them first`);
        }
        const now = Date.now();
        const live = this.st.listPoolTokens.all(name).filter((t) => isLive(t, now)).length;
        if (live > 0) {
          throw new StoreError(
            'CONFLICT',
            `pool "${name}" still has ${live} live join token(s); revoke them first or let them expire`,
          );
        }
        return this.st.deletePool.run(name).changes > 0;
      }),
    );
  }

  // Join tokens.
  createToken(token: TokenRecord): Promise<void> {
    return this.run('creating a join token', () =>
      this.tx(() => {
        this.requirePool(token.pool);
        if (this.st.getToken.get(token.id)) throw new StoreError('CONFLICT', `token "${token.id}" already exists`);
        this.st.insertToken.run(tokenToRow(token));
      }),
    );
  }

  getToken(id: string): Promise<TokenRecord | undefined> {
    return this.run('reading a join token', () => {
      const row = this.st.getToken.get(id);
      return row && tokenFromRow(row);
    });
  }

  listTokens(): Promise<TokenRecord[]> {
    return this.run('listing join tokens', () => this.st.listTokens.all().map(tokenFromRow));
  }

  revokeToken(id: string, at: string): Promise<boolean> {
    return this.run('revoking a join token', () => this.st.revokeToken.run(at, id).changes > 0);
  }

  enroll(input: EnrollInput): Promise<EnrollOutcome> {
    return this.run('enrolling a node', () =>
      this.tx((): EnrollOutcome => {
        const t = this.st.getToken.get(input.tokenId);
        const check = tokenCheck(t, input.now);
        if (check !== 'ok' || !t) return check;
        const { node, cert, event } = input;
        assertState(node.state);
        this.requirePool(node.pool);
        this.st.useToken.run(t.id);
        this.st.insertNode.run(nodeToRow(node));
        this.st.insertCert.run(certToRow(cert));
        this.events.append({ ...event, nodeId: event.nodeId ?? node.id, pool: event.pool ?? node.pool });
        return 'ok';
      }),
    );
  }

  // Nodes.
  getNode(id: string): Promise<NodeRecord | undefined> {
    return this.run('reading a node', () => {
      const row = this.st.getNode.get(id);
      return row && nodeFromRow(row);
    });
  }

  listNodes(): Promise<NodeRecord[]> {
    return this.run('listing nodes', () => this.st.listNodes.all().map(nodeFromRow));
  }

  updateNode(id: string, patch: NodePatch): Promise<NodeRecord | undefined> {
    return this.run('updating a node', () =>
      this.tx(() => {
        const row = this.st.getNode.get(id);
        if (!row) return undefined;
        const next: NodeRecord = { ...nodeFromRow(row), ...pick(patch, NODE_PATCH_KEYS) };
        assertState(next.state);
        if (next.pool !== row.pool) this.requirePool(next.pool);
        this.st.updateNode.run(nodeToRow(next));
        return next;
      }),
    );
  }

  deleteNode(id: string, at: string): Promise<boolean> {
    return this.run('deleting a node', () =>
      this.tx(() => {
        // Revoke even when the node row is gone already: a serial of a deleted node must never be valid.
        this.st.revokeNodeCerts.run(at, id);
        this.st.deleteNodeSamples.run(id);
        return this.st.deleteNode.run(id).changes > 0;
      }),
    );
  }

  recordHealth(updates: HealthUpdate[], history?: { samples: HealthSample[]; pruneBefore: string }): Promise<void> {
    const samples = history?.samples ?? [];
    if (updates.length === 0 && samples.length === 0) return Promise.resolve();
    const pruneBeforeMs = history ? Date.parse(history.pruneBefore) : 0;
    return this.run('recording node health', () =>
      this.healthTx(updates, samples, Number.isFinite(pruneBeforeMs) ? pruneBeforeMs : 0),
    );
  }

  listHealthSamples(nodeId: string, since: string, limit?: number): Promise<HealthSample[]> {
    return this.run('listing health samples', () => {
      const sinceMs = Date.parse(since);
      const max = sampleLimit(limit);
      return this.st.listSamples.all(nodeId, Number.isFinite(sinceMs) ? sinceMs : 0, max).map(sampleFromRow);
    });
  }
}
