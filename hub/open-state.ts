// The hub's durable state at start: the store (hub.db) and the CA beside it, opened together and
// checked against each other. The store keeps the pin of the CA it was made with; a store that is
// damaged, missing next to an existing CA, or bound to another CA is refused with what to do,
// before anything is written. --reinit-store moves a refused store aside and starts an empty one.
import { existsSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';
import {
  CA_PIN_SETTING,
  StoreError,
  openPostgresStore,
  openSqliteStore,
  redactUrl,
  type DatastoreSpec,
  type Store,
} from './store/index.js';
import type { Clock } from './clock.js';
import { loadOrCreatePki, type HubPki } from './pki/hub-pki.js';

export interface HubState {
  store: Store;
  pki: HubPki & { created: boolean };
  /** Where a refused store was moved by --reinit-store. */
  movedAside?: string;
}

export interface OpenStateOptions {
  dataDir: string;
  publicUrl: string;
  reinitStore: boolean;
  logger: Logger;
  /** Default: the SQLite file <data-dir>/hub.db. */
  datastore?: DatastoreSpec;
  clock?: Clock;
}

const RESTORE = 'restore it from a backup (with the hub stopped)';
const REINIT =
  'or start over with an empty store with --reinit-store (the old file is kept; every node must join again)';

function nonEmpty(path: string): boolean {
  return existsSync(path) && statSync(path).size > 0;
}

/** A refusal the operator can act on; --reinit-store would have gone past it. */
class StoreRefused extends ConfigError {}

export async function openHubState(opts: OpenStateOptions): Promise<HubState> {
  try {
    return await openChecked(opts);
  } catch (err) {
    if (!(err instanceof StoreRefused) || !opts.reinitStore) throw err;
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
  const hasCa = existsSync(join(dataDir, 'ca.crt')) && existsSync(join(dataDir, 'ca.key'));
  const hasStore = nonEmpty(dbPath);
  if (hasCa && !hasStore && !fresh) {
    throw new StoreRefused(
      `${dbPath} is missing or empty, but ${dataDir} holds the CA (ca.crt, ca.key) of a hub that ran before: ` +
        `its nodes, tokens and certificates were in that database. ${RESTORE[0].toUpperCase()}${RESTORE.slice(1)}, ${REINIT}`,
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
    const bound = await store.getSetting<string>(CA_PIN_SETTING);
    if (!hasCa && (bound || (await holdsData(store)))) {
      throw new StoreRefused(
        `${join(dataDir, 'ca.crt')} or ca.key is missing, but ${dbPath} holds the nodes and certificates that CA signed: ` +
          `restore ca.crt and ca.key from a backup (with the hub stopped), ${REINIT.replace('an empty store', 'a new CA and an empty store')}`,
      );
    }
    const pki = await loadOrCreatePki(dataDir, opts.publicUrl);
    if (bound && bound !== pki.caPin) {
      throw new StoreRefused(
        `${dbPath} belongs to another CA (pin ${bound}) than ${join(dataDir, 'ca.crt')} (pin ${pki.caPin}): ` +
          `restore the matching ca.crt and ca.key, or the matching hub.db, from a backup, ${REINIT}`,
      );
    }
    if (!bound) {
      await store.setSetting(CA_PIN_SETTING, pki.caPin);
      if (hasStore && hasCa)
        opts.logger.info({ component: 'store', caPin: pki.caPin }, 'bound the store to the CA beside it');
    }
    return { store, pki };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/**
 * The hub on PostgreSQL: the database is migrated (or refused: unreachable, too old, newer) before
 * anything else, then bound to the CA in the data dir as the SQLite store is. There is no file to
 * miss or move aside; a database that holds another CA's nodes is refused.
 */
async function openPostgresChecked(
  opts: OpenStateOptions,
  spec: Extract<DatastoreSpec, { kind: 'postgres' }>,
): Promise<HubState> {
  const { dataDir, logger } = opts;
  const where = redactUrl(spec.url);
  const log = logger.child({ component: 'store' });
  const store = await openPostgresStore({ url: spec.url, poolSize: spec.poolSize, log, clock: opts.clock });
  log.info({ datastore: where, poolSize: spec.poolSize }, 'the hub state is in PostgreSQL');
  try {
    if (nonEmpty(join(dataDir, 'hub.db')))
      log.warn(
        { path: join(dataDir, 'hub.db') },
        'the SQLite store in the data dir is not used while --datastore names PostgreSQL',
      );
    const hasCa = existsSync(join(dataDir, 'ca.crt')) && existsSync(join(dataDir, 'ca.key'));
    const bound = await store.getSetting<string>(CA_PIN_SETTING);
    if (!hasCa && (bound || (await holdsData(store)))) {
      throw new ConfigError(
        `${join(dataDir, 'ca.crt')} or ca.key is missing, but the datastore ${where} holds the nodes and ` +
          'certificates that CA signed: restore ca.crt and ca.key from a backup (with the hub stopped)',
      );
    }
    const pki = await loadOrCreatePki(dataDir, opts.publicUrl);
    if (bound && bound !== pki.caPin) {
      throw new ConfigError(
        `the datastore ${where} belongs to another CA (pin ${bound}) than ${join(dataDir, 'ca.crt')} ` +
          `(pin ${pki.caPin}): restore the matching ca.crt and ca.key, or point --datastore at this CA's database`,
      );
    }
    if (!bound) await store.setSetting(CA_PIN_SETTING, pki.caPin);
    return { store, pki };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** A store written before the CA pin was kept in it: does it hold anything a lost CA signed? */
async function holdsData(store: Store): Promise<boolean> {
  return (await store.listNodes()).length > 0 || (await store.listTokens()).length > 0;
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
