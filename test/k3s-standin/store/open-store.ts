// Where `k3s server` keeps the cluster: the JSON state file (embedded mode) or, with
// --datastore-endpoint postgres://..., kine's table in PostgreSQL. The datastore thread is started
// here; k3s retries an unreachable database for up to 5 minutes before giving up.
import type { Logger } from '../util/log.js';
import { sleep } from '../util/abortable-sleep.js';
import type { ObjectStore } from './object-store.js';
import { openFileStore } from './file-store.js';
import { parseDatastoreEndpoint } from './kine/datastore-endpoint.js';
import { DatastoreError, SyncBridge } from './kine/sync-bridge.js';
import { KineObjectStore } from './kine/kine-store.js';
import type { KineRow, WriteResult } from './kine/kine-row.js';

/** Keys outside the object registry (k3s's /bootstrap/<hash>). */
export interface RawKv {
  list(prefix: string): KineRow[];
  create(key: string, value: Buffer): boolean;
}

export interface OpenedStore {
  readonly store: ObjectStore;
  /** Set for an external datastore. */
  readonly kv?: RawKv;
}

export interface StoreSettings {
  readonly dataDir: string;
  readonly datastoreEndpoint: string;
  readonly datastoreCaFile: string;
}

const DATASTORE_TIMEOUT_MS = 10_000;

function envMs(env: NodeJS.ProcessEnv, name: string, def: number): number {
  const v = Number(env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
}

export async function openStore(
  cfg: StoreSettings,
  log: Logger,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  onFatal: (e: Error) => void,
): Promise<OpenedStore | undefined> {
  if (!cfg.datastoreEndpoint) return { store: openFileStore(cfg.dataDir) };
  const target = parseDatastoreEndpoint(cfg.datastoreEndpoint, cfg.datastoreCaFile);
  log.info(`Configuring postgres database connection pooling: maxIdle=2, maxOpen=0, maxLifetime=0s, maxIdleTime=0s`);
  log.info('Configuring database table schema and indexes, this may take a moment...');
  let ready = false;
  const bridge = new SyncBridge(DATASTORE_TIMEOUT_MS, (e) => {
    if (ready) onFatal(e); // while opening, a slow attempt is just retried
  });
  for (let attempt = 1; ; attempt++) {
    try {
      bridge.call<number>('open', target);
      break;
    } catch (e) {
      if ((e instanceof DatastoreError && e.sqlError) || attempt >= 300 || signal.aborted) {
        bridge.close();
        throw new DatastoreError(`failed to open datastore ${target.display}: ${(e as Error).message}`);
      }
      log.error(`Failed to ping database connection: ${(e as Error).message}`);
      await sleep(1000, signal);
      if (signal.aborted) {
        bridge.close();
        return undefined;
      }
    }
  }
  log.info('Database tables and indexes are up to date');
  ready = true;
  const store = new KineObjectStore(bridge, {
    log,
    pollMs: 1000,
    compactMs: envMs(env, 'ATOLL_STANDIN_KINE_COMPACT_MS', 5 * 60_000),
    compactRetain: 1000,
    onFatal,
  });
  store.start();
  log.info(`Kine available at unix://kine.sock (datastore ${target.display})`);
  const kv: RawKv = {
    list: (prefix) => bridge.call<{ rows: KineRow[] }>('list', prefix).rows,
    create: (key, value) => bridge.call<WriteResult>('create', key, value, 0).ok,
  };
  return { store, kv };
}
