import type { X509Certificate } from 'node:crypto';
import { CertError } from './errors.js';
import { parseX509 } from './x509-common.js';

export interface CertInfo {
  /** Lowercase hex, as `IssuedCert.serial`. */
  serial: string;
  subjectCN: string;
  issuerCN: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER, lowercase hex without colons. */
  fingerprint: string;
  dnsNames: string[];
  /** IPv4 dotted, IPv6 in compressed lowercase form (`::1`). */
  ipAddresses: string[];
}

/** Reads a PEM certificate with node's X509Certificate; CERT_MALFORMED when unreadable. */
export function certInfo(certPem: string): CertInfo {
  return infoOf(parseX509(certPem));
}

/**
 * Checks that `certPem` was signed by the CA in `caPem` and is valid at `now` (± `skewMs`).
 * Errors: CERT_MALFORMED, CERT_UNTRUSTED (other issuer, bad signature, CA not a CA),
 * CERT_EXPIRED (outside its validity window, including not yet valid).
 */
export function verifyIssuedBy(certPem: string, caPem: string, now: Date = new Date(), skewMs = 0): CertInfo {
  const cert = parseX509(certPem);
  const ca = parseX509(caPem, 'CA certificate');
  if (!ca.ca) throw new CertError('CERT_UNTRUSTED', 'the trust anchor is not a CA certificate');
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new CertError(
      'CERT_UNTRUSTED',
      `the certificate for ${JSON.stringify(cnOf(cert.subject))} was not issued by this CA`,
    );
  }
  const info = infoOf(cert);
  const t = now.getTime();
  if (t + skewMs < info.notBefore.getTime()) {
    throw new CertError('CERT_EXPIRED', `the certificate is not valid before ${info.notBefore.toISOString()}`);
  }
  if (t - skewMs > info.notAfter.getTime()) {
    throw new CertError('CERT_EXPIRED', `the certificate expired at ${info.notAfter.toISOString()}`);
  }
  return info;
}

function infoOf(x: X509Certificate): CertInfo {
  const { dnsNames, ipAddresses } = parseSubjectAltName(x.subjectAltName ?? '');
  return {
    serial: normalizeSerial(x.serialNumber),
    subjectCN: cnOf(x.subject),
    issuerCN: cnOf(x.issuer),
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    fingerprint: x.fingerprint256.replaceAll(':', '').toLowerCase(),
    dnsNames,
    ipAddresses,
  };
}

/** node prints the serial as uppercase hex of the integer's value; ours are lowercase. */
function normalizeSerial(hex: string): string {
  const lower = hex.toLowerCase().replace(/^(00)+(?=..)/, '');
  return lower.length % 2 === 1 ? `0${lower}` : lower;
}

/** First CN of node's multi-line distinguished name, with RFC 2253 escapes undone. */
function cnOf(name: string): string {
  const line = name.split('\n').find((l) => l.startsWith('CN='));
  if (line === undefined) return '';
  return line
    .slice(3)
    .replace(/\\([0-9A-Fa-f]{2}|.)/g, (_m, esc: string) =>
      esc.length === 2 ? String.fromCharCode(parseInt(esc, 16)) : esc,
    );
}

/** Parses node's `DNS:a, IP Address:1.2.3.4, DNS:"quoted\u002cname"` form. */
function parseSubjectAltName(san: string): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const entry = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const m of san.matchAll(entry)) {
    const kind = m[1] ?? '';
    const raw = m[2] ?? '';
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    if (kind === 'DNS') dnsNames.push(value);
    else if (kind === 'IP Address') ipAddresses.push(normalizeIp(value));
  }
  return { dnsNames, ipAddresses };
}

function normalizeIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return ip.toLowerCase();
  }
}
