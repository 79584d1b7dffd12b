// The embedded store: one SQLite file (WAL, synchronous=FULL) in the hub's data dir. better-sqlite3 is
// synchronous; the methods are async only to honour the Store interface, and every one maps SQLite
// failures to StoreErrors.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { runMigrations } from './migrations.js';
import { checkName, integrityProblems, type IntegrityLevel } from './integrity.js';
import { toStoreError } from './sqlite-errors.js';
import { prepareStatements, type Statements } from './sqlite-statements.js';
import { SqliteEvents } from './sqlite-events.js';
import { SqliteDay2Store } from './sqlite-day2.js';
import { issueNodeCert, listNodeCerts, markCertUsed, prepareCertStatements, rejoinNode } from './sqlite-certs.js';
import {
  certFromRow,
  certToRow,
  commandFromRow,
  commandToRow,
  nodeFromRow,
  nodeToRow,
  poolFromRow,
  poolToRow,
  sampleFromRow,
  sampleToRow,
  tokenCheck,
  tokenFromRow,
  tokenToRow,
  type TokenRow,
} from './sqlite-rows.js';
import {
  NODE_STATES,
  StoreError,
  type CertRecord,
  type CommandRecord,
  type CurrentCert,
  type IssueCertOutcome,
  type NodeCertRecord,
  type RejoinInput,
  type EnrollInput,
  type EnrollOutcome,
  type EventPrune,
  type EventQuery,
  type EventRecord,
  type EventStats,
  type HealthSample,
  type HealthUpdate,
  type NewEvent,
  type NodePatch,
  type NodeRecord,
  type Pool,
  type PoolPatch,
  type Store,
  type TokenRecord,
} from './types.js';

export interface StoreLogger {
  warn(obj: object, msg?: string): void;
}

export interface SqliteStoreOptions {
  /** The database file, e.g. `<data-dir>/hub.db`. Created with mode 0600 when absent. */
  path: string;
  logger?: StoreLogger;
  /**
   * Caps the database size (SQLite max_page_count, never below its current size). Writes that would
   * grow it further fail with StoreError('DISK_FULL'), like a full disk. Default: no cap.
   */
  maxSizeBytes?: number;
  /** Checks the file before anything else reads or writes it; a damaged one is StoreError('CORRUPT'). */
  integrity?: IntegrityLevel;
}

const FILE_MODE = 0o600;
const DEFAULT_SAMPLE_LIMIT = 1000;
const MAX_SAMPLE_LIMIT = 10_000;

export async function openSqliteStore(opts: SqliteStoreOptions): Promise<Store> {
  const path = resolve(opts.path);
  let db: Database.Database | undefined;
  try {
    prepareFile(path, opts.logger);
    db = new Database(path);
    configure(db, path, opts);
    if (opts.integrity) assertIntact(db, path, opts.integrity);
    runMigrations(db);
    capSize(db, opts.maxSizeBytes);
    tightenSidecars(path, opts.logger);
    return new SqliteStore(db, path);
  } catch (err) {
    try {
      db?.close();
    } catch {
      /* already failing; keep the first error */
    }
    throw toStoreError(err, 'opening the hub database', path);
  }
}

function prepareFile(path: string, logger?: StoreLogger): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR, FILE_MODE));
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    tighten(path, logger);
  }
}

/** chmod 0600 when group or others have any access; a failure (not our file) is only a warning. */
function tighten(path: string, logger?: StoreLogger): void {
  try {
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, FILE_MODE);
  } catch (err) {
    logger?.warn({ path, err }, 'could not restrict the hub database file to mode 0600');
  }
}

function tightenSidecars(path: string, logger?: StoreLogger): void {
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(path + suffix)) tighten(path + suffix, logger);
  }
}

