import { createHash, createPublicKey, timingSafeEqual, X509Certificate } from 'node:crypto';
import { CertError } from './errors.js';

/**
 * The CA pin carried in join tokens: lowercase hex SHA-256 of the exact PEM bytes the hub serves at
 * /cacerts (as k3s does when the bundle holds one certificate).
 */
export function caPin(caPem: string): string {
  return createHash('sha256').update(caPem, 'utf8').digest('hex');
}

/** Throws PIN_MISMATCH unless `caPem` hashes to `expectedPin` (compared in constant time). */
export function checkPin(caPem: string, expectedPin: string): void {
  const actual = caPin(caPem);
  const a = Buffer.from(actual, 'utf8');
  const b = Buffer.from(expectedPin.trim().toLowerCase(), 'utf8');
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new CertError('PIN_MISMATCH', `hub CA hash ${actual} does not match the token's pin ${expectedPin}`);
  }
}

/**
 * curl's --pinnedpubkey value for a certificate or key PEM: `sha256//` and the base64 SHA-256 of
 * the DER SubjectPublicKeyInfo. It names the key, so it holds across certificates for that key.
 */
export function spkiPin(pem: string): string {
  const key = pem.includes('CERTIFICATE-----') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
  return `sha256//${createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('base64')}`;
}
