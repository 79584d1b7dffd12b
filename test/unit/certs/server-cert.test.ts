import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { before, test } from 'node:test';
import { certInfo, createCa, issueServerCert, verifyIssuedBy, type CaMaterial } from '../../../certs/index.js';
import { expectCertError } from './fixtures.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
let ca: CaMaterial;

before(async () => {
  ca = await createCa({ commonName: 'atoll-ca' });
});

test('issueServerCert puts DNS, IPv4 and IPv6 SANs in the certificate', async () => {
  const s = await issueServerCert(ca, {
    commonName: 'atoll-hub',
    dnsNames: ['localhost', 'hub.example.com'],
    ipAddresses: ['127.0.0.1', '10.1.2.3', '::1', 'fd00::1:2'],
  });
  const x = new X509Certificate(s.certPem);
  assert.equal(x.checkHost('localhost'), 'localhost');
  assert.equal(x.checkHost('hub.example.com'), 'hub.example.com');
  assert.equal(x.checkHost('other.example.com'), undefined);
  assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(x.checkIP('10.1.2.3'), '10.1.2.3');
  assert.equal(x.checkIP('::1'), '::1');
  assert.equal(x.checkIP('fd00::1:2'), 'fd00::1:2');
  assert.equal(x.checkIP('10.1.2.4'), undefined);
  assert.deepEqual(x.keyUsage, [SERVER_AUTH]);
  assert.equal(x.ca, false);
  assert.ok(x.checkPrivateKey(createPrivateKey(s.keyPem)));

  const info = verifyIssuedBy(s.certPem, ca.certPem);
  assert.equal(info.subjectCN, 'atoll-hub');
  assert.equal(info.issuerCN, 'atoll-ca');
  assert.deepEqual(info.dnsNames, ['localhost', 'hub.example.com']);
  assert.deepEqual(info.ipAddresses, ['127.0.0.1', '10.1.2.3', '::1', 'fd00::1:2']);
  assert.equal(info.serial, s.serial);
  assert.equal(info.fingerprint, s.fingerprint);
  assert.equal(info.notBefore.getTime(), s.notBefore.getTime());
  assert.equal(info.notAfter.getTime(), s.notAfter.getTime());
  const days = (s.notAfter.getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 364 && days <= 365, `default validity ${days} days`);
});

test('issueServerCert rejects an IP SAN that is not an address', async () => {
  await assert.rejects(
    issueServerCert(ca, { commonName: 'x', dnsNames: [], ipAddresses: ['hub.example.com'] }),
    (err: Error & { code?: string }) => err.code === 'CERT_MALFORMED',
  );
});

test('certInfo reads names with characters outside PrintableString', async () => {
  const odd = await createCa({ commonName: 'atoll_ca, "test"+1' });
  assert.equal(certInfo(odd.certPem).subjectCN, 'atoll_ca, "test"+1');
  expectCertError(() => certInfo('not a certificate'), 'CERT_MALFORMED');
});
