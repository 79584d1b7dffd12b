// Access control and audit for /v1, and the OpenAPI document.
// - onRequest: authenticate (401), then check the route's permission against the actor's role; a
//   denial is recorded as an `api.denied` event before the 403 is sent.
// - onResponse: every state-changing request (any method but GET/HEAD, and GETs that need more than
//   `read`) becomes an `api.request` event with actor, action, target and result.
import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HubServices } from './services.js';
import type { Actor } from './auth.js';
import { HubError } from '../errors.js';
import { permissionFor, roleAllows, type Permission } from './roles.js';

declare module 'fastify' {
  interface FastifyRequest {
    permission: Permission | null;
  }
  interface FastifyContextConfig {
    /** Overrides the permission derived from method and URL (roles.ts). */
    permission?: Permission;
  }
}

export interface RouteEntry { method: string; url: string }
const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Every route registered on the API, from fastify's onRoute hook (HEAD routes left out). */
export function routeTable(app: FastifyInstance): RouteEntry[] {
  return [...(tables.get(app) ?? [])];
}

function targetOf(req: FastifyRequest): { nodeId: string | null; pool: string | null } {
  const params = (req.params ?? {}) as Record<string, string | undefined>;
  const url = req.routeOptions.url ?? '';
  return { nodeId: url.startsWith('/v1/nodes/') ? params.id ?? null : null, pool: params.pool ?? null };
}

export function installAccessControl(app: FastifyInstance, svc: HubServices, authenticate: (req: FastifyRequest) => Actor): void {
  const table: RouteEntry[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') table.push({ method, url: route.url ?? route.path });
  });
  app.decorateRequest('permission', null);
  app.addHook('onRequest', async (req) => {
    if (!(req.url.startsWith('/v1/') || req.url === '/v1' || req.url.startsWith('/v1?'))) return;
    req.actor = authenticate(req);
    const url = req.routeOptions.url;
    if (!url) return; // no such route: the 404 handler answers
    const permission = permissionFor(req.method, url, req.routeOptions.config?.permission);
    req.permission = permission;
    if (roleAllows(req.actor.role, permission)) return;
    const path = req.url.split('?')[0];
    await svc.events.note({
      type: 'api.denied', ...targetOf(req), actor: req.actor.id,
      message: `${req.method} ${path} denied: the ${req.actor.role} role lacks the "${permission}" permission`,
      data: { action: `${req.method} ${url}`, target: path, result: 'denied', permission, role: req.actor.role },
    });
    throw new HubError('FORBIDDEN', `permission "${permission}" required for ${req.method} ${url}; this ${req.actor.role} token does not have it`);
  });
  app.addHook('onResponse', async (req, reply) => {
    if (!req.actor || !req.permission || reply.statusCode === 401 || reply.statusCode === 403) return;
    if ((req.method === 'GET' || req.method === 'HEAD') && req.permission === 'read') return;
    const path = req.url.split('?')[0];
    const status = reply.statusCode;
    await svc.events.note({
      type: 'api.request', ...targetOf(req), actor: req.actor.id,
      message: `${req.method} ${path} -> ${status}`,
      data: { action: `${req.method} ${req.routeOptions.url}`, target: path, result: status < 400 ? 'ok' : 'failed', status, permission: req.permission },
    });
  });
}

export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'atoll hub API', version, description: 'The dashboard API of an atoll hub. Every /v1 route needs `Authorization: Bearer <token>` (the admin token or an API token with a role).' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  app.get('/openapi.json', { schema: { hide: true, response: { 200: { type: 'object', additionalProperties: true } } } }, async () => app.swagger());
}
