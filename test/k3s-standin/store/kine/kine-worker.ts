// The datastore thread: owns the PostgreSQL connection and runs kine's operations for the server
// thread, which waits for each answer (see sync-bridge.ts). Reconnects after a lost connection;
// creates the database when it is missing, as kine does.
import type { MessagePort } from 'node:worker_threads';
import pg from 'pg';
import type { PgTarget } from './datastore-endpoint.js';
import { KineOps } from './kine-ops.js';

export interface WorkerInit {
  readonly kineBridge: true;
  readonly port: MessagePort;
  readonly flag: SharedArrayBuffer;
}

export interface Request {
  readonly id: number;
  readonly op: string;
  readonly args: readonly unknown[];
}

export type Reply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: { message: string; code?: string; constraint?: string; sql?: boolean };
    };

const CONNECT_TIMEOUT_MS = 5000;

function sslOption(t: PgTarget): pg.ClientConfig['ssl'] {
  switch (t.sslmode) {
    case 'disable':
    case 'allow':
      return false;
    case 'prefer':
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, ...(t.ca ? { ca: t.ca } : {}), checkServerIdentity: () => undefined };
    default:
      return { rejectUnauthorized: true, ...(t.ca ? { ca: t.ca } : {}) };
  }
}

async function connect(t: PgTarget, database: string): Promise<pg.Client> {
  const attempt = async (ssl: pg.ClientConfig['ssl']): Promise<pg.Client> => {
    const c = new pg.Client({
      host: t.host,
      port: t.port,
      user: t.user,
      password: t.password,
      database,
      ssl,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      application_name: 'k3s',
    });
    c.on('error', () => undefined); // a dropped connection surfaces on the next query
    try {
      await c.connect();
      return c;
    } catch (e) {
      await c.end().catch(() => undefined);
      throw e;
    }
  };
  try {
    return await attempt(sslOption(t));
  } catch (e) {
    // sslmode=prefer: a server without TLS is reached in plain text
    if (t.sslmode === 'prefer' && /does not support SSL/i.test((e as Error).message)) return attempt(false);
    throw e;
  }
}

export class DatastoreThread {
  private client: pg.Client | undefined;
  private target: PgTarget | undefined;
  private readonly ops = new KineOps((text, values) => this.query(text, values));

  async handle(req: Request): Promise<unknown> {
    if (req.op === 'open') {
      this.target = req.args[0] as PgTarget;
      await this.ensureDatabase(this.target);
      return this.ops.setup();
    }
    const fn = (this.ops as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[req.op];
    if (typeof fn !== 'function' || req.op === 'constructor') throw new Error(`unknown datastore op ${req.op}`);
    return fn.apply(this.ops, [...req.args]);
  }

  private async query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    if (!this.target) throw new Error('datastore not opened');
    this.client ??= await connect(this.target, this.target.database);
    try {
      return await this.client.query(text, values);
    } catch (e) {
      if (!(e instanceof pg.DatabaseError)) {
        const dead = this.client;
        this.client = undefined;
        await dead.end().catch(() => undefined);
      }
      throw e;
    }
  }

  /** kine's createDBIfNotExist: through the `postgres` database; failures only warn (the open then fails). */
  private async ensureDatabase(t: PgTarget): Promise<void> {
    let admin: pg.Client;
    try {
      admin = await connect(t, 'postgres');
    } catch {
      return;
    }
    try {
      const r = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [t.database]);
      if (r.rowCount === 0) await admin.query(`CREATE DATABASE "${t.database.replace(/"/g, '""')}"`);
    } catch {
      // no right to create it, or another server just did: connecting to it says which
    } finally {
      await admin.end().catch(() => undefined);
    }
  }
}

/** Entry point of the worker: answer each request, then wake the waiting server thread. */
export function runDatastoreThread(init: WorkerInit): void {
  const flag = new Int32Array(init.flag);
  const thread = new DatastoreThread();
  let chain = Promise.resolve();
  init.port.on('message', (req: Request) => {
    chain = chain.then(async () => {
      let reply: Reply;
      try {
        reply = { id: req.id, ok: true, value: await thread.handle(req) };
      } catch (e) {
        const err = e as { message?: string; code?: string; constraint?: string };
        reply = {
          id: req.id,
          ok: false,
          error: {
            message: String(err.message ?? e),
            ...(err.code ? { code: String(err.code) } : {}),
            ...(err.constraint ? { constraint: String(err.constraint) } : {}),
            sql: e instanceof pg.DatabaseError,
          },
        };
      }
      init.port.postMessage(reply);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    });
  });
}
