// The certificate cluster-autoscaler presents to the hub's externalgrpc service: issued by the hub CA
// for a key the caller made (a CSR; the key never reaches the hub), with the autoscaler role in its
// subject's O. The service admits a client only with a chain to the hub CA and that role: a node's
// certificate (O=atoll:nodes) from the same CA is refused.
import type { PeerCertificate } from 'node:tls';
import type { CaMaterial } from '../../../certs/ca.js';
import { signCsr } from '../../../certs/issue.js';
import { CertError } from '../../../certs/errors.js';
import { HubError } from '../../errors.js';

export const AUTOSCALER_ROLE = 'atoll:autoscaler';
export const AUTOSCALER_CN = 'cluster-autoscaler';
/** 90 days: renew with `atoll-hub autoscaler cert` (and revoke the old one). */
export const AUTOSCALER_CERT_TTL_MS = 90 * 86_400_000;
/** A CSR is a few hundred bytes; more is refused before it is parsed. */
export const MAX_CSR_BYTES = 8192;

export function issueAutoscalerCert(
  ca: CaMaterial,
  csrPem: string,
): { certPem: string; serial: string; notAfter: string } {
  if (csrPem.length > MAX_CSR_BYTES) throw new HubError('CSR_INVALID', `the CSR is larger than ${MAX_CSR_BYTES} bytes`);
  try {
    const issued = signCsr(ca, csrPem, {
      commonName: AUTOSCALER_CN,
      organization: AUTOSCALER_ROLE,
      validityMs: AUTOSCALER_CERT_TTL_MS,
    });
    return { certPem: issued.certPem, serial: issued.serial, notAfter: issued.notAfter.toISOString() };
  } catch (err) {
    if (err instanceof CertError) throw new HubError('CSR_INVALID', err.message);
    throw err;
  }
}

/** Whether a verified peer certificate carries the autoscaler role (O may be one value or several). */
export function hasAutoscalerRole(cert: PeerCertificate | undefined): boolean {
  const o = (cert?.subject as { O?: string | string[] } | undefined)?.O;
  return Array.isArray(o) ? o.includes(AUTOSCALER_ROLE) : o === AUTOSCALER_ROLE;
}
