// Several hubs on one datastore, wired for app.ts: this hub's id, its leadership of the singleton
// roles (leases on PostgreSQL; always on SQLite, where there is one hub), the fenced stores the
// singletons write through, and, once the hub listens, the membership beat and the hubs service.
import type { Clock } from '../clock.js';
import type { HubConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/types.js';
import { fencedStore } from './fenced-store.js';
import { hubIdFor } from './hub-id.js';
import { hubsService, type HubsService } from './hubs-service.js';
import { alwaysLeader, leaseLeadership, ROLES, type Leadership, type Role } from './leadership.js';
import { createMembership, type Membership } from './membership.js';
import { startCommandRelay, type HubLocal } from './command-relay.js';
import { startRemovalWatch } from './removal-watch.js';

export { remoteNodeView } from './remote-node.js';
import { createEventFeed, type EventFeed } from './event-feed.js';
import { readyProbe, startCutoffShedder, type CutoffShedder } from './cutoff-shed.js';

/** What runs only on the leader of a role: started when this hub gains it, stopped when it loses it. */
export interface Singleton {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

export interface HubCluster {
  readonly hubId: string;
  readonly leadership: Leadership;
  /** The store for writes in `role`: fenced with this hub's lease. */
  fenced(role: Role): Store;
  leads(role: Role): () => boolean;
  /** Beats, takes the leases, and starts each singleton whose role it leads; returns the hubs service. */
  start(
    local: HubLocal & { apiUrl: string; gatewayUrl: string; caPem: string },
    singletons: Partial<Record<Role, Singleton>>,
  ): Promise<HubsService>;
  /** Gives the leases up (stopping the singletons), stops beating and removes this hub's row. */
  stop(): Promise<void>;
}

/** The roles this hub contends for: `backups` only with --backup-interval (else the leader would back nothing up). */
function rolesTaken(config: HubConfig): Role[] {
  return ROLES.filter((r) => r !== 'backups' || config.backup.intervalMs > 0);
}

export function createHubCluster(config: HubConfig, d: { store: Store; clock: Clock; logger: Logger }): HubCluster {
  const hubId = hubIdFor(config.dataDir, config.hubId);
  const log = d.logger.child({ component: 'cluster', hubId });
  const leadership =
    config.datastore.kind === 'postgres'
      ? leaseLeadership({ store: d.store, hubId, clock: d.clock, logger: log, roles: rolesTaken(config) })
      : alwaysLeader();
  let membership: Membership | undefined;
  let stopRelay = (): void => undefined;
  let feed: (EventFeed & { stop(): void }) | undefined;
  let shedder: CutoffShedder | undefined;
  return {
    hubId,
    leadership,
    fenced: (role) => fencedStore(d.store, leadership, role),
    leads: (role) => () => leadership.leads(role),
    async start(local, singletons) {
      const self = {
        id: hubId,
        publicUrl: config.publicUrl,
        apiUrl: local.apiUrl,
        gatewayUrl: local.gatewayUrl,
        startedAt: new Date(d.clock.now()).toISOString(),
      };
      const agents = (): number => local.registry.connectedCount();
      membership = createMembership({
        store: d.store,
        self,
        agents,
        logger: log,
        forgetAfterMs: config.forgetHubsAfterMs,
      });
      // Several hubs: commands stored through another hub reach the agents connected here.
      // and the event stream carries the events every hub stores.
      if (config.datastore.kind === 'postgres') {
        const changes = d.store.changes();
        const stopCommands = startCommandRelay(local, log, changes);
        feed = createEventFeed({ store: d.store, events: local.events, logger: log, changes });
        // A node removed through another hub while its agent is connected here: told here.
        const stopRemovals = startRemovalWatch({
          feed,
          store: d.store,
          registry: local.registry,
          agentTold: (id) => local.nodeK3s?.agentTold(id, 10_000) ?? Promise.resolve(),
          assign: local.nodeK3s ? (link) => local.nodeK3s!.assign(link) : undefined,
          logger: log,
        });
        stopRelay = () => {
          stopCommands();
          stopRemovals();
        };
        shedder = startCutoffShedder({ membership, probe: readyProbe(local.caPem), logger: log });
      }
      await membership.start();
      leadership.onChange(async (role, leading) => {
        const s = singletons[role];
        if (s) await (leading ? s.start() : s.stop());
      });
      await leadership.start();
      return hubsService(d.store, membership, leadership, {
        freshMs: config.unreachableAfterMs,
        now: () => d.clock.now(),
        events: feed ?? local.events,
        shouldShedAgents: () => shedder?.shouldShed() ?? false,
      });
    },
    async stop() {
      membership?.stop();
      stopRelay();
      feed?.stop();
      shedder?.stop();
      await leadership.stop();
      // Gone at once from every hub's list (a hub that dies shows live: false after 6 s instead).
      if (membership) await d.store.removeHub(hubId).catch(() => undefined);
    },
  };
}
