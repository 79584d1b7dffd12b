// A key's identity: the SHA-256 of its SubjectPublicKeyInfo (DER), the same for a key, its CSR and
// every certificate issued for it. Renewal uses it to tell "the same key asking again" from a new key,
// and recovery to check that a CSR comes from the key an earlier certificate was issued for.
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CertError } from './errors.js';
import { parseX509 } from './x509-common.js';

function spkiSha256(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** Of a public key PEM (SPKI), e.g. VerifiedCsr.publicKeyPem. */
export function publicKeySha256(publicKeyPem: string): string {
  try {
    return spkiSha256(createPublicKey(publicKeyPem));
  } catch {
    throw new CertError('KEY_MALFORMED', 'the public key is not a readable PEM key');
  }
}

/** Of the key a PEM certificate certifies. */
export function certKeySha256(certPem: string): string {
  return spkiSha256(parseX509(certPem).publicKey);
}

/** Of the public half of a private key PEM. */
export function privateKeySha256(privateKeyPem: string): string {
  try {
    return spkiSha256(createPublicKey(createPrivateKey(privateKeyPem)));
  } catch {
    throw new CertError('KEY_MALFORMED', 'the private key is not a readable PEM key');
  }
}
