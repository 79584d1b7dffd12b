// Bearer-token auth for /v1: the admin token, compared as a SHA-256 in constant time.
import type { FastifyRequest } from 'fastify';
import { HubError } from '../errors.js';
import { secretMatches } from '../tokens/secrets.js';

export interface Actor {
  id: string;
  role: 'admin';
}

export function createAuthenticator(adminTokenHash: string): (req: FastifyRequest) => Actor {
  return (req) => {
    const header = req.headers.authorization;
    if (!header) throw new HubError('UNAUTHORIZED', 'missing Authorization: Bearer <token>');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new HubError('UNAUTHORIZED', 'Authorization must be "Bearer <token>"');
    if (!secretMatches(m[1], adminTokenHash)) throw new HubError('UNAUTHORIZED', 'invalid API token');
    return { id: 'admin', role: 'admin' };
  };
}
