import { createPrivateKey, createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import type { CaMaterial } from './ca.js';
import { CertError } from './errors.js';
import { verifyCsr } from './csr.js';
import { issueLeaf, type IssuedCert } from './issuer.js';
import { generateKeyPair } from './keys.js';
import { DAY_MS, DEFAULT_BACKDATE_MS, publicKeyFromPem, utf8Attr } from './x509-common.js';

export type { IssuedCert } from './issuer.js';

export interface ServerCertOptions {
  commonName: string;
  dnsNames: string[];
  /** IPv4 and IPv6 literals. */
  ipAddresses: string[];
  /** Default 365. */
  validityDays?: number;
  /** Keep this key (PKCS#8 PEM) instead of making one: a renewed certificate keeps its key pin. */
  keyPem?: string;
}

/** A serving certificate (EKU serverAuth) with a key made here. */
export async function issueServerCert(
  ca: CaMaterial,
  opts: ServerCertOptions,
): Promise<IssuedCert & { keyPem: string }> {
  for (const ip of opts.ipAddresses) {
    if (isIP(ip) === 0) throw new CertError('CERT_MALFORMED', `not an IP address: ${JSON.stringify(ip)}`);
  }
  const { privateKeyPem, publicKeyPem } = opts.keyPem ? keyPairOf(opts.keyPem) : await generateKeyPair();
  const now = Date.now();
  const altNames = [
    ...opts.dnsNames.map((value) => ({ type: 2, value })),
    ...opts.ipAddresses.map((ip) => ({ type: 7, ip })),
  ];
  const issued = issueLeaf(ca, {
    publicKey: publicKeyFromPem(publicKeyPem),
    subject: [utf8Attr('commonName', opts.commonName)],
    notBeforeMs: now - DEFAULT_BACKDATE_MS,
    notAfterMs: now + (opts.validityDays ?? 365) * DAY_MS,
    extensions: [
      { name: 'extKeyUsage', serverAuth: true },
      ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
    ],
  });
  return { ...issued, keyPem: privateKeyPem };
}

function keyPairOf(keyPem: string): { privateKeyPem: string; publicKeyPem: string } {
  let publicKeyPem: string;
  try {
    publicKeyPem = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'pem' }).toString();
  } catch (err) {
    throw new CertError('KEY_MALFORMED', `the key to keep is not a private key PEM: ${(err as Error).message}`);
  }
  return { privateKeyPem: keyPem, publicKeyPem };
}

export interface ClientCertOptions {
  commonName: string;
  organization?: string;
  validityMs: number;
  /** notBefore = now - backdateMs, to tolerate clock skew. Default 1 hour (DEFAULT_BACKDATE_MS). */
  backdateMs?: number;
  /** The issuer's idea of now (ms since the epoch); default Date.now(). */
  nowMs?: number;
}

/** A client certificate (EKU clientAuth) for a public key the caller already holds. */
export function issueClientCertForKey(ca: CaMaterial, publicKeyPem: string, opts: ClientCertOptions): IssuedCert {
  const now = opts.nowMs ?? Date.now();
  const subject = [utf8Attr('commonName', opts.commonName)];
  if (opts.organization !== undefined) subject.push(utf8Attr('organizationName', opts.organization));
  return issueLeaf(ca, {
    publicKey: publicKeyFromPem(publicKeyPem),
    subject,
    notBeforeMs: now - (opts.backdateMs ?? DEFAULT_BACKDATE_MS),
    notAfterMs: now + opts.validityMs,
    extensions: [{ name: 'extKeyUsage', clientAuth: true }],
  });
}

export interface SignCsrOptions extends ClientCertOptions {
  /** When set, the CSR's CN must equal it (CSR_SUBJECT_MISMATCH otherwise). */
  expectedSubjectCN?: string;
}

/**
 * Verifies a CSR and issues a client certificate for its key. The subject is CN=commonName
 * (+ O=organization); the CSR's own subject and extensions are never copied.
 */
export function signCsr(ca: CaMaterial, csrPem: string, opts: SignCsrOptions): IssuedCert {
  const csr = verifyCsr(csrPem);
  if (opts.expectedSubjectCN !== undefined && csr.commonName !== opts.expectedSubjectCN) {
    throw new CertError(
      'CSR_SUBJECT_MISMATCH',
      `the CSR's common name ${JSON.stringify(csr.commonName)} is not the expected ${JSON.stringify(opts.expectedSubjectCN)}`,
    );
  }
  return issueClientCertForKey(ca, csr.publicKeyPem, opts);
}
