import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, test } from 'node:test';
import { caPin, checkPin, createCa, type CaMaterial } from '../../../certs/index.js';
import { expectCertError } from './fixtures.js';

let ca: CaMaterial;
let other: CaMaterial;

before(async () => {
  [ca, other] = await Promise.all([createCa({ commonName: 'atoll-ca' }), createCa({ commonName: 'atoll-ca' })]);
});

test('caPin is the lowercase SHA-256 hex of the exact PEM bytes', () => {
  const pin = caPin(ca.certPem);
  assert.match(pin, /^[0-9a-f]{64}$/);
  assert.equal(pin, createHash('sha256').update(Buffer.from(ca.certPem)).digest('hex'));
  assert.notEqual(caPin(ca.certPem.trimEnd()), pin, 'bytes, not the parsed certificate');
});

test('checkPin accepts the matching pin, in either case', () => {
  checkPin(ca.certPem, caPin(ca.certPem));
  checkPin(ca.certPem, caPin(ca.certPem).toUpperCase());
});

test('checkPin names both hashes on a mismatch', () => {
  const expected = caPin(other.certPem);
  const actual = caPin(ca.certPem);
  const err = expectCertError(() => checkPin(ca.certPem, expected), 'PIN_MISMATCH');
  assert.equal(err.message, `hub CA hash ${actual} does not match the token's pin ${expected}`);
  expectCertError(() => checkPin(ca.certPem, 'abc'), 'PIN_MISMATCH');
  expectCertError(() => checkPin(ca.certPem, ''), 'PIN_MISMATCH');
});
