// What the API and other parts of the hub know about the hubs of the cluster: each hub with its
// URLs, agents, last beat, liveness and the roles it leads (from the leases), and this hub's id.
import type { Store } from '../store/types.js';
import type { Membership } from './membership.js';
import type { Leadership, Role } from './leadership.js';

export interface HubItem {
  id: string;
  publicUrl: string;
  apiUrl: string;
  gatewayUrl: string;
  startedAt: string;
  agents: number;
  lastBeat: string;
  live: boolean;
  /** The singleton roles this hub leads now. */
  leader: string[];
  /** This is the hub that answered. */
  self: boolean;
}

export interface HubsService {
  readonly hubId: string;
  list(): Promise<HubItem[]>;
  /** The direct gateway URLs of the live hubs (this one first), as of the last beat. */
  liveGatewayUrls(): string[];
  /** The roles this hub leads now. */
  led(): Role[];
}

export function hubsService(
  store: Pick<Store, 'listLeases'>,
  membership: Membership,
  leadership: Leadership,
): HubsService {
  return {
    hubId: membership.hubId,
    async list() {
      const [hubs, leases] = await Promise.all([membership.list(), store.listLeases()]);
      return hubs.map((h) => ({
        id: h.id,
        publicUrl: h.publicUrl,
        apiUrl: h.apiUrl,
        gatewayUrl: h.gatewayUrl,
        startedAt: h.startedAt,
        agents: h.agents,
        lastBeat: h.lastBeat,
        live: h.live,
        // This hub's own roles as it acts on them now (its lease surely valid); another's from the leases.
        leader:
          h.id === membership.hubId
            ? leadership.led()
            : leases.filter((l) => l.live && l.holder === h.id).map((l) => l.role),
        self: h.id === membership.hubId,
      }));
    },
    liveGatewayUrls: () => membership.liveGatewayUrls(),
    led: () => leadership.led(),
  };
}
