// Which atoll node a Kubernetes Node is, when this hub has not tracked it yet: one that joined through
// another hub on the shared store after this hub started. atoll labels every agent's Node with its node
// id (hub/k3s/node-k3s.ts); the stored node must also carry the Node's name, so a label copied onto
// another Node (kubectl) names nothing.
import type { NodeRecord, Store } from '../store/types.js';

export const NODE_ID_LABEL = 'atoll.dev/node-id';

export async function nodeOfKubeView(
  store: Pick<Store, 'getNode'>,
  name: string,
  view: { labels?: Record<string, string> } | undefined,
  track: (n: NodeRecord) => void,
): Promise<string | undefined> {
  const id = view?.labels?.[NODE_ID_LABEL];
  if (!id || id.length > 64) return undefined;
  const node = await store.getNode(id);
  if (!node || node.name !== name) return undefined;
  track(node);
  return node.id;
}
