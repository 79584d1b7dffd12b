// Where `k3s server` keeps the cluster: a JSON state file (the default datastore, or embedded etcd with
// --cluster-init: etcd-files.ts) or, with
// --datastore-endpoint postgres://..., kine's table in PostgreSQL. The datastore thread is started
// here; k3s retries an unreachable database for up to 5 minutes before giving up.
import { existsSync } from 'node:fs';
import type { Logger } from '../util/log.js';
import { sleep } from '../util/abortable-sleep.js';
import type { ObjectStore, StoreSnapshot } from './object-store.js';
import { openFileStore } from './file-store.js';
import { etcdStatePath, sqliteStatePath, usesEtcd } from './etcd-files.js';
import { StateFile } from './state-file.js';
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
  /** Set for embedded etcd: one consistent copy of the state (what `etcd-snapshot save` writes). */
  readonly etcdSnapshot?: () => StoreSnapshot;
}

export interface StoreSettings {
  readonly dataDir: string;
  readonly clusterInit: boolean;
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
  if (!cfg.datastoreEndpoint && usesEtcd(cfg)) {
    // Like k3s, a first --cluster-init on a server that ran on its default datastore moves its data to etcd.
    const sqlite = new StateFile(sqliteStatePath(cfg.dataDir));
    const migrate = existsSync(etcdStatePath(cfg.dataDir)) ? undefined : sqlite.load();
    if (migrate) log.info('Migrating content from sqlite to etcd');
    const store = openFileStore(etcdStatePath(cfg.dataDir), migrate);
    return { store, etcdSnapshot: () => store.snapshot() };
  }
  if (!cfg.datastoreEndpoint) return { store: openFileStore(sqliteStatePath(cfg.dataDir)) };
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
