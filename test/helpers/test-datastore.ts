// Which store the tests' hubs run on: SQLite in their data dir (the default), or PostgreSQL when
// ATOLL_TEST_DATASTORE=postgres. Then one PostgreSQL server per test-file process is started on first
// use (test/helpers/postgres.ts), every hub data dir gets its own fresh database on it (the same one
// again when a test restarts a hub on the same data dir), and the server is stopped and its folder
// removed when the process exits: on 'exit', on SIGINT/SIGTERM/SIGHUP, and by a watchdog shell that
// outlives a SIGKILLed test process. Tests that look inside hub.db skip with `sqliteOnly`.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { postgresBinDir, startPostgres, type PgServer } from './postgres.js';

export type TestDatastore = 'sqlite' | 'postgres';

export function testDatastore(): TestDatastore {
  const v = (process.env.ATOLL_TEST_DATASTORE ?? 'sqlite').trim().toLowerCase();
  if (v === '' || v === 'sqlite') return 'sqlite';
  if (v === 'postgres' || v === 'postgresql' || v === 'pg') return 'postgres';
  throw new Error(`ATOLL_TEST_DATASTORE must be sqlite or postgres, not ${JSON.stringify(v)}`);
}

/** `{ skip }` value for a test that needs the SQLite file itself (false on SQLite). */
export function sqliteOnly(why: string): string | false {
  return testDatastore() === 'postgres' ? `SQLite only under ATOLL_TEST_DATASTORE=postgres: ${why}` : false;
}

interface Shared {
  server?: Promise<PgServer>;
  running?: PgServer;
  databases: Map<string, string>;
}

const SHARED = Symbol.for('atoll.test.postgres');

function shared(): Shared {
  const g = globalThis as unknown as Record<symbol, Shared | undefined>;
  g[SHARED] ??= { databases: new Map() };
  return g[SHARED];
}

/** Stops (pid of the test process gone) the server and removes its folder: a SIGKILLed test leaves nothing. */
function watchdog(server: PgServer): void {
  const bin = postgresBinDir() as string;
  const data = `${server.dir}/data`;
  const stop = `${bin}/pg_ctl -D '${data}' -m immediate -w stop`;
  const asPg = process.getuid?.() === 0 ? `runuser -u postgres -- ${stop}` : stop;
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${asPg} >/dev/null 2>&1; rm -rf '${server.dir}'`;
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
}

function stopAtExit(server: PgServer): void {
  const stop = (): void => {
    try {
      server.stop();
    } catch {
      // best effort at exit; the watchdog tries again
    }
  };
  process.once('exit', stop);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      stop();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.once(sig, onSignal);
  }
}

/** The test process's PostgreSQL server, started on first use. */
export function sharedPostgres(): Promise<PgServer> {
  const s = shared();
  s.server ??= startPostgres().then((server) => {
    stopAtExit(server);
    watchdog(server);
    s.running = server;
    return server;
  });
  return s.server;
}

/** Stops the shared server now (an after() hook may call it; 'exit' does it anyway). */
export async function stopSharedPostgres(): Promise<void> {
  const s = shared();
  const p = s.server;
  if (!p) return;
  s.server = undefined;
  s.running = undefined;
  s.databases.clear();
  (await p).stop();
}

/**
 * The `--datastore` arguments for a hub on `dataDir`: none on SQLite; on PostgreSQL a database of its
 * own on the shared server, the same for the same data dir.
 */
export async function datastoreArgs(dataDir: string, extraArgs: readonly string[] = []): Promise<string[]> {
  if (testDatastore() === 'sqlite') return [];
  if (extraArgs.some((a) => a === '--datastore' || a.startsWith('--datastore='))) return [];
  return ['--datastore', await datastoreUrlFor(dataDir)];
}

/** A PostgreSQL URL of a database kept for `dataDir` (made on first use). */
export async function datastoreUrlFor(dataDir: string): Promise<string> {
  const server = await sharedPostgres();
  const s = shared();
  const key = resolve(dataDir);
  let name = s.databases.get(key);
  if (!name) {
    name = `hub_${randomBytes(6).toString('hex')}`;
    server.createDatabase(name);
    s.databases.set(key, name);
  }
  return server.urlFor(name);
}

/** The PostgreSQL database of a hub started on `dataDir` by these helpers, or undefined (SQLite). */
export function postgresOf(dataDir: string): { server: PgServer; database: string } | undefined {
  const s = shared();
  const database = s.databases.get(resolve(dataDir));
  return database && s.running ? { server: s.running, database } : undefined;
}
