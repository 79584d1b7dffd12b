// Recovery of an expired (or about to expire) certificate over HTTPS: POST /v1/agent/recover with
// the certificate and a CSR for the same key (the proof that this is the node). The hub answers with
// a new certificate for that key while the old one expired less than its grace ago (30 days by
// default). Also the re-join with a token of a node whose certificate is past that grace.
import { createCsr } from '../certs/csr.js';
import { certKeySha256, privateKeySha256 } from '../certs/key-id.js';
import { AtollError } from '../certs/atoll-error.js';
import { saveIdentity, type Identity } from './identity.js';
import { httpsCall, errorMessage } from './hub-http.js';
import { AgentError } from './errors.js';

/** A refusal by the hub, with its stable code (e.g. CERT_EXPIRED_BEYOND_GRACE, NODE_REMOVED). */
export class HubRefusal extends AtollError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message);
    this.name = 'HubRefusal';
  }
}

/** Stores `certPem` (for the identity's own key) as the identity's new certificate. */
export function keepCertificate(dataDir: string, id: Identity, certPem: string): Identity {
  if (certKeySha256(certPem) !== privateKeySha256(id.keyPem))
    throw new AgentError('CERT_KEY_MISMATCH', 'the hub answered with a certificate for another key');
  const { nodeId, nodeName, pool, hubUrl, joinedAt, k3s } = id;
  return saveIdentity(dataDir, { nodeId, nodeName, pool, hubUrl, joinedAt, k3s }, { keyPem: id.keyPem, certPem });
}

export async function recoverCertificate(dataDir: string, id: Identity): Promise<Identity> {
  const res = await httpsCall(`${id.hubUrl}/v1/agent/recover`, {
    method: 'POST',
    ca: id.caPem,
    body: { certPem: id.certPem, csr: createCsr(id.keyPem, id.nodeId) },
  });
  if (res.status !== 200) {
    const e = errorMessage(res.body);
    throw new HubRefusal(res.status, e.code, e.message);
  }
  return keepCertificate(dataDir, id, (JSON.parse(res.body) as { certPem: string }).certPem);
}

export type RecoveryResult =
  | { identity: Identity }
  | { removed: true; reason: string }
  | { removed: false; reason: string; stuck: boolean; clockOff: boolean };

/** recoverCertificate, with the hub's refusal sorted: removed, stuck (past grace, superseded), or worth a retry. */
export async function tryRecovery(dataDir: string, id: Identity): Promise<RecoveryResult> {
  try {
    return { identity: await recoverCertificate(dataDir, id) };
  } catch (err) {
    const code = err instanceof HubRefusal ? err.code : '';
    const reason = `certificate recovery failed: ${code ? `${code} ` : ''}${(err as Error).message}`;
    if (code === 'NODE_REMOVED') return { removed: true, reason: (err as Error).message };
    return {
      removed: false,
      reason,
      stuck: code === 'CERT_EXPIRED_BEYOND_GRACE' || code === 'CERT_REVOKED',
      clockOff: code === 'RENEW_TOO_EARLY',
    };
  }
}