function configure(db: Database.Database, path: string, opts: SqliteStoreOptions): void {
  db.pragma('busy_timeout = 5000');
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (String(mode).toLowerCase() !== 'wal') {
    opts.logger?.warn({ path, journalMode: mode }, 'the hub database could not switch to WAL mode');
  }
  // FULL: a commit is on disk (WAL fsynced) before it is acknowledged, so kill -9 loses nothing acknowledged.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
}

function assertIntact(db: Database.Database, path: string, level: IntegrityLevel): void {
  const problems = integrityProblems(db, level);
  if (problems.length === 0) return;
  throw new StoreError(
    'CORRUPT',
    `the hub database ${path} is damaged (SQLite ${checkName(level)}: ${problems.slice(0, 5).join('; ')}` +
      `${problems.length > 5 ? `; and ${problems.length - 5} more` : ''})`,
  );
}

/** After migrations, so the cap never stops the schema from being created. */
function capSize(db: Database.Database, maxSizeBytes: number | undefined): void {
  if (maxSizeBytes === undefined) return;
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  db.pragma(`max_page_count = ${Math.max(1, Math.floor(maxSizeBytes / pageSize))}`);
}

function assertState(state: string): void {
  if (!(NODE_STATES as readonly string[]).includes(state)) throw new TypeError(`unknown node state "${state}"`);
}

function isLive(t: TokenRow, nowMs: number): boolean {
  return t.revoked_at === null && nowMs < Date.parse(t.expires_at) && (t.max_uses === null || t.uses < t.max_uses);
}

function finite(value: number | undefined, fallback: number): number {
  const n = Number(value);
  return value === undefined || !Number.isFinite(n) ? fallback : n;
}

function pick<T extends object, K extends keyof T>(patch: T, keys: readonly K[]): Partial<T> {
  const out: Partial<T> = {};
  for (const k of keys) if (patch[k] !== undefined) out[k] = patch[k];
  return out;
}

const POOL_PATCH_KEYS = ['description', 'labels', 'taints'] as const;
const NODE_PATCH_KEYS = ['name', 'pool', 'state', 'labels', 'facts', 'agentVersion', 'lastSeen', 'health'] as const;

class SqliteStore extends SqliteDay2Store implements Store {
  private readonly st: Statements;
  private readonly events: SqliteEvents;
  private readonly cs: ReturnType<typeof prepareCertStatements>;
  private readonly healthTx: (updates: HealthUpdate[], samples: HealthSample[], pruneBeforeMs: number) => void;

