// Which datastore the hub runs on, from --datastore / ATOLL_DATASTORE: the embedded SQLite file in
// the data dir (the default) or a PostgreSQL URL. Parsing only: no driver is loaded here, so the
// config and the admin commands stay light. Passwords never leave this module in a message.
import { join } from 'node:path';
import { StoreError } from './types.js';

export const DEFAULT_POOL_SIZE = 10;
export const MAX_POOL_SIZE = 1000;

export type DatastoreSpec =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly poolSize: number };

/** The URL as shown in messages and logs: without its password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    return u.toString().replace(/:@/, '@');
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** Checks the form of a datastore URL; throws StoreError('DATASTORE_UNAVAILABLE') naming what is wrong. */
export function checkPostgresUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StoreError(
      'DATASTORE_UNAVAILABLE',
      'the datastore URL is not a URL (postgres://USER@HOST:5432/DATABASE)',
    );
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    throw new StoreError(
      'DATASTORE_UNAVAILABLE',
      `the datastore URL must start with postgres:// (got ${u.protocol}//)`,
    );
  if (!u.hostname && !u.searchParams.get('host'))
    throw new StoreError('DATASTORE_UNAVAILABLE', `the datastore URL ${redactUrl(url)} names no host`);
  if (u.pathname.replace(/^\//, '') === '')
    throw new StoreError('DATASTORE_UNAVAILABLE', `the datastore URL ${redactUrl(url)} names no database (…/DATABASE)`);
  return u;
}

/**
 * The datastore of a data dir: `sqlite` or nothing for <data-dir>/hub.db, or postgres://... with a
 * pool of `poolSize` connections. Throws StoreError('DATASTORE_UNAVAILABLE') saying what is wrong.
 */
export function parseDatastore(text: string | undefined, dataDir: string, poolSize?: string): DatastoreSpec {
  const value = (text ?? '').trim();
  if (value === '' || value === 'sqlite') return Object.freeze({ kind: 'sqlite', path: join(dataDir, 'hub.db') });
  if (!/^postgres(ql)?:\/\//i.test(value))
    throw new StoreError(
      'DATASTORE_UNAVAILABLE',
      `must be postgres://USER@HOST:5432/DATABASE, or sqlite (the default: <data-dir>/hub.db); got ${redactUrl(value).slice(0, 80)}`,
    );
  checkPostgresUrl(value);
  const size = poolSize === undefined ? DEFAULT_POOL_SIZE : Number(poolSize);
  if (!/^\d+$/.test(String(poolSize ?? size)) || !Number.isSafeInteger(size) || size < 1 || size > MAX_POOL_SIZE)
    throw new StoreError('DATASTORE_UNAVAILABLE', `the pool size must be 1 to ${MAX_POOL_SIZE} (got "${poolSize}")`);
  return Object.freeze({ kind: 'postgres', url: value, poolSize: size });
}
