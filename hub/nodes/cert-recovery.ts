// The gateway's recovery route, as the hub records it: a refusal is logged and noted as an event
// (the node's operator needs to see that its node cannot come back by itself), a success is an event
// written by the renewal itself.
import type { CertRenewal } from './cert-renewal.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import { HubError } from '../errors.js';

export async function recoverCert(
  renewal: CertRenewal,
  events: EventLog,
  log: Logger,
  certPem: string,
  csr: string,
  source: string,
): Promise<{ nodeId: string; certPem: string }> {
  try {
    return await renewal.recover(certPem, csr);
  } catch (err) {
    const code = err instanceof HubError ? err.code : 'INTERNAL';
    log.warn({ source, code, reason: (err as Error).message }, 'certificate recovery refused');
    if (code === 'CERT_EXPIRED_BEYOND_GRACE' || code === 'CERT_REVOKED') {
      const nodeId = (err as HubError).details?.nodeId as string | undefined;
      await events.note({
        type: 'node.cert-recovery-refused',
        nodeId: nodeId ?? null,
        actor: `ip:${source}`,
        message: `certificate recovery from ${source} refused: ${(err as Error).message}`,
        data: { code, source },
      });
    }
    throw err;
  }
}
