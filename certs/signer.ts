import { constants, createPrivateKey, privateEncrypt, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { CertError } from './errors.js';

/**
 * Signing for forge certificates and CSRs done by OpenSSL instead of forge's pure-JS RSA
 * (~1 ms instead of ~30 ms of blocked event loop per signature).
 *
 * forge calls `key.sign(md)` with the digest of the to-be-signed bytes; RSASSA-PKCS1-v1_5 is the
 * private-key operation with type-1 padding over DigestInfo(hash OID, digest), which is exactly what
 * `privateEncrypt` with RSA_PKCS1_PADDING computes.
 */

/** DER prefixes of DigestInfo for each hash (RFC 8017, section 9.2, note 1). */
const DIGEST_INFO_PREFIX: Readonly<Record<string, string>> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

export interface ForgeSigner {
  sign(md: forge.md.MessageDigest): string;
}

/** Parses a PEM private key into a node KeyObject; only RSA keys are accepted. */
export function loadRsaPrivateKey(privateKeyPem: string | KeyObject): KeyObject {
  let key: KeyObject;
  try {
    key = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem;
  } catch {
    throw new CertError('KEY_MALFORMED', 'the private key is not a readable PEM key');
  }
  if (key.type !== 'private' || key.asymmetricKeyType !== 'rsa') {
    throw new CertError('KEY_MALFORMED', `expected an RSA private key, got ${key.asymmetricKeyType ?? key.type}`);
  }
  return key;
}

/** A forge-compatible private key whose `sign(md)` runs in OpenSSL. */
export function nodeSigner(privateKeyPem: string | KeyObject): ForgeSigner {
  const key = loadRsaPrivateKey(privateKeyPem);
  return {
    sign(md: forge.md.MessageDigest): string {
      const prefix = DIGEST_INFO_PREFIX[md.algorithm];
      if (prefix === undefined) {
        throw new CertError('KEY_MALFORMED', `unsupported signature digest ${md.algorithm}`);
      }
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      const digestInfo = Buffer.concat([Buffer.from(prefix, 'hex'), digest]);
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
    },
  };
}

/** Signs a forge certificate with SHA-256 using OpenSSL. */
export function signCertificate(cert: forge.pki.Certificate, privateKeyPem: string | KeyObject): void {
  cert.sign(nodeSigner(privateKeyPem) as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
}

/** Signs a forge certification request with SHA-256 using OpenSSL. */
export function signCertificationRequest(
  csr: forge.pki.CertificateSigningRequest,
  privateKeyPem: string | KeyObject,
): void {
  csr.sign(nodeSigner(privateKeyPem) as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
}
