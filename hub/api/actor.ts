// Who is calling: set by access control (access.ts) on every authenticated request.
import type { FastifyRequest } from 'fastify';
import type { Role } from './roles.js';

export interface Actor {
  /** `admin`, or the API token's id. */
  id: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

/** The actor's id for events and audit: `admin`, an API token id, or `anonymous`. */
export function actorOf(req: FastifyRequest): string {
  return req.actor?.id ?? 'anonymous';
}
