// Several hub processes on one PostgreSQL database for the multi-hub tests: the first hub makes the
// cluster secret (and with it the CA and admin token), each later hub starts on a data dir of its own
// holding a copy of that secret, so it loads them. Each hub's data dir is in a temp folder of its own,
// removed (with what still runs from it) by cleanup(), which also ends every hub (SIGCONT first, for
// a hub a test paused). The PostgreSQL server belongs to the test (startPostgres).
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree, startHub, type HubHandle, type HubStartOptions } from './processes.js';
import { stopProc } from './bad-input.js';
import type { PgServer } from './postgres.js';

export interface HubSpec extends HubStartOptions {
  /** --hub-id (none: the hub makes one). */
  id?: string;
  /** The database URL this hub logs in with (default the group's). */
  datastoreUrl?: string;
}

export interface TestHub extends HubHandle {
  id?: string;
  /** The hub process's pid now (it changes with restart()). */
  pid(): number;
  /** kill -9, then waits for the exit. */
  kill(): Promise<void>;
}

export interface HubGroupOptions {
  /** --datastore-pool-size for every hub (none: the hub's default). */
  poolSize?: number;
  /** Give the datastore as ATOLL_DATASTORE (as an operator should: never on a command line) rather than --datastore. */
  viaEnv?: boolean;
  /** The folder names' prefix (atoll-hubs- by default). */
  prefix?: string;
}

/** Hubs on `database` of `pg` (created here unless `create` is false). */
export class HubGroup {
  readonly hubs: TestHub[] = [];
  readonly url: string;
  private readonly dirs: string[] = [];

  constructor(
    readonly pg: PgServer,
    readonly database: string,
    private readonly opts: HubGroupOptions = {},
    create = true,
  ) {
    if (create) pg.createDatabase(database);
    this.url = pg.urlFor(database);
  }

  /** Starts one more hub; from the second on, with the first one's cluster secret. */
  async add(spec: HubSpec = {}): Promise<TestHub> {
    const { id, datastoreUrl, ...rest } = spec;
    const root = mkdtempSync(join(tmpdir(), `${this.opts.prefix ?? 'atoll-hubs-'}${id ?? this.hubs.length}-`));
    this.dirs.push(root);
    const dataDir = rest.dataDir ?? join(root, 'data');
    const first = this.hubs[0];
    if (first) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      copyFileSync(join(first.dataDir, 'cluster-secret'), join(dataDir, 'cluster-secret'));
    }
    const url = datastoreUrl ?? this.url;
    const args = [
      ...(this.opts.viaEnv ? [] : ['--datastore', url]),
      ...(this.opts.poolSize ? ['--datastore-pool-size', String(this.opts.poolSize)] : []),
      ...(id ? ['--hub-id', id] : []),
      ...(rest.extraArgs ?? []),
    ];
    const env = this.opts.viaEnv ? { ...rest.env, ATOLL_DATASTORE: url } : rest.env;
    const h = await startHub({ ...rest, dataDir, extraArgs: args, env });
    const hub: TestHub = Object.assign(h, {
      id,
      pid: () => h.proc.child.pid ?? -1,
      kill: async () => {
        await h.proc.kill('SIGKILL');
      },
    });
    this.hubs.push(hub);
    return hub;
  }

  /** Starts one hub per spec, in order (the first makes the secret). */
  async addAll(specs: HubSpec[]): Promise<TestHub[]> {
    const out: TestHub[] = [];
    for (const s of specs) out.push(await this.add(s));
    return out;
  }

  /** Ends every hub (a paused one is continued first) and removes their folders. */
  async cleanup(): Promise<void> {
    for (const h of this.hubs) {
      h.proc.child.kill('SIGCONT');
      await stopProc(h.proc);
    }
    for (const d of this.dirs) removeTree(d);
  }
}
