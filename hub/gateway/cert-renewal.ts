// A connected agent renews its client certificate over its session: the hub signs its CSR for its own
// node id (nowhere else), stores the certificate and records node.cert-renewed. A bad CSR is answered
// with its CertError code, not a broken session.
import type { Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { CaMaterial } from '../../certs/ca.js';
import type { Clock } from '../clock.js';
import { signCsr } from '../../certs/issue.js';
import { CertError } from '../../certs/errors.js';

export interface CertRenewalDeps {
  store: Store;
  events: EventLog;
  ca: CaMaterial;
  clock: Clock;
  nodeCertTtlMs: number;
}

export type CertRenewal = { certPem: string } | { errorCode: string; message: string };

export async function renewNodeCert(d: CertRenewalDeps, nodeId: string, csrPem: string): Promise<CertRenewal> {
  try {
    const issued = signCsr(d.ca, csrPem, { commonName: nodeId, organization: 'atoll:nodes', validityMs: d.nodeCertTtlMs, expectedSubjectCN: nodeId, nowMs: d.clock.now() });
    await d.store.addCert({ serial: issued.serial, nodeId, notBefore: issued.notBefore.toISOString(), notAfter: issued.notAfter.toISOString(), fingerprint: issued.fingerprint, revokedAt: null });
    await d.events.note({ type: 'node.cert-renewed', nodeId, actor: `node:${nodeId}`, message: `client certificate renewed until ${issued.notAfter.toISOString()}`, data: { serial: issued.serial } });
    return { certPem: issued.certPem };
  } catch (err) {
    if (err instanceof CertError) return { errorCode: err.code, message: err.message };
    throw err;
  }
}
