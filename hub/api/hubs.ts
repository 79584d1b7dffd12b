// GET /v1/hubs: the hubs sharing this cluster's datastore, with their direct URLs, agents, last beat
// and the singleton roles each one leads (hub/cluster/).
import type { FastifyPluginAsync } from 'fastify';
import type { HubServices } from './services.js';
import { bool, itemsOf, open, responses, str, strings } from './schemas.js';

const hubSchema = open({
  id: { type: 'string', description: 'the hub id (kept in <data-dir>/hub-id, or --hub-id)' },
  publicUrl: { type: 'string', description: "the hub's direct gateway URL (--public-url)" },
  apiUrl: str,
  gatewayUrl: str,
  startedAt: str,
  agents: { type: 'number', description: 'agents connected to this hub at its last beat' },
  lastBeat: { type: 'string', description: 'its last membership beat (every 2 s), on the datastore clock' },
  live: { type: 'boolean', description: 'beat within the last 6 s' },
  leader: { ...strings, description: 'the roles it leads: autoheal, upgrades, purges, event-retention, support-watch' },
  self: bool,
});

export const hubRoutes: FastifyPluginAsync<{ svc: HubServices }> = async (app, { svc }) => {
  app.get(
    '/v1/hubs',
    {
      schema: {
        summary: 'The hubs on this datastore: direct URLs, agents, last beat, live, and the roles each leads',
        response: responses({ 200: itemsOf(hubSchema) }),
      },
    },
    async () => ({ items: (await svc.hubs?.list()) ?? [] }),
  );
};
