// Enrollment: a join token and a CSR in, a node and its client certificate out — atomically.
import type { CaMaterial } from '../../certs/ca.js';
import { signCsr } from '../../certs/issue.js';
import { CertError } from '../../certs/errors.js';
import type { NodeRecord, Store, HostFactsRecord } from '../store/types.js';
import type { TokenService } from '../tokens/token-service.js';
import type { EventLog } from '../events.js';
import type { NodeRegistry } from './registry.js';
import { HubError } from '../errors.js';
import { randomString } from '../tokens/secrets.js';
import { rejoin } from './rejoin.js';

export interface JoinRequest {
  token: string;
  csr: string;
  nodeName?: string;
  pool?: string;
  labels?: Record<string, string>;
  facts: HostFactsRecord;
  agentVersion: string;
  /** Re-join an existing node under its id: its (expired) certificate; the CSR must carry its key. */
  previousCert?: string;
}

export interface JoinResult {
  nodeId: string;
  nodeName: string;
  pool: string;
  certPem: string;
  caPem: string;
  heartbeatIntervalMs: number;
  /** An existing node joined again under its id (its certificate had expired). */
  rejoined?: boolean;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;
const LABEL_KEY_RE = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export function validateLabels(labels: Record<string, string>): void {
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY_RE.test(k)) throw new HubError('VALIDATION', `label key "${k}" is not a valid Kubernetes label key`);
    if (typeof v !== 'string' || !LABEL_VALUE_RE.test(v))
      throw new HubError('VALIDATION', `label value for "${k}" is not a valid Kubernetes label value`);
  }
}

/** Kubernetes node names: lowercase DNS-1123 subdomain. Hostnames are lowered and cleaned. */
export function normalizeNodeName(raw: string): string {
  const cleaned = raw
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 63);
  return cleaned || 'node';
}

export interface EnrollmentDeps {
  store: Store;
  tokens: TokenService;
  ca: CaMaterial;
  events: EventLog;
  registry: NodeRegistry;
  nodeCertTtlMs: number;
  heartbeatIntervalMs: number;
  /** The hub's best wall time (steady through a step of its clock): token expiry and certificate dates. */
  now?: () => number;
}

export async function enroll(deps: EnrollmentDeps, req: JoinRequest, source: string): Promise<JoinResult> {
  const now = new Date(deps.now?.() ?? Date.now());
  const token = await deps.tokens.check(req.token, now);
  if (req.previousCert) {
    const r = await rejoin(
      { store: deps.store, ca: deps.ca, events: deps.events, nodeCertTtlMs: deps.nodeCertTtlMs },
      token,
      req.previousCert,
      req.csr,
      source,
    );
    return { ...r, caPem: deps.ca.certPem, heartbeatIntervalMs: deps.heartbeatIntervalMs, rejoined: true };
  }
  if (req.pool && req.pool !== token.pool) {
    throw new HubError('FORBIDDEN', `this token is scoped to pool "${token.pool}", not "${req.pool}"`);
  }
  const requestedName = req.nodeName ?? req.facts.hostname;
  if (req.nodeName && !NAME_RE.test(req.nodeName)) {
    throw new HubError('VALIDATION', `node name "${req.nodeName}" must be a lowercase DNS name (a-z, 0-9, "-", ".")`);
  }
  validateLabels(req.labels ?? {});
  let name = normalizeNodeName(requestedName);
  // A name still in use (two VMs with one hostname) gets a unique suffix: names never clash in
  // Kubernetes. A removed node's name is free again.
  if (deps.registry.idByName(name)) name = `${name.slice(0, 57)}-${randomString(5)}`;
  const nodeId = `n${randomString(11)}`;
  // The CSR must be signed by the key it carries and name the node it asks for: a CSR naming anything
  // else (another node, an admin) is a forged subject. The issued subject is ours, never the CSR's.
  let issued;
  try {
    issued = signCsr(deps.ca, req.csr, {
      commonName: nodeId,
      organization: 'atoll:nodes',
      validityMs: deps.nodeCertTtlMs,
      expectedSubjectCN: normalizeNodeName(requestedName),
      nowMs: now.getTime(),
    });
  } catch (err) {
    if (err instanceof CertError)
      throw new HubError('CSR_INVALID', `certificate request refused: ${err.message}`, { reason: err.code });
    throw err;
  }
  const node: NodeRecord = {
    id: nodeId,
    name,
    pool: token.pool,
    state: 'joining',
    labels: req.labels ?? {},
    facts: req.facts,
    agentVersion: req.agentVersion,
    tokenId: token.id,
    createdAt: now.toISOString(),
    lastSeen: null,
    health: null,
  };
  const outcome = await deps.store.enroll({
    tokenId: token.id,
    now: now.toISOString(),
    node,
    cert: {
      serial: issued.serial,
      nodeId,
      notBefore: issued.notBefore.toISOString(),
      notAfter: issued.notAfter.toISOString(),
      fingerprint: issued.fingerprint,
      revokedAt: null,
      issuedAt: now.toISOString(),
    },
    event: {
      type: 'node.joined',
      nodeId,
      pool: token.pool,
      actor: `token:${token.id}`,
      message: `node ${name} joined pool ${token.pool} from ${source}`,
      data: { name, source, hostname: req.facts.hostname, arch: req.facts.arch },
    },
  });
  if (outcome !== 'ok') {
    // Lost a race with another join on the same single-use token, or a revoke: nothing was created.
    const code =
      outcome === 'token-used-up'
        ? 'TOKEN_USED_UP'
        : outcome === 'token-revoked'
          ? 'TOKEN_REVOKED'
          : outcome === 'token-expired'
            ? 'TOKEN_EXPIRED'
            : 'TOKEN_INVALID';
    throw new HubError(code, `token ${token.id}: ${outcome.replace('token-', '').replace('-', ' ')}`);
  }
  deps.registry.track(node);
  return {
    nodeId,
    nodeName: name,
    pool: token.pool,
    certPem: issued.certPem,
    caPem: deps.ca.certPem,
    heartbeatIntervalMs: deps.heartbeatIntervalMs,
  };
}
