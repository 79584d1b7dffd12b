import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  certInfo,
  createCa,
  generateKeyPair,
  issueClientCertForKey,
  verifyIssuedBy,
  type CaMaterial,
} from '../../../certs/index.js';
import { expectCertError, HOUR_MS } from './fixtures.js';

let ca: CaMaterial;
let otherCa: CaMaterial;
let publicKeyPem: string;

before(async () => {
  let key;
  [ca, otherCa, key] = await Promise.all([
    createCa({ commonName: 'atoll-ca' }),
    createCa({ commonName: 'atoll-ca' }),
    generateKeyPair(),
  ]);
  publicKeyPem = key.publicKeyPem;
});

test('certInfo reports what issue returned', () => {
  const issued = issueClientCertForKey(ca, publicKeyPem, { commonName: 'node-1', validityMs: HOUR_MS });
  const info = certInfo(issued.certPem);
  assert.deepEqual(info, {
    serial: issued.serial,
    subjectCN: 'node-1',
    issuerCN: 'atoll-ca',
    notBefore: issued.notBefore,
    notAfter: issued.notAfter,
    fingerprint: issued.fingerprint,
    dnsNames: [],
    ipAddresses: [],
  });
  assert.match(info.fingerprint, /^[0-9a-f]{64}$/);
});

test('verifyIssuedBy: expired, not yet valid, and skew tolerance', () => {
  const issued = issueClientCertForKey(ca, publicKeyPem, { commonName: 'n', validityMs: HOUR_MS, backdateMs: 0 });
  const start = issued.notBefore.getTime();
  const end = issued.notAfter.getTime();
  verifyIssuedBy(issued.certPem, ca.certPem);
  verifyIssuedBy(issued.certPem, ca.certPem, new Date(end));

  const expired = expectCertError(
    () => verifyIssuedBy(issued.certPem, ca.certPem, new Date(end + 1000)),
    'CERT_EXPIRED',
  );
  assert.match(expired.message, /expired/);
  verifyIssuedBy(issued.certPem, ca.certPem, new Date(end + 60_000), 120_000);
  expectCertError(() => verifyIssuedBy(issued.certPem, ca.certPem, new Date(end + 180_000), 120_000), 'CERT_EXPIRED');

  const early = expectCertError(
    () => verifyIssuedBy(issued.certPem, ca.certPem, new Date(start - 1000)),
    'CERT_EXPIRED',
  );
  assert.match(early.message, /not valid before/);
  verifyIssuedBy(issued.certPem, ca.certPem, new Date(start - 60_000), 120_000);
});

test('verifyIssuedBy: another CA with the same name is CERT_UNTRUSTED', () => {
  const issued = issueClientCertForKey(ca, publicKeyPem, { commonName: 'n', validityMs: HOUR_MS });
  expectCertError(() => verifyIssuedBy(issued.certPem, otherCa.certPem), 'CERT_UNTRUSTED');
  expectCertError(() => verifyIssuedBy(ca.certPem, otherCa.certPem), 'CERT_UNTRUSTED');
});

test('verifyIssuedBy: a leaf used as a CA is CERT_UNTRUSTED', () => {
  const leaf = issueClientCertForKey(ca, publicKeyPem, { commonName: 'n', validityMs: HOUR_MS });
  expectCertError(() => verifyIssuedBy(leaf.certPem, leaf.certPem), 'CERT_UNTRUSTED');
});

test('verifyIssuedBy / certInfo: unreadable input is CERT_MALFORMED', () => {
  expectCertError(() => verifyIssuedBy('junk', ca.certPem), 'CERT_MALFORMED');
  expectCertError(() => verifyIssuedBy(ca.certPem, 'junk'), 'CERT_MALFORMED');
  expectCertError(() => certInfo(''), 'CERT_MALFORMED');
});

test('issuing refuses a CA key that does not match the CA certificate', () => {
  const mixed = { certPem: ca.certPem, keyPem: otherCa.keyPem };
  expectCertError(
    () => issueClientCertForKey(mixed, publicKeyPem, { commonName: 'n', validityMs: HOUR_MS }),
    'KEY_MALFORMED',
  );
  expectCertError(
    () => issueClientCertForKey(ca, 'not a key', { commonName: 'n', validityMs: HOUR_MS }),
    'KEY_MALFORMED',
  );
});
