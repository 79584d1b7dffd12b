// The kubelet part of `k3s agent`: register the Node (labels and taints only at registration), then
// post its conditions every heartbeat. Like a real kubelet it does not re-create a Node deleted
// while it runs (kubernetes#71398); a restart registers it again.
import type { Logger } from '../util/log.js';
import { KubeClient, KubeStatusError } from '../util/kube-client.js';
import { kubeletConditions, buildNode, type NodeParams } from './node-object.js';
import { sleep } from '../util/abortable-sleep.js';
import { field, isObject } from '../store/kube-object.js';

export interface KubeletOptions {
  readonly client: KubeClient;
  readonly node: NodeParams;
  readonly heartbeatMs: number;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly onRegistered: () => void;
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

async function register(o: KubeletOptions): Promise<void> {
  const name = o.node.name;
  let backoff = 100;
  while (!o.signal.aborted) {
    o.log.klog('I', 'kubelet_node_status.go:75', 'Attempting to register node', { node: name });
    try {
      await o.client.request('POST', '/api/v1/nodes', buildNode(o.node, new Date()), 'application/json', o.signal);
      o.log.klog('I', 'kubelet_node_status.go:78', 'Successfully registered node', { node: name });
      return;
    } catch (e) {
      if (e instanceof KubeStatusError && e.code === 409) {
        await o.client.request('GET', `/api/v1/nodes/${name}`, undefined, 'application/json', o.signal);
        o.log.klog('I', 'kubelet_node_status.go:111', 'Node was previously registered', { node: name });
        return;
      }
      o.log.klog('E', 'kubelet_node_status.go:97', 'Unable to register node with API server', {
        err: errText(e),
        node: name,
      });
    }
    await sleep(backoff, o.signal);
    backoff = Math.min(backoff * 2, 7000);
  }
}

async function postStatus(o: KubeletOptions): Promise<void> {
  const name = o.node.name;
  let node: unknown;
  try {
    node = await o.client.request('GET', `/api/v1/nodes/${name}`, undefined, 'application/json', o.signal);
  } catch (e) {
    throw new Error(`error getting node "${name}": ${errText(e)}`);
  }
  const conds = field(node, 'status', 'conditions');
  const ready = Array.isArray(conds) ? conds.find((c) => isObject(c) && c.type === 'Ready') : undefined;
  const now = new Date();
  const since =
    isObject(ready) && ready.status === 'True' && typeof ready.lastTransitionTime === 'string'
      ? new Date(ready.lastTransitionTime)
      : now;
  // Like the kubelet, every status update carries nodeInfo: a restarted (upgraded) kubelet shows its version.
  const nodeInfo = field(buildNode(o.node, now), 'status', 'nodeInfo');
  await o.client.request(
    'PATCH',
    `/api/v1/nodes/${name}/status`,
    { status: { conditions: kubeletConditions(now, since), nodeInfo } },
    'application/strategic-merge-patch+json',
    o.signal,
  );
}

export async function runKubelet(o: KubeletOptions): Promise<void> {
  await register(o);
  if (o.signal.aborted) return;
  o.onRegistered();
  while (!o.signal.aborted) {
    try {
      await postStatus(o);
    } catch (e) {
      if (!o.signal.aborted)
        o.log.klog('E', 'kubelet_node_status.go:535', 'Error updating node status, will retry', { err: errText(e) });
    }
    await sleep(o.heartbeatMs, o.signal);
  }
}
