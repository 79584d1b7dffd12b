// Several hubs: a node removed, or given a new k3s version, through another hub while its agent is
// connected here. That hub holds no link to tell, so this one listens to every hub's events through
// the event feed (event-feed.ts: others' events by cursor, heard of at once on PostgreSQL). For an
// agent connected here whose node is gone from the store (the removal is committed), it closes the
// link with NODE_REMOVED: the agent stops k3s and forgets its identity; nothing else sends it
// NODE_REMOVED. A new version: it sends the assignment. When the feed says events may have been missed,
// every agent connected here is checked against the store.
import type { Logger } from '../logger.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { Store } from '../store/types.js';
import { logFailure } from '../../certs/log-failure.js';
import { K3S_ASSIGNED, type NodeK3s } from '../k3s/node-k3s.js';
import type { EventFeed } from './event-feed.js';

const RETIRE_WAIT_MS = 15_000;

export interface RemovalWatchDeps {
  feed: Pick<EventFeed, 'subscribe'>;
  store: Pick<Store, 'getNode' | 'listNodes'>;
  registry: Pick<NodeRegistry, 'link' | 'links' | 'retire'>;
  /** The agent said it stopped (the removing hub's pending purge of its Kubernetes node may run). */
  agentTold?: (nodeId: string) => Promise<void>;
  /** Sends a connected agent its k3s assignment as stored. */
  assign?: NodeK3s['assign'];
  logger: Logger;
}

/** Starts the watch; returns its stop. */
export function startRemovalWatch(d: RemovalWatchDeps): () => void {
  const tell = async (nodeId: string): Promise<void> => {
    if (await d.store.getNode(nodeId)) return; // not committed as removed: never told
    d.logger.info({ nodeId }, 'node removed through another hub: telling its agent connected here');
    const stopped = await d.registry.retire(nodeId, 'this node was removed through another hub', RETIRE_WAIT_MS);
    if (stopped) await d.agentTold?.(nodeId);
  };
  const assign = (link: Parameters<NonNullable<RemovalWatchDeps['assign']>>[0]): void => {
    if (d.assign) void d.assign(link).catch(logFailure(d.logger, 'sending a k3s assignment made through another hub'));
  };
  // Events of other hubs may have been skipped (the store could not be read for a while): every agent
  // connected here is checked against the store, and sent its assignment as stored (a repeat is a no-op).
  const resync = async (): Promise<void> => {
    const stored = new Set((await d.store.listNodes()).map((n) => n.id));
    for (const link of d.registry.links()) {
      if (!stored.has(link.nodeId))
        void tell(link.nodeId).catch(logFailure(d.logger, 'telling an agent its node was removed'));
      else assign(link);
    }
  };
  return d.feed.subscribe(
    (e) => {
      if (!e.nodeId || (e.type !== 'node.removed' && e.type !== K3S_ASSIGNED)) return;
      const link = d.registry.link(e.nodeId);
      if (!link) return;
      if (e.type === K3S_ASSIGNED) return assign(link);
      void tell(e.nodeId).catch(logFailure(d.logger, 'telling an agent its node was removed'));
    },
    () => void resync().catch(logFailure(d.logger, 'checking the agents connected here after missed events')),
  );
}
