// Certificates for the stand-in: keys from node:crypto (RSA-2048), X.509 structure from node-forge,
// signatures from node:crypto (fast). Real k3s uses ECDSA P-256; nothing atoll checks depends on that.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import forge from 'node-forge';

export interface KeyPair {
  readonly keyPem: string;
  readonly publicKeyPem: string;
}

export interface CertAndKey {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface Subject {
  readonly cn: string;
  readonly orgs?: readonly string[];
}

export interface LeafRequest extends Subject {
  readonly usage: 'server' | 'client';
  readonly dnsNames?: readonly string[];
  readonly ips?: readonly string[];
  readonly days?: number;
}

const DAY = 86_400_000;

export function generateKey(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { keyPem: privateKey, publicKeyPem: publicKey };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] as number) & 0x7f;
  return b.toString('hex');
}

/** UTF8String values: Go rejects '@' and ':' (as in k3s-server-ca@<unix>, system:admin) in a PrintableString. */
function attrs(s: Subject): forge.pki.CertificateField[] {
  const utf8 = forge.asn1.Type.UTF8;
  return [
    ...(s.orgs ?? []).map((o) => ({ shortName: 'O', value: o, valueTagClass: utf8 })),
    { shortName: 'CN', value: s.cn, valueTagClass: utf8 },
  ] as unknown as forge.pki.CertificateField[];
}

function signWith(cert: forge.pki.Certificate, signerKeyPem: string): string {
  const oid = forge.pki.oids.sha256WithRSAEncryption as string;
  cert.siginfo.algorithmOid = oid;
  cert.signatureOid = oid;
  const pkiExt = forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 };
  const tbs = pkiExt.getTBSCertificate(cert);
  const der = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  cert.signature = sign('sha256', der, signerKeyPem).toString('binary');
  (cert as unknown as { tbsCertificate: forge.asn1.Asn1 }).tbsCertificate = tbs;
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

function baseCert(publicKeyPem: string, days: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  cert.serialNumber = serial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now + days * DAY);
  return cert;
}

/** A self-signed CA, like k3s-server-ca@<unix> and k3s-client-ca@<unix>. */
export function createCa(cn: string, key: KeyPair = generateKey()): CertAndKey {
  const cert = baseCert(key.publicKeyPem, 3650);
  cert.setSubject(attrs({ cn }));
  cert.setIssuer(attrs({ cn }));
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true, keyCertSign: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return { certPem: signWith(cert, key.keyPem), keyPem: key.keyPem };
}

/** A leaf certificate signed by `ca`. */
export function issueLeaf(ca: CertAndKey, req: LeafRequest, key: KeyPair = generateKey()): CertAndKey {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = baseCert(key.publicKeyPem, req.days ?? 365);
  cert.setSubject(attrs(req));
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [
    ...(req.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(req.ips ?? []).map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: req.usage === 'server', clientAuth: req.usage === 'client' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
  ]);
  return { certPem: signWith(cert, ca.keyPem), keyPem: key.keyPem };
}
