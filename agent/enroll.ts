// Enrollment: trust the hub only after its CA matches the token's pin, then send the token and a
// CSR for a key made here. The key never leaves the node.
import { generateKeyPair } from '../certs/keys.js';
import { createCsr } from '../certs/csr.js';
import { caPin } from '../certs/pin.js';
import { parseJoinToken, JoinTokenFormatError } from '../certs/join-token.js';
import { saveIdentity, type Identity } from './identity.js';
import { collectFacts } from './facts.js';
import { httpsCall, errorMessage } from './hub-http.js';
import { AgentError } from './errors.js';
import type { Logger } from './logger.js';
import { keepCertificate, recoverCertificate, HubRefusal } from './cert-recovery.js';

export interface EnrollOptions {
  hubUrl: string;
  token: string;
  dataDir: string;
  pool?: string;
  nodeName?: string;
  labels: Record<string, string>;
  k3s: 'auto' | 'off';
  agentVersion: string;
  logger: Logger;
}

interface JoinResponse {
  nodeId: string;
  nodeName: string;
  pool: string;
  certPem: string;
  caPem: string;
}

/** Fetches /cacerts without trusting it and checks it against the pin; returns the trusted CA. */
export async function fetchPinnedCa(hubUrl: string, pin: string): Promise<string> {
  const res = await httpsCall(`${hubUrl}/cacerts`, { insecure: true });
  if (res.status !== 200) throw new AgentError('HUB_UNREACHABLE', `${hubUrl}/cacerts answered HTTP ${res.status}`);
  const actual = caPin(res.body);
  if (actual !== pin) {
    throw new AgentError(
      'PIN_MISMATCH',
      `hub CA hash ${actual} does not match the token's pin ${pin}: refusing to send the token to ${hubUrl}`,
    );
  }
  // Now prove the server we talk to holds a certificate from that CA (not just serves its PEM).
  const check = await httpsCall(`${hubUrl}/cacerts`, { ca: res.body });
  if (check.body !== res.body)
    throw new AgentError('PIN_MISMATCH', `${hubUrl} served a different CA on a verified connection`);
  return res.body;
}

function parseToken(token: string): ReturnType<typeof parseJoinToken> {
  try {
    return parseJoinToken(token);
  } catch (err) {
    if (err instanceof JoinTokenFormatError)
      throw new AgentError('TOKEN_MALFORMED', `the join token is not valid: ${err.message}`);
    throw err;
  }
}

/**
 * Joins again under the stored node id (its certificate expired past the hub's recovery grace): the
 * token authorizes it, the CSR for the node's own key proves it is this node. Name, pool, labels
 * and history stay with the node.
 */
export async function rejoin(
  opts: Pick<EnrollOptions, 'token' | 'dataDir' | 'logger' | 'agentVersion'>,
  id: Identity,
): Promise<Identity> {
  const parsed = parseToken(opts.token);
  const caPem = await fetchPinnedCa(id.hubUrl, parsed.caPin);
  const res = await httpsCall(`${id.hubUrl}/v1/join`, {
    method: 'POST',
    ca: caPem,
    body: {
      token: opts.token,
      csr: createCsr(id.keyPem, id.nodeId),
      previousCert: id.certPem,
      agentVersion: opts.agentVersion,
      facts: collectFacts(),
    },
  });
  if (res.status !== 201) {
    const e = errorMessage(res.body);
    throw new AgentError(
      'JOIN_REFUSED',
      `the hub refused to re-join node ${id.nodeName} (${id.nodeId}) (HTTP ${res.status} ${e.code}): ${e.message}`,
    );
  }
  const joined = JSON.parse(res.body) as JoinResponse;
  const identity = keepCertificate(opts.dataDir, id, joined.certPem);
  opts.logger
    .child({ component: 'enroll' })
    .info(
      { nodeId: identity.nodeId, notAfter: identity.notAfter.toISOString() },
      'joined again under the same node id',
    );
  return identity;
}

/**
 * `join` on a data dir whose certificate expired: recover it over HTTPS with the node's key (no
 * token used) while the hub still allows that, else join again under the same id with the token.
 */
export async function refreshExpired(
  opts: Pick<EnrollOptions, 'token' | 'dataDir' | 'logger' | 'agentVersion'>,
  id: Identity,
): Promise<{ identity: Identity; how: 'recovered' | 'rejoined' }> {
  try {
    return { identity: await recoverCertificate(opts.dataDir, id), how: 'recovered' };
  } catch (err) {
    if (!(err instanceof HubRefusal) || err.code !== 'CERT_EXPIRED_BEYOND_GRACE') {
      const code = err instanceof HubRefusal ? ` (${err.code})` : '';
      throw new AgentError(
        'JOIN_REFUSED',
        `the certificate of ${id.nodeName} (${id.nodeId}) expired at ${id.notAfter.toISOString()} and could not be renewed${code}: ${(err as Error).message}`,
      );
    }
  }
  return { identity: await rejoin(opts, id), how: 'rejoined' };
}

export async function enroll(opts: EnrollOptions): Promise<Identity> {
  const parsed = parseToken(opts.token);
  const log = opts.logger.child({ component: 'enroll' });
  const caPem = await fetchPinnedCa(opts.hubUrl, parsed.caPin);
  log.info({ hub: opts.hubUrl, caPin: parsed.caPin }, 'hub CA matches the token pin');
  const facts = collectFacts();
  const requestedName =
    (opts.nodeName ?? facts.hostname)
      .toLowerCase()
      .replace(/[^a-z0-9.-]/g, '-')
      .replace(/^[-.]+|[-.]+$/g, '')
      .slice(0, 63) || 'node';
  const { privateKeyPem } = await generateKeyPair();
  const csr = createCsr(privateKeyPem, requestedName);
  const res = await httpsCall(`${opts.hubUrl}/v1/join`, {
    method: 'POST',
    ca: caPem,
    body: {
      token: opts.token,
      csr,
      nodeName: opts.nodeName ? requestedName : undefined,
      pool: opts.pool,
      labels: opts.labels,
      agentVersion: opts.agentVersion,
      facts,
    },
  });
  if (res.status !== 201) {
    const e = errorMessage(res.body);
    throw new AgentError('JOIN_REFUSED', `the hub refused the join (HTTP ${res.status} ${e.code}): ${e.message}`);
  }
  const joined = JSON.parse(res.body) as JoinResponse;
  const identity = saveIdentity(
    opts.dataDir,
    {
      nodeId: joined.nodeId,
      nodeName: joined.nodeName,
      pool: joined.pool,
      hubUrl: opts.hubUrl,
      joinedAt: new Date().toISOString(),
      k3s: opts.k3s,
    },
    { keyPem: privateKeyPem, certPem: joined.certPem, caPem: joined.caPem },
  );
  log.info({ nodeId: identity.nodeId, nodeName: identity.nodeName, pool: identity.pool }, 'joined the hub');
  return identity;
}
