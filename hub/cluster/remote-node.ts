// Several hubs: what the upgrades leader knows of a node whose agent is connected to another hub. Its
// link is elsewhere, so its k3s state is what it last reported there (stored with its health), while
// that hub is live and the report is fresh (hubs-service.ts heldElsewhere); otherwise it is connected nowhere.
import type { Store } from '../store/types.js';
import type { HubsService } from './hubs-service.js';

export function remoteNodeView(
  store: Pick<Store, 'getNode'>,
  hubs: () => Pick<HubsService, 'heldElsewhere'> | undefined,
): (nodeId: string) => Promise<{ k3sState: string } | undefined> {
  return async (nodeId) => {
    if (!(await hubs()?.heldElsewhere(nodeId))) return undefined;
    const state = (await store.getNode(nodeId))?.health?.k3s.state;
    return state === undefined ? undefined : { k3sState: state };
  };
}
