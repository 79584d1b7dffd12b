// Removing a node (DELETE /v1/nodes/{id}, the installer's uninstall, autoheal's replace): drain it
// while its agent still serves, revoke it, let the agent stop its kubelet, then delete the Kubernetes
// node and its password secret. Records node.removed.
import type { Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { NodeRegistry } from './registry.js';
import type { NodeK3s } from '../k3s/node-k3s.js';

export interface NodeRemovalDeps {
  store: Store;
  events: EventLog;
  registry: NodeRegistry;
  nodeK3s: NodeK3s;
}

/** Revokes the node's certificates, closes its link, deletes it. false when absent. */
export type RemoveNode = (id: string, actor: string) => Promise<boolean>;

export function nodeRemoval({ store, events, registry, nodeK3s }: NodeRemovalDeps): RemoveNode {
  return async (id, actor) => {
    const node = await store.getNode(id);
    if (!node) return false;
    // Drain while the agent still serves; revoke; let the agent stop its kubelet; then delete the
    // Kubernetes node and its password secret (a running kubelet would re-register them).
    await nodeK3s.drainForRemoval(node, actor);
    const removed = await store.deleteNode(id, new Date().toISOString());
    if (!removed) return false;
    const acknowledged = await registry.retire(id, 'this node was removed by an operator', 15_000);
    // An offline agent learns of its removal only when it reconnects (revokedAttempt); until then
    // its kubelet may re-register the node, so the purge is done again after it was told.
    await nodeK3s.purge(node, acknowledged);
    await events.record({
      type: 'node.removed',
      nodeId: id,
      pool: node.pool,
      actor,
      message: `node ${node.name} removed; its certificates are revoked`,
    });
    return true;
  };
}
