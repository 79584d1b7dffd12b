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
    throw new AgentError('PIN_MISMATCH', `hub CA hash ${actual} does not match the token's pin ${pin}: refusing to send the token to ${hubUrl}`);
  }
  // Now prove the server we talk to holds a certificate from that CA (not just serves its PEM).
  const check = await httpsCall(`${hubUrl}/cacerts`, { ca: res.body });
  if (check.body !== res.body) throw new AgentError('PIN_MISMATCH', `${hubUrl} served a different CA on a verified connection`);
  return res.body;
}

export async function enroll(opts: EnrollOptions): Promise<Identity> {
  let parsed;
  try {
    parsed = parseJoinToken(opts.token);
  } catch (err) {
    if (err instanceof JoinTokenFormatError) throw new AgentError('TOKEN_MALFORMED', `the join token is not valid: ${err.message}`);
    throw err;
  }
  const log = opts.logger.child({ component: 'enroll' });
  const caPem = await fetchPinnedCa(opts.hubUrl, parsed.caPin);
  log.info({ hub: opts.hubUrl, caPin: parsed.caPin }, 'hub CA matches the token pin');
  const facts = collectFacts();
  const requestedName = (opts.nodeName ?? facts.hostname).toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 63) || 'node';
  const { privateKeyPem } = await generateKeyPair();
  const csr = createCsr(privateKeyPem, requestedName);
  const res = await httpsCall(`${opts.hubUrl}/v1/join`, {
    method: 'POST',
    ca: caPem,
    body: { token: opts.token, csr, nodeName: opts.nodeName ? requestedName : undefined, pool: opts.pool, labels: opts.labels, agentVersion: opts.agentVersion, facts },
  });
  if (res.status !== 201) {
    const e = errorMessage(res.body);
    throw new AgentError('JOIN_REFUSED', `the hub refused the join (HTTP ${res.status} ${e.code}): ${e.message}`);
  }
  const joined = JSON.parse(res.body) as JoinResponse;
  const identity = saveIdentity(opts.dataDir, {
    nodeId: joined.nodeId, nodeName: joined.nodeName, pool: joined.pool, hubUrl: opts.hubUrl, joinedAt: new Date().toISOString(), k3s: opts.k3s,
  }, { keyPem: privateKeyPem, certPem: joined.certPem, caPem: joined.caPem });
  log.info({ nodeId: identity.nodeId, nodeName: identity.nodeName, pool: identity.pool }, 'joined the hub');
  return identity;
}
