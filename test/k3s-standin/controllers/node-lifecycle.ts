// The node lifecycle controller's visible effects: a node whose kubelet stops posting status for the
// grace period gets Ready=Unknown (NodeStatusUnknown) and the unreachable taints, removed again
// once it is Ready. Also hands out pod CIDRs (the node IPAM controller).
import type { ObjectStore, StoreEvent } from '../store/object-store.js';
import { field, isObject, type JsonObject, type KubeObject } from '../store/kube-object.js';
import { findType } from '../store/resource-types.js';
import type { ResourceService } from '../api/resource-service.js';
import type { Logger } from '../util/log.js';
import { kubeTime } from '../util/go-time.js';

const NODES = findType('', 'v1', 'nodes');
const UNREACHABLE = 'node.kubernetes.io/unreachable';
const UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
const CONDITION_TYPES = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'];

function readyOf(o: KubeObject | undefined): JsonObject | undefined {
  const conds = field(o, 'status', 'conditions');
  const r = Array.isArray(conds) ? conds.find((c) => isObject(c) && c.type === 'Ready') : undefined;
  return isObject(r) ? r : undefined;
}

export interface LifecycleOptions {
  readonly graceMs: number;
  readonly now?: () => Date;
}

export function startNodeLifecycle(
  store: ObjectStore,
  svc: ResourceService,
  log: Logger,
  opts: LifecycleOptions,
): () => void {
  if (!NODES) throw new Error('nodes type missing');
  const nodes = NODES;
  const now = opts.now ?? (() => new Date());
  const lastSeen = new Map<string, number>();
  for (const n of svc.list(nodes)) lastSeen.set(n.metadata.name, now().getTime());

  const assignCidr = (name: string): void => {
    const node = svc.find(nodes, undefined, name);
    if (!node || field(node, 'spec', 'podCIDR')) return;
    const used = new Set(svc.list(nodes).map((n) => String(field(n, 'spec', 'podCIDR') ?? '')));
    let i = 0;
    while (used.has(`10.42.${i}.0/24`)) i++;
    svc.mutate(nodes, undefined, name, (o) => {
      const spec = isObject(o.spec) ? o.spec : {};
      o.spec = { ...spec, podCIDR: `10.42.${i}.0/24`, podCIDRs: [`10.42.${i}.0/24`] };
    });
  };

  /** TaintNodesByCondition: a cordoned node carries node.kubernetes.io/unschedulable:NoSchedule. */
  const syncUnschedulableTaint = (name: string): void => {
    const node = svc.find(nodes, undefined, name);
    if (!node) return;
    const want = field(node, 'spec', 'unschedulable') === true;
    const taints = Array.isArray(field(node, 'spec', 'taints')) ? (field(node, 'spec', 'taints') as JsonObject[]) : [];
    const has = taints.some((x) => x.key === UNSCHEDULABLE);
    if (want === has) return;
    svc.mutate(nodes, undefined, name, (o) => {
      const spec = isObject(o.spec) ? o.spec : {};
      const rest = taints.filter((x) => x.key !== UNSCHEDULABLE);
      const next = want ? [...rest, { key: UNSCHEDULABLE, effect: 'NoSchedule', timeAdded: kubeTime(now()) }] : rest;
      if (next.length > 0) spec.taints = next;
      else delete spec.taints;
      o.spec = spec;
    });
  };

  const onEvent = (e: StoreEvent): void => {
    if (e.resource !== 'nodes') return;
    const name = e.object.metadata.name;
    if (e.type === 'DELETED') {
      lastSeen.delete(name);
      return;
    }
    const hb = readyOf(e.object)?.lastHeartbeatTime;
    if (e.type === 'ADDED' || hb !== readyOf(e.previous)?.lastHeartbeatTime) lastSeen.set(name, now().getTime());
    if (!field(e.object, 'spec', 'podCIDR')) setImmediate(() => assignCidr(name));
    const cordoned = field(e.object, 'spec', 'unschedulable') === true;
    const tainted = (
      Array.isArray(field(e.object, 'spec', 'taints')) ? (field(e.object, 'spec', 'taints') as JsonObject[]) : []
    ).some((x) => x.key === UNSCHEDULABLE);
    if (cordoned !== tainted) setImmediate(() => syncUnschedulableTaint(name));
  };
  const unsubscribe = store.subscribe(onEvent);

  const check = (): void => {
    const t = now();
    for (const node of svc.list(nodes)) {
      const name = node.metadata.name;
      const seen = lastSeen.get(name) ?? t.getTime();
      if (!lastSeen.has(name)) lastSeen.set(name, seen);
      const ready = readyOf(node);
      const taints = Array.isArray(field(node, 'spec', 'taints'))
        ? (field(node, 'spec', 'taints') as JsonObject[])
        : [];
      const hasUnreachable = taints.some((x) => x.key === UNREACHABLE);
      if (t.getTime() - seen > opts.graceMs && ready?.status !== 'Unknown') {
        log.info(
          `Node ${name} hasn't been updated for ${Math.round((t.getTime() - seen) / 1000)}s; marking it NotReady (NodeStatusUnknown)`,
        );
        svc.mutate(
          nodes,
          undefined,
          name,
          (o) => {
            const conds = (field(o, 'status', 'conditions') as JsonObject[] | undefined) ?? [];
            for (const type of CONDITION_TYPES) {
              const c = conds.find((x) => x.type === type);
              const updated = {
                type,
                status: 'Unknown',
                lastHeartbeatTime: c?.lastHeartbeatTime ?? kubeTime(t),
                lastTransitionTime: kubeTime(t),
                reason: 'NodeStatusUnknown',
                message: 'Kubelet stopped posting node status.',
              };
              if (c) Object.assign(c, updated);
              else conds.push(updated);
            }
            (o.status as JsonObject).conditions = conds;
          },
          { subresource: 'status' },
        );
        svc.mutate(nodes, undefined, name, (o) => {
          const spec = isObject(o.spec) ? o.spec : {};
          const cur = Array.isArray(spec.taints)
            ? (spec.taints as JsonObject[]).filter((x) => x.key !== UNREACHABLE)
            : [];
          o.spec = {
            ...spec,
            taints: [
              ...cur,
              { key: UNREACHABLE, effect: 'NoSchedule', timeAdded: kubeTime(t) },
              { key: UNREACHABLE, effect: 'NoExecute', timeAdded: kubeTime(t) },
            ],
          };
        });
      } else if (ready?.status === 'True' && hasUnreachable) {
        svc.mutate(nodes, undefined, name, (o) => {
          const spec = o.spec as JsonObject;
          const rest = (spec.taints as JsonObject[]).filter((x) => x.key !== UNREACHABLE);
          if (rest.length > 0) spec.taints = rest;
          else delete spec.taints;
        });
      }
    }
  };
  const timer = setInterval(
    () => {
      try {
        check();
      } catch (e) {
        log.error(`node lifecycle: ${(e as Error).message}`);
      }
    },
    Math.max(100, Math.min(1000, Math.floor(opts.graceMs / 4))),
  );
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
}
