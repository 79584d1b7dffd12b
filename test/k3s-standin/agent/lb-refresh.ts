// Keeps the agent's load balancer in step with the cluster: first the supervisor's
// /v1-k3s/apiservers, then the `kubernetes` Endpoints read every few seconds through whichever
// server is in use, so servers that joined are added and servers that left are dropped.
import type { Logger } from '../util/log.js';
import type { KubeClient } from '../util/kube-client.js';
import { sleep } from '../util/abortable-sleep.js';
import { isObject } from '../store/kube-object.js';
import { infoGet, type ClusterInfo } from './cluster-access.js';
import type { LoadBalancer } from './load-balancer.js';

const hostPort = (ip: string, port: unknown): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** host:port of each address in the Endpoints' subsets, on their `https` port. */
export function endpointAddresses(ep: unknown): string[] {
  const subsets = isObject(ep) && Array.isArray(ep.subsets) ? ep.subsets.filter(isObject) : [];
  const out: string[] = [];
  for (const s of subsets) {
    const ports = Array.isArray(s.ports) ? s.ports.filter(isObject) : [];
    const port = (ports.find((p) => p.name === 'https') ?? ports[0])?.port;
    if (port === undefined) continue;
    for (const a of Array.isArray(s.addresses) ? s.addresses.filter(isObject) : [])
      if (typeof a.ip === 'string' && a.ip) out.push(hostPort(a.ip, port));
  }
  return out;
}

export async function refreshLoadBalancer(
  lb: LoadBalancer,
  info: ClusterInfo,
  client: KubeClient,
  log: Logger,
  intervalMs: number,
  signal: AbortSignal,
): Promise<void> {
  try {
    const res = await infoGet(info, '/v1-k3s/apiservers');
    if (res.status === 200) {
      const list = JSON.parse(res.body.toString('utf8')) as unknown;
      if (Array.isArray(list)) lb.setAddresses(list.filter((a): a is string => typeof a === 'string'));
    }
  } catch (e) {
    log.debug(`Failed to get apiserver addresses from the supervisor: ${(e as Error).message}`);
  }
  while (!signal.aborted) {
    try {
      const ep = await client.request(
        'GET',
        '/api/v1/namespaces/default/endpoints/kubernetes',
        undefined,
        'application/json',
        signal,
      );
      lb.setAddresses(endpointAddresses(ep));
    } catch (e) {
      if (!signal.aborted) log.debug(`Failed to read the kubernetes endpoints: ${(e as Error).message}`);
    }
    await sleep(intervalMs, signal);
  }
}
