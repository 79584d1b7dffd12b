// Who is calling the supervisor (/v1-k3s/...): a client certificate from the client CA, the server or
// agent token (HTTP Basic server:<pw> / node:<pw>), or a bootstrap token (Bearer <id>.<secret>).
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { findType } from '../store/resource-types.js';
import type { ResourceService } from '../api/resource-service.js';
import { BOOTSTRAP_TOKEN_RE } from '../util/k10-token.js';

export interface Caller {
  readonly user: string;
  readonly groups: readonly string[];
  /** Set when the caller used a node client certificate (system:node:<name>). */
  readonly nodeIdentity?: string;
}

export type AuthResult = { ok: true; caller: Caller } | { ok: false; code: 401 | 403; reason: string };

export interface Passwords {
  readonly server: string;
  readonly agent: string;
}

const SECRETS = findType('', 'v1', 'secrets');

function certCaller(req: IncomingMessage): Caller | undefined {
  const sock = req.socket as TLSSocket;
  if (!sock.authorized) return undefined;
  const peer = sock.getPeerCertificate();
  if (!peer || !peer.subject) return undefined;
  const cn = String(peer.subject.CN ?? '');
  const o = peer.subject.O;
  const groups = Array.isArray(o) ? o.map(String) : o ? [String(o)] : [];
  return {
    user: cn,
    groups,
    ...(cn.startsWith('system:node:') && groups.includes('system:nodes')
      ? { nodeIdentity: cn.slice('system:node:'.length) }
      : {}),
  };
}

function bootstrapCaller(svc: ResourceService, token: string, now: Date): Caller | string {
  const m = BOOTSTRAP_TOKEN_RE.exec(token);
  if (!m || !SECRETS) return 'invalid bearer token';
  const secret = svc.find(SECRETS, 'kube-system', `bootstrap-token-${m[1] as string}`);
  const data = (secret?.data ?? {}) as Record<string, string>;
  const dec = (k: string): string => (data[k] ? Buffer.from(data[k], 'base64').toString('utf8') : '');
  if (!secret || secret.type !== 'bootstrap.kubernetes.io/token') return 'invalid bearer token';
  if (dec('token-secret') !== m[2] || dec('token-id') !== m[1]) return 'invalid bearer token';
  const exp = dec('expiration');
  if (exp && Date.parse(exp) < now.getTime()) return 'invalid bearer token: token has expired';
  if (dec('usage-bootstrap-authentication') !== 'true') return 'invalid bearer token';
  const extra = dec('auth-extra-groups')
    .split(',')
    .filter((g) => g !== '');
  return { user: `system:bootstrap:${m[1] as string}`, groups: ['system:bootstrappers', ...extra] };
}

export function authenticate(req: IncomingMessage, svc: ResourceService, pw: Passwords, now: Date): AuthResult {
  const cert = certCaller(req);
  if (cert) return { ok: true, caller: cert };
  const auth = req.headers.authorization ?? '';
  if (auth.startsWith('Basic ')) {
    const dec = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    const i = dec.indexOf(':');
    const user = dec.slice(0, i);
    const pass = dec.slice(i + 1);
    if (user === 'server' && pass === pw.server) return { ok: true, caller: { user, groups: ['k3s:server'] } };
    if (user === 'node' && (pass === pw.agent || pass === pw.server))
      return { ok: true, caller: { user, groups: ['k3s:agent'] } };
    return { ok: false, code: 401, reason: 'invalid username/password combination' };
  }
  if (auth.startsWith('Bearer ')) {
    const r = bootstrapCaller(svc, auth.slice(7).trim(), now);
    return typeof r === 'string' ? { ok: false, code: 401, reason: r } : { ok: true, caller: r };
  }
  return { ok: false, code: 403, reason: 'no credentials' };
}

/** Roles allowed on the agent endpoints: k3s:agent, system:nodes, system:bootstrappers (and servers). */
export function mayUseAgentEndpoints(c: Caller): boolean {
  return c.groups.some((g) => ['k3s:agent', 'k3s:server', 'system:nodes', 'system:bootstrappers'].includes(g));
}