  constructor(db: Database.Database, path: string) {
    super(db, path);
    this.st = prepareStatements(db);
    this.events = new SqliteEvents(db);
    this.cs = prepareCertStatements(db);
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

  private requirePool(name: string): void {
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
      const max = Math.min(MAX_SAMPLE_LIMIT, Math.max(1, Math.floor(finite(limit, DEFAULT_SAMPLE_LIMIT))));
      return this.st.listSamples.all(nodeId, Number.isFinite(sinceMs) ? sinceMs : 0, max).map(sampleFromRow);
    });
  }

  // Certificates.
  addCert(cert: CertRecord): Promise<void> {
    return this.run('adding a certificate', () => {
      if (this.st.getCert.get(cert.serial)) {
        throw new StoreError('CONFLICT', `certificate serial ${cert.serial} already exists`);
      }
      this.st.insertCert.run(certToRow(cert));
    });
  }

  getCert(serial: string): Promise<CertRecord | undefined> {
    return this.run('reading a certificate', () => {
      const row = this.st.getCert.get(serial);
      return row && certFromRow(row);
    });
  }

  listCerts(nodeId: string): Promise<CertRecord[]> {
    return this.run('listing certificates', () => this.st.listCerts.all(nodeId).map(certFromRow));
  }

  listExpiringCerts(
    before: string,
    limit: number,
  ): Promise<Array<{ nodeId: string; serial: string; notAfter: string }>> {
    return this.run('listing expiring certificates', () =>
      this.st.listExpiringCerts
        .all({ before, limit: Math.max(1, Math.floor(limit)) })
        .map((r) => ({ nodeId: r.node_id, serial: r.serial, notAfter: r.not_after })),
    );
  }

  listNodeCerts(nodeId: string): Promise<NodeCertRecord[]> {
    return this.run('listing certificates', () => listNodeCerts(this.cs, nodeId));
  }

  issueNodeCert(cert: NodeCertRecord, now: string, revokeSerials: readonly string[] = []): Promise<IssueCertOutcome> {
    return this.run('storing a renewed certificate', () =>
      this.tx(() => issueNodeCert(this.st, this.cs, cert, now, revokeSerials)),
    );
  }

  markCertUsed(serial: string, at: string): Promise<string[]> {
    return this.run('recording certificate use', () => this.tx(() => markCertUsed(this.st, this.cs, serial, at)));
  }

  rejoinNode(input: RejoinInput): Promise<EnrollOutcome | 'node-missing'> {
    return this.run('re-enrolling a node', () => this.tx(() => rejoinNode(this.st, this.cs, input)));
  }

  currentCerts(): Promise<CurrentCert[]> {
    return this.run('listing current certificates', () => this.cs.current.all());
  }

  // Events (sqlite-events.ts).
  appendEvent(event: NewEvent): Promise<EventRecord> {
    return this.run('appending an event', () => this.events.append(event));
  }

  replaceEvent(oldId: number | null, event: NewEvent): Promise<EventRecord> {
    return this.run('replacing an event', () => this.events.replace(oldId, event));
  }

  listEvents(query: EventQuery): Promise<EventRecord[]> {
    return this.run('listing events', () => this.events.list(query));
  }

  eventStats(): Promise<EventStats> {
    return this.run('counting events', () => this.events.stats());
  }

  pruneEvents(opts: EventPrune): Promise<number> {
    return this.run('pruning events', () => this.events.prune(opts));
  }

  // Commands.
  addCommand(cmd: CommandRecord): Promise<void> {
    return this.run('storing a command', () => {
      this.st.insertCommand.run(commandToRow(cmd));
    });
  }

  getCommand(id: string): Promise<CommandRecord | undefined> {
    return this.run('reading a command', () => {
      const row = this.st.getCommand.get(id);
      return row && commandFromRow(row);
    });
  }

  listCommands(nodeId: string, limit: number): Promise<CommandRecord[]> {
    return this.run('listing commands', () =>
      this.st.listCommands.all(nodeId, Math.max(1, Math.min(1000, Math.floor(limit)))).map(commandFromRow),
    );
  }

  pendingCommands(nodeId: string, now: string): Promise<CommandRecord[]> {
    return this.run('listing pending commands', () => this.st.pendingCommands.all(nodeId, now).map(commandFromRow));
  }

  markCommandSent(id: string): Promise<void> {
    return this.run('marking a command sent', () => {
      this.st.markCommandSent.run(id);
    });
  }

  completeCommand(
    id: string,
    nodeId: string,
    result: { ok: boolean; errorCode: string; message: string },
    at: string,
  ): Promise<CommandRecord | undefined> {
    return this.run('storing a command result', () =>
      this.tx(() => {
        if (
          this.st.completeCommand.run(result.ok ? 1 : 0, result.errorCode, result.message, at, id, nodeId).changes === 0
        )
          return undefined;
        const row = this.st.getCommand.get(id);
        return row && commandFromRow(row);
      }),
    );
  }

  expireCommands(now: string): Promise<CommandRecord[]> {
    return this.run('expiring commands', () =>
      this.tx(() => {
        const rows = this.st.expiredCommands.all(now);
        for (const r of rows) this.st.expireCommand.run(r.id);
        return rows.map((r) => commandFromRow({ ...r, state: 'expired' }));
      }),
    );
  }

  cancelCommand(id: string): Promise<boolean> {
    return this.run('cancelling a command', () => this.st.expireCommand.run(id).changes > 0);
  }
}
