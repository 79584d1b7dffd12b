// The hub's durable state at start: the store (hub.db), the cluster secret, and the secrets sealed in
// the store with it (the CA, the serving key, TLS ticket keys, the k3s server token), opened together
// and checked against each other. The store is the source of truth for those secrets: the data dir
// keeps only public copies (ca.crt, this hub's serving.crt) and the cluster secret. A data dir from
// before (ca.key, serving.key, tls-ticket-keys as files, k3s/server/token) is imported once, sealed,
// and its files are left where they are, no longer read (legacy-files.ts). A store that is damaged,
// missing beside the CA of a hub that ran here, bound to another CA, or sealed with another cluster
// secret is refused with what to do, before anything is written. --reinit-store moves a refused store
// aside and starts an empty one.
import { existsSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SealError } from '../certs/sealed.js';
import type { Logger } from './logger.js';
import type { HubConfig } from './config.js';
import type { Clock } from './clock.js';
import {
  StoreError,
  openPostgresStore,
  openSqliteStore,
  redactUrl,
  type DatastoreSpec,
  type Store,
} from './store/index.js';
import type { HubPki } from './pki/hub-pki.js';
import type { ClusterSecret } from './pki/cluster-secret.js';
import { checkLegacyModes } from './pki/legacy-files.js';
import { REINIT, StoreRefused, openSecrets } from './pki/open-secrets.js';
import { extraCertHosts } from './config-addresses.js';

export interface HubState {
  store: Store;
  pki: HubPki & { created: boolean };
  /** Seals what the hub stores later (per-node k3s tokens). */
  clusterSecret: ClusterSecret;
  /** For `k3s server` (K3S_TOKEN): the same on every hub of the cluster. */
  k3sServerToken: string;
  /** Where a refused store was moved by --reinit-store. */
  movedAside?: string;
}

export interface OpenStateOptions {
  dataDir: string;
  publicUrl: string;
  /** Further hosts for the serving certificate (--gateway-url's, --tls-san). */
  extraHosts?: readonly string[];
  reinitStore: boolean;
  /** --cluster-secret-file. */
  clusterSecretFile: string;
  logger: Logger;
  /** Default: the SQLite file <data-dir>/hub.db. */
  datastore?: DatastoreSpec;
  clock?: Clock;
}

const RESTORE = 'restore it from a backup (with the hub stopped: `atoll-hub restore FILE --data-dir NEW_DIR`)';

function nonEmpty(path: string): boolean {
  return existsSync(path) && statSync(path).size > 0;
}

export async function openHubState(opts: OpenStateOptions): Promise<HubState> {
  try {
    return await openChecked(opts);
  } catch (err) {
    if (!(err instanceof StoreRefused || err instanceof SealError) || !opts.reinitStore) throw err;
    const movedAside = moveStoreAside(opts.dataDir);
    opts.logger.warn(
      { component: 'store', movedAside, reason: err.message },
      '--reinit-store: the refused store was moved aside; starting with an empty one',
    );
    return { ...(await openChecked({ ...opts, reinitStore: false }, true)), movedAside };
  }
}

async function openChecked(opts: OpenStateOptions, fresh = false): Promise<HubState> {
  if (opts.datastore?.kind === 'postgres') return openPostgresChecked(opts, opts.datastore);
  const { dataDir } = opts;
  const dbPath = join(dataDir, 'hub.db');
  const caCrt = join(dataDir, 'ca.crt');
  // Plaintext keys of the old layout stay refused while others may read them, imported or not.
  checkLegacyModes(dataDir);
  if (existsSync(caCrt) && !nonEmpty(dbPath) && !fresh) {
    throw new StoreRefused(
      `${dbPath} is missing or empty, but ${dataDir} holds the CA certificate (ca.crt) of a hub that ran before: ` +
        `its CA key, nodes, tokens and certificates were in that database. ${RESTORE[0].toUpperCase()}${RESTORE.slice(1)}, ${REINIT}`,
    );
  }
  let store: Store;
  try {
    store = await openSqliteStore({
      path: dbPath,
      logger: opts.logger.child({ component: 'store' }),
      integrity: 'quick',
    });
  } catch (err) {
    if (err instanceof StoreError && err.code === 'CORRUPT')
      throw new StoreRefused(`${err.message}: ${RESTORE}, ${REINIT}`);
    throw err;
  }
  try {
    return await openSecrets(store, opts, dbPath);
  } catch (err) {
    await store.close();
    throw err;
  }
}

/**
 * The hub on PostgreSQL: the database is migrated (or refused: unreachable, too old, newer) before
 * anything else; then the secrets sealed in it are opened as from hub.db. There is no file to miss or
 * move aside (--reinit-store is SQLite only).
 */
async function openPostgresChecked(
  opts: OpenStateOptions,
  spec: Extract<DatastoreSpec, { kind: 'postgres' }>,
): Promise<HubState> {
  const where = redactUrl(spec.url);
  const log = opts.logger.child({ component: 'store' });
  const store = await openPostgresStore({ url: spec.url, poolSize: spec.poolSize, log, clock: opts.clock });
  log.info({ datastore: where, poolSize: spec.poolSize }, 'the hub state is in PostgreSQL');
  try {
    if (nonEmpty(join(opts.dataDir, 'hub.db')))
      log.warn(
        { path: join(opts.dataDir, 'hub.db') },
        'the SQLite store in the data dir is not used while --datastore names PostgreSQL',
      );
    return await openSecrets(store, opts, `the datastore ${where}`);
  } catch (err) {
    await store.close();
    throw err;
  }
}

function moveStoreAside(dataDir: string): string | undefined {
  const dbPath = join(dataDir, 'hub.db');
  if (!existsSync(dbPath)) return undefined;
  const aside = `${dbPath}.refused-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  for (const suffix of ['-wal', '-shm', '']) {
    if (existsSync(dbPath + suffix)) renameSync(dbPath + suffix, aside + suffix);
  }
  return aside;
}

/** openHubState with the hub's flags, noting on the log what a first start made. */
export async function openHubStateFor(config: HubConfig, log: Logger): Promise<HubState> {
  const state = await openHubState({
    dataDir: config.dataDir,
    publicUrl: config.publicUrl,
    extraHosts: extraCertHosts(config),
    reinitStore: config.reinitStore,
    clusterSecretFile: config.clusterSecretFile,
    logger: log,
    datastore: config.datastore,
  });
  if (state.clusterSecret.created)
    log.info(
      { component: 'pki', file: state.clusterSecret.source },
      'made the cluster secret (back it up apart from hub.db)',
    );
  if (state.pki.created) log.info({ component: 'pki', caPin: state.pki.caPin }, 'created the hub CA');
  return state;
}
