import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import forge from 'node-forge';
import { certInfo, createCa } from '../../../certs/index.js';

test('createCa makes a self-signed CA with the right extensions', async () => {
  const ca = await createCa({ commonName: 'atoll-ca' });
  const x = new X509Certificate(ca.certPem);
  assert.equal(x.ca, true);
  assert.equal(x.subject, 'CN=atoll-ca');
  assert.equal(x.issuer, 'CN=atoll-ca');
  assert.ok(x.verify(x.publicKey), 'self-signed');
  assert.ok(x.checkPrivateKey(createPrivateKey(ca.keyPem)), 'key belongs to the certificate');
  assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----/);

  const f = forge.pki.certificateFromPem(ca.certPem);
  const bc = f.getExtension('basicConstraints') as { cA: boolean; critical: boolean };
  assert.equal(bc.cA, true);
  assert.equal(bc.critical, true);
  const ku = f.getExtension('keyUsage') as { keyCertSign: boolean; cRLSign: boolean };
  assert.equal(ku.keyCertSign, true);
  assert.equal(ku.cRLSign, true);
  assert.ok(f.getExtension('subjectKeyIdentifier'));

  const info = certInfo(ca.certPem);
  assert.match(info.serial, /^[89a-f][0-9a-f]{31}$/, '128-bit positive serial');
  const days = (info.notAfter.getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 3649 && days <= 3650, `validity ${days} days`);
  assert.ok(info.notBefore.getTime() <= Date.now());
});

test('createCa honours validityDays and uses fresh serials and keys', async () => {
  const [a, b] = await Promise.all([
    createCa({ commonName: 'a', validityDays: 30 }),
    createCa({ commonName: 'b', validityDays: 30 }),
  ]);
  const ia = certInfo(a.certPem);
  const ib = certInfo(b.certPem);
  assert.notEqual(ia.serial, ib.serial);
  assert.notEqual(a.keyPem, b.keyPem);
  const days = (ia.notAfter.getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 29 && days <= 30, `validity ${days} days`);
});
