import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, verify, X509Certificate } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { before, test } from 'node:test';
import forge from 'node-forge';
import { generateKeyPair, nodeSigner, signCertificate, type KeyPairPem } from '../../../certs/index.js';
import { expectCertError } from './fixtures.js';

let key: KeyPairPem;

before(async () => {
  key = await generateKeyPair();
});

function sha256Of(data: string): forge.md.MessageDigest {
  const md = forge.md.sha256.create();
  md.update(data);
  return md;
}

function unsignedCert(): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(key.publicKeyPem);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date();
  cert.validity.notAfter = new Date(Date.now() + 3_600_000);
  cert.setSubject([{ name: 'commonName', value: 'bench' }]);
  cert.setIssuer([{ name: 'commonName', value: 'bench' }]);
  cert.setExtensions([{ name: 'basicConstraints', cA: false }, { name: 'subjectKeyIdentifier' }]);
  return cert;
}

test("the node signer produces exactly forge's RSASSA-PKCS1-v1_5 signature", () => {
  const forgeKey = forge.pki.privateKeyFromPem(key.privateKeyPem);
  const ours = nodeSigner(key.privateKeyPem).sign(sha256Of('to be signed'));
  assert.equal(ours, forgeKey.sign(sha256Of('to be signed')));
  assert.ok(
    verify('sha256', Buffer.from('to be signed'), createPublicKey(key.publicKeyPem), Buffer.from(ours, 'binary')),
  );
});

test('a certificate signed through the node signer verifies with forge and node', () => {
  const cert = unsignedCert();
  signCertificate(cert, key.privateKeyPem);
  assert.ok(cert.verify(cert));
  const x = new X509Certificate(forge.pki.certificateToPem(cert));
  assert.ok(x.verify(x.publicKey));
  assert.equal(cert.signatureOid, forge.pki.oids.sha256WithRSAEncryption);
});

test('the node signer refuses non-RSA keys and unsupported digests', () => {
  expectCertError(() => nodeSigner('garbage'), 'KEY_MALFORMED');
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  expectCertError(() => nodeSigner(ec.privateKey), 'KEY_MALFORMED');
  expectCertError(() => nodeSigner(key.privateKeyPem).sign(forge.md.sha1.create()), 'KEY_MALFORMED');
});

test("signing a certificate with node crypto is much faster than forge's pure-JS RSA", (t) => {
  const forgeKey = forge.pki.privateKeyFromPem(key.privateKeyPem);
  const time = (n: number, sign: (cert: forge.pki.Certificate) => void): number => {
    const certs = Array.from({ length: n }, unsignedCert);
    const start = performance.now();
    for (const cert of certs) sign(cert);
    return (performance.now() - start) / n;
  };
  time(3, (c) => signCertificate(c, key.privateKeyPem)); // warm-up
  time(1, (c) => c.sign(forgeKey, forge.md.sha256.create()));
  const nodeMs = time(30, (c) => signCertificate(c, key.privateKeyPem));
  const forgeMs = time(5, (c) => c.sign(forgeKey, forge.md.sha256.create()));
  t.diagnostic(`certificate signing: node-crypto signer ${nodeMs.toFixed(2)} ms, forge ${forgeMs.toFixed(2)} ms`);
  assert.ok(nodeMs < forgeMs, `node ${nodeMs} ms should beat forge ${forgeMs} ms`);
});
