// Turns node-postgres and PostgreSQL failures into StoreErrors whose code the API and the operator can
// act on (the PostgreSQL twin of sqlite-errors.ts). SQLSTATEs:
// https://www.postgresql.org/docs/current/errcodes-appendix.html
import { StoreError } from './types.js';

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A SQLSTATE has five characters: two of class, three of condition. */
const isSqlState = (code: string | undefined): code is string => code !== undefined && /^[0-9A-Z]{5}$/.test(code);

/** Serialization failure and deadlock: the transaction did nothing and may simply run again. */
export function isRetryable(err: unknown): boolean {
  const code = codeOf(err);
  return code === '40001' || code === '40P01';
}

// Socket errors of the client (the server is down, unreachable or gone).
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ENOENT', // a unix socket path that does not exist
]);

// What node-postgres says, without a code, when a connection breaks or cannot be had in time.
const CLIENT_MESSAGES = [
  /Connection terminated/i,
  /Client has encountered a connection error/i,
  /timeout exceeded when trying to connect/i,
  /Client was closed and is not queryable/i,
  /Cannot use a pool after calling end/i,
  /Query read timeout/i,
];

/** The database cannot be reached or refuses to serve (a StoreError code of its own: HTTP 503). */
export function isUnavailable(err: unknown): boolean {
  const code = codeOf(err);
  if (code && NET_CODES.has(code)) return true;
  if (isSqlState(code)) {
    // 08: connection exception; 57P01-57P05: shutdown, crash, starting up, db dropped, idle timeout;
    // 53300: too many connections; 28: wrong user or password; 3D000: no such database.
    return (
      code.startsWith('08') || /^57P0[1-5]$/.test(code) || code === '53300' || code.startsWith('28') || code === '3D000'
    );
  }
  return CLIENT_MESSAGES.some((re) => re.test(messageOf(err)));
}

/**
 * Maps `err`, thrown while doing `what` on the database `where` (a URL without its password), to a
 * StoreError. StoreErrors pass unchanged; errors that are neither PostgreSQL nor connection errors
 * (programming errors, an exception of a caller's update function) are returned as is.
 */
export function toStoreError(err: unknown, what: string, where: string): unknown {
  if (err instanceof StoreError) return err;
  const code = codeOf(err);
  const detail = `${what} failed on ${where}: ${messageOf(err)}`;
  const opts = { cause: err };
  if (isUnavailable(err)) {
    return new StoreError('DATASTORE_UNAVAILABLE', `the PostgreSQL datastore is unavailable: ${detail}`, opts);
  }
  if (!isSqlState(code)) return err;
  if (code === '53100') {
    return new StoreError('DISK_FULL', `the PostgreSQL server's disk is full: ${detail}; free space there`, opts);
  }
  if (code === '25006') return new StoreError('READ_ONLY', `the PostgreSQL datastore is read-only: ${detail}`, opts);
  if (code === 'XX001' || code === 'XX002') {
    return new StoreError('CORRUPT', `the PostgreSQL datastore reports corrupt data: ${detail}`, opts);
  }
  if (code === '23505') return new StoreError('CONFLICT', `already exists: ${detail}`, opts);
  if (code === '23503') {
    return new StoreError('CONFLICT', `a referenced record is missing or still in use: ${detail}`, opts);
  }
  if (code.startsWith('23')) return new StoreError('CONFLICT', `constraint violated: ${detail}`, opts);
  if (isRetryable(err)) {
    return new StoreError('IO', `the PostgreSQL datastore stayed too busy (retried): ${detail}`, opts);
  }
  return new StoreError('IO', `PostgreSQL error (${code}): ${detail}`, opts);
}
