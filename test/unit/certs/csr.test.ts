import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { before, test } from 'node:test';
import forge from 'node-forge';
import {
  certInfo,
  createCa,
  createCsr,
  generateKeyPair,
  signCsr,
  verifyCsr,
  verifyIssuedBy,
  type CaMaterial,
} from '../../../certs/index.js';
import { expectCertError, HOUR_MS } from './fixtures.js';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
let ca: CaMaterial;
let key: { privateKeyPem: string; publicKeyPem: string };

before(async () => {
  [ca, key] = await Promise.all([createCa({ commonName: 'atoll-ca' }), generateKeyPair()]);
});

/** Re-encodes a CSR after `edit` changes its ASN.1 (signature, key, ...). */
function editCsr(csrPem: string, edit: (request: forge.asn1.Asn1[]) => void): string {
  const der = forge.pem.decode(csrPem)[0]?.body ?? '';
  const asn = forge.asn1.fromDer(der);
  edit(asn.value as forge.asn1.Asn1[]);
  return forge.pem.encode({ type: 'CERTIFICATE REQUEST', body: forge.asn1.toDer(asn).getBytes() });
}

test('createCsr / verifyCsr round trip', () => {
  const csrPem = createCsr(key.privateKeyPem, 'node_1.example');
  assert.match(csrPem, /^-----BEGIN CERTIFICATE REQUEST-----/);
  const v = verifyCsr(csrPem);
  assert.equal(v.commonName, 'node_1.example');
  assert.equal(
    createPublicKey(v.publicKeyPem).export({ type: 'spki', format: 'der' }).toString('hex'),
    createPublicKey(key.publicKeyPem).export({ type: 'spki', format: 'der' }).toString('hex'),
  );
});

test('signCsr issues a client cert with the given subject, never the CSR subject', () => {
  const csrPem = createCsr(key.privateKeyPem, 'admin');
  const before = Date.now();
  const issued = signCsr(ca, csrPem, { commonName: 'node-7', organization: 'atoll:nodes', validityMs: 24 * HOUR_MS });
  const x = new X509Certificate(issued.certPem);
  assert.equal(x.subject, 'CN=node-7\nO=atoll:nodes');
  assert.equal(x.issuer, 'CN=atoll-ca');
  assert.equal(x.ca, false);
  assert.deepEqual(x.keyUsage, [CLIENT_AUTH]);
  assert.equal(x.publicKey.export({ type: 'spki', format: 'pem' }), key.publicKeyPem);
  const info = verifyIssuedBy(issued.certPem, ca.certPem);
  assert.equal(info.serial, issued.serial);
  assert.equal(info.fingerprint, issued.fingerprint);
  const backdate = before - issued.notBefore.getTime();
  assert.ok(backdate >= 60 * 60_000 - 1000 && backdate <= 60 * 60_000 + 1000, `default backdate ${backdate} ms`);
  assert.ok(Math.abs(issued.notAfter.getTime() - (before + 24 * HOUR_MS)) < 2000);

  const f = forge.pki.certificateFromPem(issued.certPem);
  const ku = f.getExtension('keyUsage') as {
    digitalSignature: boolean;
    keyEncipherment: boolean;
    keyCertSign?: boolean;
  };
  assert.equal(ku.digitalSignature, true);
  assert.equal(ku.keyEncipherment, true);
  assert.ok(!ku.keyCertSign);
  const caSki = (
    forge.pki.certificateFromPem(ca.certPem).getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier: string }
  ).subjectKeyIdentifier;
  const aki = f.getExtension('authorityKeyIdentifier') as { value: string };
  assert.ok(forge.util.bytesToHex(aki.value).endsWith(caSki), 'authorityKeyIdentifier is the CA key id');
});

test('signCsr without organization and with a custom backdate', () => {
  const issued = signCsr(ca, createCsr(key.privateKeyPem, 'n'), {
    commonName: 'n',
    validityMs: HOUR_MS,
    backdateMs: 0,
  });
  assert.equal(new X509Certificate(issued.certPem).subject, 'CN=n');
  assert.ok(Date.now() - issued.notBefore.getTime() < 2000);
  assert.equal(certInfo(issued.certPem).subjectCN, 'n');
});

