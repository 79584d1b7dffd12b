// The one translator from node-postgres errors to StoreErrors (hub/store/pg-errors.ts), and what the
// API answers for each: the SQLSTATEs and socket errors the PostgreSQL store can meet.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { toHubError } from '../../../hub/http/errors.js';
import { isRetryable, toStoreError } from '../../../hub/store/pg-errors.js';
import { StoreError } from '../../../hub/store/index.js';

function dbError(code: string, message = `error ${code}`): pg.DatabaseError {
  const e = new pg.DatabaseError(message, message.length, 'error');
  e.code = code;
  return e;
}

function sysError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, syscall: 'connect' });
}

const cases: Array<[string, unknown, string, number]> = [
  ['connection refused', sysError('ECONNREFUSED'), 'DATASTORE_UNAVAILABLE', 503],
  ['connection reset', sysError('ECONNRESET'), 'DATASTORE_UNAVAILABLE', 503],
  ['terminated', new Error('Connection terminated unexpectedly'), 'DATASTORE_UNAVAILABLE', 503],
  ['pool timeout', new Error('timeout exceeded when trying to connect'), 'DATASTORE_UNAVAILABLE', 503],
  ['admin shutdown 57P01', dbError('57P01'), 'DATASTORE_UNAVAILABLE', 503],
  ['starting up 57P03', dbError('57P03'), 'DATASTORE_UNAVAILABLE', 503],
  ['connection failure 08006', dbError('08006'), 'DATASTORE_UNAVAILABLE', 503],
  ['wrong password 28P01', dbError('28P01'), 'DATASTORE_UNAVAILABLE', 503],
  ['no database 3D000', dbError('3D000'), 'DATASTORE_UNAVAILABLE', 503],
  ['too many connections 53300', dbError('53300'), 'DATASTORE_UNAVAILABLE', 503],
  ['unique violation 23505', dbError('23505'), 'CONFLICT', 409],
  ['foreign key 23503', dbError('23503'), 'CONFLICT', 409],
  ['disk full 53100', dbError('53100'), 'DISK_FULL', 507],
  ['read-only 25006', dbError('25006'), 'READ_ONLY', 503],
  ['serialization failure after the retries', dbError('40001'), 'IO', 503],
  ['syntax error', dbError('42601'), 'IO', 503],
];

for (const [what, err, code, status] of cases) {
  test(`pg error: ${what} -> StoreError ${code} -> HTTP ${status}`, () => {
    const mapped = toStoreError(err, 'doing it', 'postgres://atoll@db:5432/atoll');
    assert.ok(mapped instanceof StoreError, String(mapped));
    assert.equal(mapped.code, code);
    assert.match(mapped.message, /doing it failed on postgres:\/\/atoll@db:5432\/atoll/);
    assert.equal(mapped.cause, err);
    const hub = toHubError(mapped);
    assert.equal(hub.status, status);
    if (code === 'DATASTORE_UNAVAILABLE') assert.equal(hub.code, 'DATASTORE_UNAVAILABLE');
  });
}

test('serialization failures and deadlocks are retryable, nothing else is', () => {
  assert.equal(isRetryable(dbError('40001')), true);
  assert.equal(isRetryable(dbError('40P01')), true);
  assert.equal(isRetryable(dbError('23505')), false);
  assert.equal(isRetryable(sysError('ECONNREFUSED')), false);
});

test('a StoreError passes unchanged; a programming error is not disguised as a store error', () => {
  const se = new StoreError('NOT_FOUND', 'pool "x" does not exist');
  assert.equal(toStoreError(se, 'x', 'y'), se);
  const te = new TypeError('unknown node state "x"');
  assert.equal(toStoreError(te, 'x', 'y'), te);
});
