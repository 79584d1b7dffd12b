// The apiserver's `lease` endpoint reconciler and bootstrap controller: the `kubernetes` Service in
// default, and its Endpoints and EndpointSlice listing every live server. Each server keeps its own
// master lease (/registry/masterleases/<ip>, TTL 15 s) fresh every 10 s and writes the addresses of
// all leases that exist; a server that dies stops renewing, its lease expires and the next
// reconcile drops it. A server that stops cleanly removes its own lease at once.
import { findType } from '../store/resource-types.js';
import type { ObjectStore } from '../store/object-store.js';
import { StoreConflictError } from '../store/object-store.js';
import { MASTERLEASES } from '../store/kine/kine-keys.js';
import type { ResourceService } from '../api/resource-service.js';
import { ApiError } from '../api/api-error.js';
import type { JsonObject, KubeObject } from '../store/kube-object.js';
import type { Logger } from '../util/log.js';

const SERVICES = findType('', 'v1', 'services');
const ENDPOINTS = findType('', 'v1', 'endpoints');
const SLICES = findType('discovery.k8s.io', 'v1', 'endpointslices');

export interface ReconcilerOptions {
  readonly ip: string;
  readonly port: number;
  readonly serviceIp?: string;
  readonly intervalMs?: number;
  readonly ttlSeconds?: number;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function startEndpointReconciler(
  store: ObjectStore,
  svc: ResourceService,
  log: Logger,
  o: ReconcilerOptions,
): () => void {
  if (!SERVICES || !ENDPOINTS || !SLICES) throw new Error('types missing');
  const [services, endpoints, slices] = [SERVICES, ENDPOINTS, SLICES];
  const ports = [{ name: 'https', port: o.port, protocol: 'TCP' }];
  const ttlSeconds = o.ttlSeconds ?? 15;

  const upsert = (rt: typeof endpoints, name: string, body: JsonObject): void => {
    const current = svc.find(rt, 'default', name);
    const next = {
      ...(current ?? {}),
      ...body,
      metadata: { ...(current?.metadata ?? {}), ...(body.metadata as object) },
    };
    if (current && same({ ...next, metadata: current.metadata }, current)) return;
    if (current) svc.update(rt, 'default', name, { ...next, metadata: { ...next.metadata, resourceVersion: '' } });
    else svc.create(rt, 'default', next);
  };

  const ensureService = (): void => {
    if (svc.find(services, 'default', 'kubernetes')) return;
    const ip = o.serviceIp ?? '10.43.0.1';
    svc.create(services, 'default', {
      metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: {
        type: 'ClusterIP',
        clusterIP: ip,
        clusterIPs: [ip],
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: o.port }],
        sessionAffinity: 'None',
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        internalTrafficPolicy: 'Cluster',
      },
    });
  };

  const renew = (): void => {
    const lease: KubeObject = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: o.ip },
      subsets: [{ addresses: [{ ip: o.ip }], ports }],
    };
    try {
      store.put(MASTERLEASES, lease, { ttlSeconds });
    } catch (e) {
      if (!(e instanceof StoreConflictError)) throw e;
      store.put(MASTERLEASES, lease, { ttlSeconds }); // the cache was stale: once more on the fresh one
    }
  };

  const reconcile = (): void => {
    const ips = store
      .list(MASTERLEASES)
      .map((l) => l.metadata.name)
      .sort();
    upsert(endpoints, 'kubernetes', {
      metadata: { name: 'kubernetes', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
      subsets: ips.length ? [{ addresses: ips.map((ip) => ({ ip })), ports }] : [],
    });
    upsert(slices, 'kubernetes', {
      metadata: { name: 'kubernetes', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
      addressType: 'IPv4',
      endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
      ports,
    });
  };

  const tick = (): void => {
    try {
      ensureService();
      renew();
      reconcile();
    } catch (e) {
      // another server wrote the same object at the same moment: the next round settles it
      if (!(e instanceof ApiError && e.code === 409))
        log.error(`Unable to reconcile the kubernetes service endpoints: ${(e as Error).message}`);
    }
  };
  tick();
  const timer = setInterval(tick, o.intervalMs ?? 10_000);
  return () => {
    clearInterval(timer);
    try {
      store.remove(MASTERLEASES, undefined, o.ip);
      reconcile();
    } catch (e) {
      log.warn(`Unable to remove this server from the kubernetes service endpoints: ${(e as Error).message}`);
    }
  };
}

/** host:port of every apiserver in the `kubernetes` Endpoints (what /v1-k3s/apiservers answers). */
export function apiServerAddresses(svc: ResourceService): string[] {
  if (!ENDPOINTS) return [];
  const ep = svc.find(ENDPOINTS, 'default', 'kubernetes');
  const subsets = Array.isArray(ep?.subsets) ? (ep.subsets as JsonObject[]) : [];
  const out: string[] = [];
  for (const s of subsets) {
    const addrs = Array.isArray(s.addresses) ? (s.addresses as JsonObject[]) : [];
    const port = (Array.isArray(s.ports) ? (s.ports as JsonObject[]) : []).find((p) => p.name === 'https')?.port;
    for (const a of addrs) {
      const ip = String(a.ip ?? '');
      if (ip && port) out.push(ip.includes(':') ? `[${ip}]:${String(port)}` : `${ip}:${String(port)}`);
    }
  }
  return out;
}
