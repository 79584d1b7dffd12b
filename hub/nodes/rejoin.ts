// Re-enrollment of an existing node with a join token (`atoll-agent join --token T` on a data dir
// whose certificate expired past the recovery grace): the node keeps its id, name, pool, labels and
// history. The caller proves it is that node: its previous certificate was issued by this CA for the
// node, was not revoked (a stale copy of an identity that lives on elsewhere gets nothing), and the
// CSR carries that certificate's key, so only the holder of the node's key can do this.
import type { CaMaterial } from '../../certs/ca.js';
import { issueClientCertForKey } from '../../certs/issue.js';
import { verifyCsr } from '../../certs/csr.js';
import { verifyIssuedBy } from '../../certs/inspect.js';
import { certKeySha256, publicKeySha256 } from '../../certs/key-id.js';
import { CertError } from '../../certs/errors.js';
import type { Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { TokenRecord } from '../store/types.js';
import { HubError } from '../errors.js';

export interface RejoinDeps {
  store: Store;
  ca: CaMaterial;
  events: EventLog;
  nodeCertTtlMs: number;
}

export interface RejoinResult {
  nodeId: string;
  nodeName: string;
  pool: string;
  certPem: string;
}

const TOKEN_CODES = {
  'token-used-up': 'TOKEN_USED_UP',
  'token-revoked': 'TOKEN_REVOKED',
  'token-expired': 'TOKEN_EXPIRED',
  'token-missing': 'TOKEN_INVALID',
} as const;

export async function rejoin(
  deps: RejoinDeps,
  token: TokenRecord,
  previousCertPem: string,
  csrPem: string,
  source: string,
): Promise<RejoinResult> {
  const now = new Date();
  let info;
  try {
    // Signature only: an expired certificate is what this path is for.
    info = verifyIssuedBy(previousCertPem, deps.ca.certPem, now, Number.POSITIVE_INFINITY);
  } catch (err) {
    throw new HubError('UNAUTHORIZED', `the previous certificate is not one of this hub's: ${(err as Error).message}`);
  }
  const nodeId = info.subjectCN;
  const node = await deps.store.getNode(nodeId);
  if (!node)
    throw new HubError(
      'NODE_REMOVED',
      `node ${nodeId} no longer exists at this hub: join as a new node (atoll-agent join --token T --force)`,
    );
  const record = await deps.store.getCert(info.serial);
  if (!record || record.nodeId !== nodeId)
    throw new HubError('UNAUTHORIZED', 'the previous certificate is unknown to this hub');
  if (record.revokedAt) {
    throw new HubError(
      'CERT_REVOKED',
      `the previous certificate was revoked at ${record.revokedAt}: node ${node.name} lives on with a newer one; join as a new node (atoll-agent join --token T --force)`,
    );
  }
  if (token.pool !== node.pool)
    throw new HubError(
      'FORBIDDEN',
      `this token is scoped to pool "${token.pool}", but node ${node.name} is in pool "${node.pool}"`,
    );
  let csr;
  try {
    csr = verifyCsr(csrPem);
  } catch (err) {
    if (err instanceof CertError)
      throw new HubError('CSR_INVALID', `certificate request refused: ${err.message}`, { reason: err.code });
    throw err;
  }
  const keyHash = publicKeySha256(csr.publicKeyPem);
  if (keyHash !== certKeySha256(previousCertPem)) {
    throw new HubError(
      'CSR_INVALID',
      'the CSR does not carry the key of the previous certificate: re-joining a node needs its own key (join as a new node with --force if it is lost)',
    );
  }
  const issued = issueClientCertForKey(deps.ca, csr.publicKeyPem, {
    commonName: nodeId,
    organization: 'atoll:nodes',
    validityMs: deps.nodeCertTtlMs,
  });
  const outcome = await deps.store.rejoinNode({
    tokenId: token.id,
    now: now.toISOString(),
    cert: {
      serial: issued.serial,
      nodeId,
      notBefore: issued.notBefore.toISOString(),
      notAfter: issued.notAfter.toISOString(),
      fingerprint: issued.fingerprint,
      revokedAt: null,
      issuedAt: now.toISOString(),
      publicKeySha256: keyHash,
      certPem: issued.certPem,
    },
  });
  if (outcome === 'node-missing') throw new HubError('NODE_REMOVED', `node ${nodeId} was removed meanwhile`);
  if (outcome !== 'ok')
    throw new HubError(TOKEN_CODES[outcome], `token ${token.id}: ${outcome.replace('token-', '').replace('-', ' ')}`);
  await deps.events.note({
    type: 'node.rejoined',
    nodeId,
    pool: node.pool,
    actor: `token:${token.id}`,
    message: `node ${node.name} joined again under its id from ${source} (its certificate had expired at ${record.notAfter})`,
    data: { source, serial: issued.serial, previous: record.serial },
  });
  return { nodeId, nodeName: node.name, pool: node.pool, certPem: issued.certPem };
}
