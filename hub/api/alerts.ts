// GET /v1/alerts: the active problems computed from the hub's state (hub/alerts/), worst first.
import type { FastifyPluginAsync } from 'fastify';
import type { HubServices } from './services.js';
import { itemsOf, open, responses, str } from './schemas.js';

const alertSchema = open({
  id: {
    type: 'string',
    description:
      'stable while the problem lasts: <kind> or <kind>:<subject>, e.g. node-unreachable:<nodeId>, cert-expiring:ca, version-support:control-plane, rollout-halted:<rolloutId>',
  },
  severity: { type: 'string', enum: ['critical', 'warning', 'info'] },
  since: { type: 'string', description: 'when the hub first saw it active (kept across calls and restarts)' },
  message: str,
  link: { type: 'string', description: 'the dashboard route that shows it, e.g. #/node/<id>' },
});

export const alertRoutes: FastifyPluginAsync<{ svc: HubServices }> = async (app, { svc }) => {
  app.get(
    '/v1/alerts',
    {
      schema: {
        summary:
          'Active problems: control plane down, nodes unreachable or needing attention, certificates expiring within 7 days (nodes, serving, CA), versions near or past end of life, autoheal frozen, halted rollouts',
        response: responses({ 200: itemsOf(alertSchema) }),
      },
    },
    async () => ({
      items: ((await svc.alerts?.list()) ?? []).map((a) => ({
        id: a.id,
        severity: a.severity,
        since: a.since,
        message: a.message,
        link: a.link,
      })),
    }),
  );
};
