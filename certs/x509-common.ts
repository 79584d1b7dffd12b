import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import { CertError } from './errors.js';

/** Helpers shared by CA creation and issuance. Internal to certs/. */

/**
 * notBefore is set this far in the past so a peer whose clock runs behind still accepts a fresh
 * certificate (a hub just created, an agent just joined). One hour, as public CAs do: agents with
 * minutes of skew must still connect, so the hub can see the skew and report it.
 */
export const DEFAULT_BACKDATE_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A random positive 128-bit serial as lowercase hex (32 digits). The top bit is set so the length is
 * fixed; `forgeSerial` adds the 00 octet DER needs to keep the INTEGER positive.
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) | 0x80;
  return bytes.toString('hex');
}

/** forge writes serialNumber's bytes verbatim into the INTEGER, so a set top bit needs a 00 octet. */
export function forgeSerial(serialHex: string): string {
  return /^[89a-f]/.test(serialHex) ? `00${serialHex}` : serialHex;
}

/** X.509 times have whole seconds; round down so returned dates equal what the certificate says. */
export function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

/** SHA-256 of the certificate's DER as lowercase hex without colons. */
export function derFingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** A UTF8String attribute, so names outside PrintableString's alphabet (`_`, `@`, ...) stay valid. */
export function utf8Attr(name: 'commonName' | 'organizationName', value: string): forge.pki.CertificateField {
  return { name, value, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class };
}

export function publicKeyFromPem(publicKeyPem: string): forge.pki.rsa.PublicKey {
  try {
    return forge.pki.publicKeyFromPem(publicKeyPem);
  } catch {
    throw new CertError('KEY_MALFORMED', 'the public key is not a readable RSA SPKI PEM key');
  }
}

export function certToPemAndDer(cert: forge.pki.Certificate): { pem: string; der: Buffer } {
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return { pem: forge.pki.certificateToPem(cert), der };
}

/** Parses a PEM certificate with node, mapping failures to CERT_MALFORMED. */
export function parseX509(certPem: string, what = 'certificate'): X509Certificate {
  try {
    return new X509Certificate(certPem);
  } catch {
    throw new CertError('CERT_MALFORMED', `the ${what} is not a readable PEM certificate`);
  }
}
