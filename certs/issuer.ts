import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import type { CaMaterial } from './ca.js';
import { CertError } from './errors.js';
import { loadRsaPrivateKey, signCertificate } from './signer.js';
import { certToPemAndDer, derFingerprint, forgeSerial, parseX509, randomSerial, wholeSeconds } from './x509-common.js';

/** Builds and signs leaf certificates under a CA. Internal to certs/. */

export interface IssuedCert {
  certPem: string;
  /** Lowercase hex, as `certInfo` reports it. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER, lowercase hex without colons. */
  fingerprint: string;
}

interface Issuer {
  subject: forge.pki.CertificateField[];
  keyIdentifier: string;
  key: KeyObject;
}

function loadIssuer(ca: CaMaterial): Issuer {
  const x509 = parseX509(ca.certPem, 'CA certificate');
  const key = loadRsaPrivateKey(ca.keyPem);
  if (!x509.ca)
    throw new CertError('CERT_MALFORMED', 'the CA certificate is not a CA (basicConstraints cA is not set)');
  if (!x509.checkPrivateKey(key))
    throw new CertError('KEY_MALFORMED', 'the CA key does not belong to the CA certificate');
  let cert: forge.pki.Certificate;
  try {
    cert = forge.pki.certificateFromPem(ca.certPem);
  } catch {
    throw new CertError('CERT_MALFORMED', 'the CA certificate is not an RSA certificate forge can read');
  }
  const ski = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | null;
  const keyIdentifier =
    ski?.subjectKeyIdentifier !== undefined
      ? forge.util.hexToBytes(ski.subjectKeyIdentifier)
      : cert.generateSubjectKeyIdentifier().getBytes();
  return { subject: cert.subject.attributes, keyIdentifier, key };
}

export interface LeafSpec {
  publicKey: forge.pki.rsa.PublicKey;
  subject: forge.pki.CertificateField[];
  notBeforeMs: number;
  notAfterMs: number;
  /** Leaf-specific extensions (EKU, SANs); basicConstraints, keyUsage and key identifiers are added here. */
  extensions: object[];
}

/** Signs a non-CA certificate for `spec.publicKey` with the CA's key. */
export function issueLeaf(ca: CaMaterial, spec: LeafSpec): IssuedCert {
  const issuer = loadIssuer(ca);
  const serial = randomSerial();
  const notBefore = wholeSeconds(spec.notBeforeMs);
  const notAfter = wholeSeconds(spec.notAfterMs);
  const cert = forge.pki.createCertificate();
  cert.publicKey = spec.publicKey;
  cert.serialNumber = forgeSerial(serial);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject(spec.subject);
  cert.setIssuer(issuer.subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    ...spec.extensions,
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: issuer.keyIdentifier },
  ]);
  signCertificate(cert, issuer.key);
  const { pem, der } = certToPemAndDer(cert);
  return { certPem: pem, serial, notBefore, notAfter, fingerprint: derFingerprint(der) };
}
