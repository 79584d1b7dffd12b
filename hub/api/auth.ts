// Bearer-token auth for /v1: the admin token (compared as a SHA-256 in constant time; it may be
// rotated, cluster/admin-token.ts, so it is asked each time) or an API token with a role (api-tokens.ts).
import type { FastifyRequest } from 'fastify';
import { HubError } from '../errors.js';
import type { ApiTokens } from './api-tokens.js';
import type { Actor } from './actor.js';

export type { Actor } from './actor.js';

/** The admin token now: AdminToken (cluster/admin-token.ts), or a fixed one in tests. */
export interface AdminTokenCheck {
  matches(presented: string): boolean;
}

export function createAuthenticator(admin: AdminTokenCheck, apiTokens?: ApiTokens): (req: FastifyRequest) => Actor {
  return (req) => {
    const header = req.headers.authorization;
    if (!header) throw new HubError('UNAUTHORIZED', 'missing Authorization: Bearer <token>');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new HubError('UNAUTHORIZED', 'Authorization must be "Bearer <token>"');
    if (admin.matches(m[1])) return { id: 'admin', role: 'admin' };
    const t = apiTokens?.verify(m[1]);
    if (t) return { id: t.id, role: t.role };
    throw new HubError('UNAUTHORIZED', 'invalid API token');
  };
}
