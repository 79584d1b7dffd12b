import assert from 'node:assert/strict';
import { CertError, type CertErrorCode } from '../../../certs/index.js';

/** Asserts that `fn` throws a CertError with `code`, and returns it for further checks. */
export function expectCertError(fn: () => unknown, code: CertErrorCode): CertError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CertError, `expected CertError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

export const HOUR_MS = 60 * 60 * 1000;
