// Access control and audit for the API listener, and the OpenAPI document.
// - onRequest: a route that declares `config.public` runs without a token; any other request is
//   authenticated (401), then the matched route's declared permission (roles.ts) is checked against
//   the actor's role; a route without one is refused (deny by default), and a denial is recorded as
//   an `api.denied` event before the 403 is sent.
// - onSend: every state-changing request (any method but GET/HEAD, and GETs that need more than
//   `read`) becomes an `api.request` event with actor, action, target and result.
import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HubServices } from './services.js';
import type { Actor } from './auth.js';
import { HubError } from '../errors.js';
import { trackRoutes } from '../http/route-table.js';
import { permissionFor, roleAllows, type Permission } from './roles.js';

declare module 'fastify' {
  interface FastifyRequest {
    permission: Permission | null;
    /** Whether the request's token still grants its permission now (long streams re-check it). */
    stillAllowed: (() => boolean) | null;
  }
  interface FastifyContextConfig {
    /** The permission this route needs, instead of its ROUTE_PERMISSIONS entry (roles.ts). */
    permission?: Permission;
    /** No token needed (liveness, the dashboard's static files, the OpenAPI document). */
    public?: boolean;
  }
}

export { routeTable, type RouteEntry } from '../http/route-table.js';

function targetOf(req: FastifyRequest): { nodeId: string | null; pool: string | null } {
  const params = (req.params ?? {}) as Record<string, string | undefined>;
  const url = req.routeOptions.url ?? '';
  return { nodeId: url.startsWith('/v1/nodes/') ? (params.id ?? null) : null, pool: params.pool ?? null };
}

/** The request's target without its query, bounded: what an audit event names. */
function targetPath(req: FastifyRequest): string {
  return req.url.split('?')[0].slice(0, 512);
}

export function installAccessControl(
  app: FastifyInstance,
  svc: HubServices,
  authenticate: (req: FastifyRequest) => Actor,
): void {
  trackRoutes(app);
  app.decorateRequest('permission', null);
  app.decorateRequest('stillAllowed', null);
  app.addHook('onRequest', async (req) => {
    // Only the route that matched counts (req.routeOptions), never the raw target in req.url.
    const config = req.routeOptions.config as { public?: boolean; permission?: unknown } | undefined;
    const url = req.routeOptions.url;
    if (url !== undefined && config?.public === true) return;
    // Everything else needs a valid token, including targets that match no route: an anonymous
    // caller learns nothing about which routes exist (401, never 404).
    req.actor = authenticate(req);
    if (url === undefined) return; // no such route: the 404 handler answers
    const permission = permissionFor(req.method, url, config?.permission);
    if (!permission) {
      req.log.error({ method: req.method, route: url }, 'route declares no access rule; refused');
      throw new HubError('FORBIDDEN', `${req.method} ${url} declares no access rule, so nobody may call it`);
    }
    req.permission = permission;
    req.stillAllowed = () => {
      try {
        return roleAllows(authenticate(req).role, permission);
      } catch {
        return false;
      }
    };
    if (roleAllows(req.actor.role, permission)) return;
    const path = targetPath(req);
    await svc.events.note({
      type: 'api.denied',
      ...targetOf(req),
      actor: req.actor.id,
      message: `${req.method} ${path} denied: the ${req.actor.role} role lacks the "${permission}" permission`,
      data: {
        action: `${req.method} ${url}`,
        target: targetPath(req),
        result: 'denied',
        permission,
        role: req.actor.role,
      },
    });
    throw new HubError(
      'FORBIDDEN',
      `permission "${permission}" required for ${req.method} ${url}; this ${req.actor.role} token does not have it`,
    );
  });
  // onSend, not onResponse: the event is stored before the caller has the answer, so a read that
  // follows an action (on this hub or another one on the same database) always finds it.
  app.addHook('onSend', async (req, reply, payload) => {
    if (!req.actor || !req.permission || reply.statusCode === 401 || reply.statusCode === 403) return payload;
    if ((req.method === 'GET' || req.method === 'HEAD') && req.permission === 'read') return payload;
    const path = targetPath(req);
    const status = reply.statusCode;
    const noted = svc.events.note({
      type: 'api.request',
      ...targetOf(req),
      actor: req.actor.id,
      message: `${req.method} ${path} -> ${status}`,
      data: {
        action: `${req.method} ${req.routeOptions.url}`,
        target: path,
        result: status < 400 ? 'ok' : 'failed',
        status,
        permission: req.permission,
      },
    });
    // The action itself is done: a store that cannot take the event is logged, the answer still goes out.
    await noted.catch((err: unknown) =>
      req.log.error(
        { err: (err as Error).message, action: `${req.method} ${path}` },
        'could not record the audit event',
      ),
    );
    return payload;
  });
}

export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'atoll hub API',
        version,
        description:
          'The dashboard API of an atoll hub. Every /v1 route needs `Authorization: Bearer <token>` (the admin token or an API token with a role).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  app.get(
    '/openapi.json',
    {
      config: { public: true },
      schema: { hide: true, response: { 200: { type: 'object', additionalProperties: true } } },
    },
    async () => app.swagger(),
  );
}
