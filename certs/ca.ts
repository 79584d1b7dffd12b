import forge from 'node-forge';
import { generateKeyPair } from './keys.js';
import { signCertificate } from './signer.js';
import {
  DAY_MS,
  DEFAULT_BACKDATE_MS,
  forgeSerial,
  publicKeyFromPem,
  randomSerial,
  utf8Attr,
  wholeSeconds,
} from './x509-common.js';

export interface CaMaterial {
  certPem: string;
  keyPem: string;
}

export interface CreateCaOptions {
  commonName: string;
  /** Default 3650. */
  validityDays?: number;
}

/** A self-signed RSA 2048 certificate authority. */
export async function createCa(opts: CreateCaOptions): Promise<CaMaterial> {
  const { privateKeyPem, publicKeyPem } = await generateKeyPair();
  const now = Date.now();
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKeyFromPem(publicKeyPem);
  cert.serialNumber = forgeSerial(randomSerial());
  cert.validity.notBefore = wholeSeconds(now - DEFAULT_BACKDATE_MS);
  cert.validity.notAfter = wholeSeconds(now + (opts.validityDays ?? 3650) * DAY_MS);
  const name = [utf8Attr('commonName', opts.commonName)];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signCertificate(cert, privateKeyPem);
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKeyPem };
}
