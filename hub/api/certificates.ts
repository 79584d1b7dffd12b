// GET /v1/certificates?within=: the node client certificates that expire soon. Per node only the one
// it uses (its newest unrevoked certificate), soonest first. Agents renew at two thirds of the
// lifetime, so by default "soon" is the last quarter of --node-cert-ttl: a certificate listed there
// has missed its renewal by a margin (an agent that has been away, or a renewal that keeps failing).
import type { RoutePlugin } from '../http/route-plugin.js';
import type { HubServices } from './services.js';
import { HubError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { bool, itemsOf, num, open, responses, str } from './schemas.js';

/** The most certificates one answer lists. */
const MAX_ITEMS = 500;

const expiring = open({ nodeId: str, node: str, pool: str, serial: str, notAfter: str, connected: bool });

export const certificateRoutes: RoutePlugin<{ svc: HubServices }> = async (app, { svc }) => {
  app.get(
    '/v1/certificates',
    {
      schema: {
        summary:
          'Node certificates that expire within a duration (default: the last quarter of --node-cert-ttl, i.e. renewal overdue), soonest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            within: {
              type: 'string',
              pattern: '^[0-9]+(ms|s|m|h|d)$',
              maxLength: 20,
              description: 'e.g. 7d; default a quarter of --node-cert-ttl',
            },
            limit: { type: 'integer', minimum: 1, maximum: MAX_ITEMS, default: 100 },
          },
        },
        response: responses({ 200: open({ ...(itemsOf(expiring).properties as object), withinMs: num, limit: num }) }),
      },
    },
    async (req) => {
      const q = req.query;
      let withinMs = Math.round(svc.config.nodeCertTtlMs / 4);
      if (q.within !== undefined) {
        try {
          withinMs = parseDuration(q.within);
        } catch (err) {
          throw new HubError('VALIDATION', `within: ${(err as Error).message}`);
        }
      }
      const before = new Date(Date.now() + withinMs).toISOString();
      const certs = await svc.store.listExpiringCerts(before, q.limit);
      const items = [];
      for (const c of certs) {
        const n = await svc.store.getNode(c.nodeId);
        if (!n) continue;
        items.push({
          nodeId: c.nodeId,
          node: n.name,
          pool: n.pool,
          serial: c.serial,
          notAfter: c.notAfter,
          connected: Boolean(svc.registry.snapshotOf(c.nodeId)?.connected),
        });
      }
      return { items, withinMs, limit: q.limit };
    },
  );
};