test('expectedSubjectCN: a match is issued, a mismatch is CSR_SUBJECT_MISMATCH', () => {
  const csrPem = createCsr(key.privateKeyPem, 'node-1');
  signCsr(ca, csrPem, { commonName: 'node-1', validityMs: HOUR_MS, expectedSubjectCN: 'node-1' });
  const err = expectCertError(
    () => signCsr(ca, csrPem, { commonName: 'node-2', validityMs: HOUR_MS, expectedSubjectCN: 'node-2' }),
    'CSR_SUBJECT_MISMATCH',
  );
  assert.match(err.message, /node-1/);
});

test('a CSR with a tampered signature is CSR_BAD_SIGNATURE', () => {
  const tampered = editCsr(createCsr(key.privateKeyPem, 'node-1'), (req) => {
    const sig = req[2] as forge.asn1.Asn1;
    const bytes = sig.value as string;
    const i = 40; // a byte inside the signature (offset 0 is the BIT STRING's unused-bits octet)
    sig.value = bytes.slice(0, i) + String.fromCharCode(bytes.charCodeAt(i) ^ 0x01) + bytes.slice(i + 1);
  });
  expectCertError(() => verifyCsr(tampered), 'CSR_BAD_SIGNATURE');
  expectCertError(() => signCsr(ca, tampered, { commonName: 'node-1', validityMs: HOUR_MS }), 'CSR_BAD_SIGNATURE');
});

test('a CSR whose subject was changed after signing is CSR_BAD_SIGNATURE', () => {
  let otherInfo: forge.asn1.Asn1 | undefined;
  editCsr(createCsr(key.privateKeyPem, 'node-2'), (req) => {
    otherInfo = req[0];
  });
  assert.ok(otherInfo);
  const info = otherInfo;
  const swapped = editCsr(createCsr(key.privateKeyPem, 'node-1'), (req) => {
    req[0] = info;
  });
  // the node-2 info with node-1's signature: same key, different signed bytes
  expectCertError(() => verifyCsr(swapped), 'CSR_BAD_SIGNATURE');
});

test('a SHA-1 signed CSR is refused', () => {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(key.publicKeyPem);
  csr.setSubject([{ name: 'commonName', value: 'old' }]);
  csr.sign(forge.pki.privateKeyFromPem(key.privateKeyPem), forge.md.sha1.create());
  expectCertError(() => verifyCsr(forge.pki.certificationRequestToPem(csr)), 'CSR_BAD_SIGNATURE');
});

test('garbage is CSR_MALFORMED', () => {
  expectCertError(() => verifyCsr('hello'), 'CSR_MALFORMED');
  expectCertError(() => verifyCsr(''), 'CSR_MALFORMED');
  expectCertError(
    () => verifyCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'),
    'CSR_MALFORMED',
  );
  expectCertError(() => verifyCsr(ca.certPem), 'CSR_MALFORMED');
  expectCertError(() => verifyCsr('x'.repeat(100_000)), 'CSR_MALFORMED');
  expectCertError(() => signCsr(ca, 'hello', { commonName: 'n', validityMs: HOUR_MS }), 'CSR_MALFORMED');
});

test('RSA keys under 2048 bits and non-RSA keys are CSR_WEAK_KEY', () => {
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const smallPem = small.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  expectCertError(() => verifyCsr(createCsr(smallPem, 'n')), 'CSR_WEAK_KEY');

  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecSpki = forge.asn1.fromDer(ec.publicKey.export({ type: 'spki', format: 'der' }).toString('binary'));
  const ecCsr = editCsr(createCsr(key.privateKeyPem, 'n'), (req) => {
    (req[0]?.value as forge.asn1.Asn1[])[2] = ecSpki;
  });
  expectCertError(() => verifyCsr(ecCsr), 'CSR_WEAK_KEY');
});

test('createCsr refuses a key that is not an RSA private key', () => {
  expectCertError(() => createCsr('nope', 'n'), 'KEY_MALFORMED');
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  expectCertError(
    () => createCsr(ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'n'),
    'KEY_MALFORMED',
  );
});
