// Several hubs on one store: a command stored through a hub that does not hold the node's link (the
// API there has no agent to send it to) is picked up here, by the hub whose agent link it is. When
// another hub's command is heard of (store/pg-changes.ts), and every RELAY_SLOW_MS anyway (every
// RELAY_INTERVAL_MS while no notifications flow), this hub reads the pending commands no hub has sent
// yet and sends those of its connected agents; the result is stored, and the waiter on the other hub
// reads it from the store.
import type { Logger } from '../logger.js';
import type { CommandService } from '../nodes/commands.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { EventLog } from '../events.js';
import type { StoreChanges } from '../store/cluster-types.js';
import type { NodeK3s } from '../k3s/node-k3s.js';
import { logFailure } from '../../certs/log-failure.js';
import { pacedLoop } from './paced-loop.js';

export const RELAY_INTERVAL_MS = 250;
export const RELAY_SLOW_MS = 2000;

/** What the cluster part needs of this hub's own parts. */
export interface HubLocal {
  registry: Pick<NodeRegistry, 'connectedCount' | 'links' | 'link' | 'retire'>;
  commands: Pick<CommandService, 'pickUp'>;
  events: Pick<EventLog, 'subscribe' | 'subscriberCount'>;
  /** Removal and k3s assignments made through another hub (removal-watch.ts). */
  nodeK3s?: Pick<NodeK3s, 'agentTold' | 'assign'>;
}

/** Starts the relay; returns its stop. */
export function startCommandRelay(local: HubLocal, logger: Logger, changes: StoreChanges): () => void {
  const loop = pacedLoop({
    run: async () => {
      await local.commands.pickUp(local.registry.links().map((l) => l.nodeId));
    },
    onError: logFailure(logger, 'picking up commands stored through another hub'),
    fastMs: RELAY_INTERVAL_MS,
    slowMs: RELAY_SLOW_MS,
    changes,
    topics: ['commands'],
  });
  return () => loop.stop();
}
