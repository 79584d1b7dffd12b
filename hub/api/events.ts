// /v1/events: the audit trail and history, paged by cursor.
import type { FastifyPluginAsync } from 'fastify';
import type { HubServices } from './services.js';
import { eventSchema, open, responses } from './schemas.js';

export const eventRoutes: FastifyPluginAsync<{ svc: HubServices }> = async (app, { svc }) => {
  app.get('/v1/events', {
    schema: {
      summary: 'Events after a cursor, oldest first (or before one, newest first): joins, state changes, remediation and upgrade steps, audit',
      response: responses({ 200: open({ items: { type: 'array', items: eventSchema }, cursor: { type: 'integer', description: 'pass as since= for the next page (with before=: as before= for the next older page)' } }) }),
      querystring: {
        type: 'object',
        properties: {
          since: { type: 'integer', minimum: 0, default: 0 },
          before: { type: 'integer', minimum: 1, description: 'only events with a smaller id, newest first' },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          type: { type: 'string' },
          node: { type: 'string' },
          pool: { type: 'string' },
        },
      },
    },
  }, async (req) => {
    const q = req.query as { since: number; before?: number; limit: number; type?: string; node?: string; pool?: string };
    const items = await svc.store.listEvents({ since: q.since, before: q.before, limit: q.limit, type: q.type, nodeId: q.node, pool: q.pool });
    return { items, cursor: items.length ? items[items.length - 1].id : q.before ?? q.since };
  });
};
