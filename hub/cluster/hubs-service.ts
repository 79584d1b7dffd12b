// What the API and other parts of the hub know about the hubs of the cluster: each hub with its
// URLs, agents, last beat, liveness and the roles it leads (from the leases), and this hub's id.
import type { Store } from '../store/types.js';
import type { Membership } from './membership.js';
import type { Leadership, Role } from './leadership.js';
import type { EventFeed } from './event-feed.js';

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
  /**
   * Whether the node's agent is connected to another live hub, as far as the store says: its last
   * report is fresher than freshMs and it is not unreachable (false on a hub alone).
   */
  heldElsewhere(nodeId: string): Promise<boolean>;
  /** Every hub's events as they are stored (this hub's at once, the others' within a second). */
  readonly events: EventFeed;
  /** Whether this hub's membership beat reaches the store (GET /readyz). */
  storeReachable(): boolean;
  /** Cut off from the store while another hub has it: the gateway sends the agents away. */
  shouldShedAgents(): boolean;
}

export function hubsService(
  store: Pick<Store, 'listLeases' | 'getNode'>,
  membership: Membership,
  leadership: Leadership,
  fresh: { freshMs: number; now: () => number; events: EventFeed; shouldShedAgents?: () => boolean },
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
    events: fresh.events,
    storeReachable: () => membership.storeReachable(),
    shouldShedAgents: () => fresh.shouldShedAgents?.() ?? false,
    async heldElsewhere(nodeId) {
      const [node, hubs] = await Promise.all([store.getNode(nodeId), membership.list()]);
      if (!node?.lastSeen || node.state === 'unreachable') return false;
      if (!hubs.some((h) => h.live && h.id !== membership.hubId)) return false;
      return fresh.now() - Date.parse(node.lastSeen) < fresh.freshMs;
    },
  };
}
