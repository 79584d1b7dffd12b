// Several hubs: a node removed, or given a new k3s version, through another hub while its agent is
// connected here. That hub holds no link to tell, so this one reads the node.removed and
// k3s.version-assigned events every hub stores (by cursor, starting a lookback below the newest seen),
// when another hub's event is heard of (store/pg-changes.ts) and every few seconds besides. For an agent connected here whose node is gone from
// the store (the removal is committed), it closes the link with NODE_REMOVED: the agent stops k3s and
// forgets its identity; nothing else sends it NODE_REMOVED. A new version: it sends the assignment.
import type { Logger } from '../logger.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { Store } from '../store/types.js';
import { logFailure } from '../../certs/log-failure.js';
import { NO_CHANGES, type StoreChanges } from '../store/cluster-types.js';
import { pacedLoop } from './paced-loop.js';
import { K3S_ASSIGNED, type NodeK3s } from '../k3s/node-k3s.js';

export const REMOVAL_WATCH_MS = 1000;
const LOOKBACK = 200;
const PAGE = 1000;
const RETIRE_WAIT_MS = 15_000;

export interface RemovalWatchDeps {
  store: Pick<Store, 'listEvents' | 'getNode'>;
  registry: Pick<NodeRegistry, 'link' | 'retire'>;
  /** The agent said it stopped (the removing hub's pending purge of its Kubernetes node may run). */
  agentTold?: (nodeId: string) => Promise<void>;
  /** Sends a connected agent its k3s assignment as stored. */
  assign?: NodeK3s['assign'];
  logger: Logger;
  intervalMs?: number;
  /** Other hubs' events heard at once (store/pg-changes.ts); polls slowly while they flow. */
  changes?: StoreChanges;
}

/** Starts the watch; returns its stop. */
export function startRemovalWatch(d: RemovalWatchDeps): () => void {
  const seen = new Set<number>();
  let floor: number | undefined;
  let high = 0;
  let busy = false;
  const tell = async (nodeId: string): Promise<void> => {
    d.logger.info({ nodeId }, 'node removed through another hub: telling its agent connected here');
    const stopped = await d.registry.retire(nodeId, 'this node was removed through another hub', RETIRE_WAIT_MS);
    if (stopped) await d.agentTold?.(nodeId);
  };
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      if (floor === undefined) {
        floor = (await d.store.listEvents({ order: 'desc', limit: 1 }))[0]?.id ?? 0;
        high = floor;
        return;
      }
      const since = Math.max(floor, high - LOOKBACK);
      const [removed, assigned] = await Promise.all(
        ['node.removed', K3S_ASSIGNED].map((type) => d.store.listEvents({ since, type, limit: PAGE })),
      );
      for (const e of [...removed, ...assigned].sort((x, y) => x.id - y.id)) {
        if (seen.has(e.id)) continue;
        seen.add(e.id);
        high = Math.max(high, e.id);
        const link = e.nodeId ? d.registry.link(e.nodeId) : undefined;
        if (!e.nodeId || !link) continue;
        if (e.type === K3S_ASSIGNED) {
          if (d.assign)
            void d.assign(link).catch(logFailure(d.logger, 'sending a k3s assignment made through another hub'));
          continue;
        }
        if (await d.store.getNode(e.nodeId)) continue; // not committed as removed: never told
        void tell(e.nodeId).catch(logFailure(d.logger, 'telling an agent its node was removed'));
      }
      for (const id of seen) if (id < high - 2 * LOOKBACK) seen.delete(id);
    } finally {
      busy = false;
    }
  };
  const fastMs = d.intervalMs ?? REMOVAL_WATCH_MS;
  const loop = pacedLoop({
    run: tick,
    onError: logFailure(d.logger, 'looking for nodes removed through another hub'),
    fastMs,
    slowMs: Math.max(fastMs, 5000),
    changes: d.changes ?? NO_CHANGES,
    topics: ['events'],
  });
  loop.wake();
  return () => loop.stop();
}
