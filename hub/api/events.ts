// /v1/events: the audit trail and history, paged by cursor.
import type { RoutePlugin } from '../http/route-plugin.js';
import type { HubServices } from './services.js';
import { eventSchema, open, responses } from './schemas.js';

export const eventRoutes: RoutePlugin<{ svc: HubServices }> = async (app, { svc }) => {
  app.get(
    '/v1/events',
    {
      schema: {
        summary:
          'Events after a cursor, oldest first (before= or order=desc: newest first): joins, state changes, remediation and upgrade steps, audit',
        response: responses({
          200: open({
            items: { type: 'array', items: eventSchema },
            cursor: {
              type: 'integer',
              description: 'pass as since= for the next page (newest first: as before= for the next older page)',
            },
          }),
        }),
        querystring: {
          type: 'object',
          properties: {
            since: { type: 'integer', minimum: 0, default: 0 },
            before: {
              type: 'integer',
              minimum: 1,
              description: 'only events with a smaller id; newest first unless order=asc',
            },
            order: {
              type: 'string',
              enum: ['asc', 'desc'],
              description: 'asc: oldest first (the default without before=); desc: newest first',
            },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            type: { type: 'string' },
            node: { type: 'string' },
            pool: { type: 'string' },
          },
        },
      },
    },
    async (req) => {
      const q = req.query;
      const items = await svc.store.listEvents({
        since: q.since,
        before: q.before,
        order: q.order,
        limit: q.limit,
        type: q.type,
        nodeId: q.node,
        pool: q.pool,
      });
      const desc = q.order === 'desc' || (q.order === undefined && q.before !== undefined);
      const cursor = items.length ? items[items.length - 1].id : desc ? (q.before ?? 0) : q.since;
      return { items, cursor };
    },
  );
};
