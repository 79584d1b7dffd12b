import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { CertError } from './errors.js';
import { loadRsaPrivateKey, signCertificationRequest } from './signer.js';
import { utf8Attr } from './x509-common.js';

const MAX_CSR_PEM_BYTES = 64 * 1024;
const MIN_RSA_BITS = 2048;

/** Hashes accepted for a CSR's self-signature; SHA-1 and MD5 are refused. */
const SIGNATURE_HASH: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384', // sha384WithRSAEncryption
  '1.2.840.113549.1.1.13': 'sha512', // sha512WithRSAEncryption
};

/** A PEM PKCS#10 CSR for `commonName`, signed with the given RSA key. */
export function createCsr(privateKeyPem: string, commonName: string): string {
  const key = loadRsaPrivateKey(privateKeyPem);
  const spkiPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(spkiPem);
  csr.setSubject([utf8Attr('commonName', commonName)]);
  signCertificationRequest(csr, key);
  return forge.pki.certificationRequestToPem(csr);
}

export interface VerifiedCsr {
  /** The subject's CN, '' when it has none. */
  commonName: string;
  publicKeyPem: string;
}

/**
 * Parses a CSR and checks its self-signature (with OpenSSL, over the exact signed bytes) and key.
 * Errors: CSR_MALFORMED, CSR_BAD_SIGNATURE, CSR_WEAK_KEY (anything but RSA >= 2048 bits).
 */
export function verifyCsr(csrPem: string): VerifiedCsr {
  if (typeof csrPem !== 'string' || csrPem.length > MAX_CSR_PEM_BYTES) {
    throw new CertError('CSR_MALFORMED', 'the CSR is missing or too large');
  }
  const csr = parseCsr(csrPem);
  const key = rsaKeyOf(csr);
  const hash = SIGNATURE_HASH[csr.signatureOid ?? ''];
  if (hash === undefined) {
    throw new CertError(
      'CSR_BAD_SIGNATURE',
      `unsupported CSR signature algorithm ${csr.signatureOid ?? '(none)'}; use SHA-256 with RSA`,
    );
  }
  const info = (csr as unknown as { certificationRequestInfo: forge.asn1.Asn1 }).certificationRequestInfo;
  const signed = Buffer.from(forge.asn1.toDer(info).getBytes(), 'binary');
  const signature = Buffer.from(String(csr.signature), 'binary');
  let ok = false;
  try {
    ok = verify(hash, signed, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new CertError('CSR_BAD_SIGNATURE', 'the CSR signature does not verify with its own public key');
  return {
    commonName: commonNameOf(csr),
    publicKeyPem: key.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function parseCsr(csrPem: string): forge.pki.CertificateSigningRequest {
  try {
    return forge.pki.certificationRequestFromPem(csrPem);
  } catch (err) {
    const keyType = spkiKeyType(csrPem);
    if (keyType !== undefined && keyType !== 'rsa') {
      throw new CertError(
        'CSR_WEAK_KEY',
        `the CSR has a ${keyType} key; only RSA keys of ${MIN_RSA_BITS} bits or more are accepted`,
      );
    }
    const detail = err instanceof Error ? `: ${err.message}` : '';
    throw new CertError('CSR_MALFORMED', `the CSR is not a readable PEM certificate request${detail}`);
  }
}

function rsaKeyOf(csr: forge.pki.CertificateSigningRequest): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(forge.pki.publicKeyToPem(csr.publicKey as forge.pki.rsa.PublicKey));
  } catch {
    throw new CertError('CSR_MALFORMED', 'the CSR public key is unreadable');
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < MIN_RSA_BITS) {
    throw new CertError('CSR_WEAK_KEY', `the CSR key is RSA ${bits} bits; at least ${MIN_RSA_BITS} are required`);
  }
  return key;
}

function commonNameOf(csr: forge.pki.CertificateSigningRequest): string {
  const cn = csr.subject.getField('CN') as { value?: unknown } | null;
  if (typeof cn?.value !== 'string') return '';
  try {
    return forge.util.decodeUtf8(cn.value);
  } catch {
    throw new CertError('CSR_MALFORMED', 'the CSR common name is not valid UTF-8');
  }
}

/** The key type of a CSR forge cannot read (forge reads RSA only), to tell weak from malformed. */
function spkiKeyType(csrPem: string): string | undefined {
  try {
    const der = forge.pem.decode(csrPem)[0]?.body;
    if (der === undefined) return undefined;
    const request = forge.asn1.fromDer(der) as { value: forge.asn1.Asn1[] };
    const info = request.value[0] as { value: forge.asn1.Asn1[] } | undefined;
    const spki = info?.value[2];
    if (spki === undefined) return undefined;
    const spkiDer = Buffer.from(forge.asn1.toDer(spki).getBytes(), 'binary');
    return createPublicKey({ key: spkiDer, format: 'der', type: 'spki' }).asymmetricKeyType;
  } catch {
    return undefined;
  }
}
