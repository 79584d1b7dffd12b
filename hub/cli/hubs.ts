// atoll-hub hubs: the hubs on this cluster's datastore (GET /v1/hubs), with the roles each leads.
import type { Command } from 'commander';
import { client } from './session.js';
import { printRows } from './output.js';

interface HubItem {
  id: string;
  publicUrl: string;
  gatewayUrl: string;
  apiUrl: string;
  agents: number;
  lastBeat: string;
  live: boolean;
  leader: string[];
  self: boolean;
}

export function registerHubCommands(program: Command): void {
  program
    .command('hubs')
    .description('list the hubs sharing this datastore: URLs, agents, last beat, and the roles each leads')
    .action(async (_o, cmd: Command) => {
      const c = client(cmd);
      const r = await c.api.call<{ items: HubItem[] }>('GET', '/v1/hubs');
      if (c.structured) return c.print(r);
      printRows(
        [
          { header: 'ID', value: (h: HubItem) => (h.self ? `${h.id} *` : h.id) },
          { header: 'STATE', value: (h: HubItem) => (h.live ? 'live' : 'gone') },
          // Each hub's own gateway (--gateway-url): --public-url may be a name every hub shares.
          { header: 'URL', value: (h: HubItem) => h.gatewayUrl },
          { header: 'API', value: (h: HubItem) => h.apiUrl, wide: true },
          { header: 'AGENTS', value: (h: HubItem) => String(h.agents) },
          { header: 'LEADS', value: (h: HubItem) => h.leader.join(',') || '-' },
          { header: 'LAST BEAT', value: (h: HubItem) => h.lastBeat },
        ],
        r.items,
        c.format,
      );
    });
}
