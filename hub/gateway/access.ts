// Access control on the gateway listener, deny by default. Every route declares who may call it
// with `config: { access }`:
//   'public' - anyone on the network (the CA bundle, install.sh, the join route, which checks its
//              join token itself, and the files the installer fetches before it has an identity);
//   'node'   - an enrolled node: a client certificate from this hub that is known, unexpired and
//              unrevoked, of a node that still exists (verifyClientCert), checked here before the
//              handler runs; the node's id is in req.nodeId.
// A route without a declared rule answers 403 and never runs. Only the route that matched counts
// (req.routeOptions), never the raw request target.
import type { FastifyInstance } from 'fastify';
import { HubError } from '../errors.js';
import { trackRoutes } from '../http/route-table.js';

export type GatewayAccess = 'public' | 'node';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Gateway routes: who may call this route (gateway/access.ts). */
    access?: GatewayAccess;
  }
  interface FastifyRequest {
    /** The enrolled node that called an `access: 'node'` route. */
    nodeId: string | null;
  }
}

export function installGatewayAccess(
  app: FastifyInstance,
  verifyNode: (req: { socket: unknown }) => Promise<string>,
): void {
  trackRoutes(app);
  app.decorateRequest('nodeId', null);
  app.addHook('onRequest', async (req) => {
    const url = req.routeOptions.url;
    if (url === undefined) return; // no such route: the 404 handler answers
    const access = (req.routeOptions.config as { access?: unknown } | undefined)?.access;
    if (access === 'public') return;
    if (access === 'node') {
      req.nodeId = await verifyNode(req.raw);
      return;
    }
    req.log.error({ method: req.method, route: url }, 'gateway route declares no access rule; refused');
    throw new HubError('FORBIDDEN', `${req.method} ${url} declares no access rule, so nobody may call it`);
  });
}
