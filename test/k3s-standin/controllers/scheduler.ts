// A minimal scheduler plus the kubelet side of running a pod: unbound pods go to a Ready, schedulable
// node whose taints they tolerate and whose labels match their nodeSelector; bound pods run there.
import type { ObjectStore, StoreEvent } from '../store/object-store.js';
import { field, isObject, type JsonObject, type KubeObject } from '../store/kube-object.js';
import { findType } from '../store/resource-types.js';
import type { ResourceService } from '../api/resource-service.js';
import { runningPodStatus } from '../api/create-defaults.js';

const PODS = findType('', 'v1', 'pods');
const NODES = findType('', 'v1', 'nodes');

function tolerates(pod: KubeObject, taint: JsonObject): boolean {
  if (taint.effect === 'PreferNoSchedule') return true;
  const tols = field(pod, 'spec', 'tolerations');
  return (
    Array.isArray(tols) &&
    tols.some((t) => {
      if (!isObject(t)) return false;
      if (t.effect && t.effect !== taint.effect) return false;
      if (t.operator === 'Exists') return !t.key || t.key === taint.key;
      return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
    })
  );
}

function fits(pod: KubeObject, node: KubeObject): boolean {
  const conds = field(node, 'status', 'conditions');
  const ready = Array.isArray(conds) && conds.some((c) => isObject(c) && c.type === 'Ready' && c.status === 'True');
  if (!ready || field(node, 'spec', 'unschedulable') === true) return false;
  const taints = field(node, 'spec', 'taints');
  if (Array.isArray(taints) && !taints.every((t) => isObject(t) && tolerates(pod, t))) return false;
  const sel = field(pod, 'spec', 'nodeSelector');
  const labels = node.metadata.labels ?? {};
  return !isObject(sel) || Object.entries(sel).every(([k, v]) => labels[k] === v);
}

function internalIp(node: KubeObject | undefined): string {
  const addrs = field(node, 'status', 'addresses');
  const a = Array.isArray(addrs) ? addrs.find((x) => isObject(x) && x.type === 'InternalIP') : undefined;
  return isObject(a) ? String(a.address) : '';
}

function podCidrOf(node: KubeObject): string | undefined {
  const c = field(node, 'spec', 'podCIDR');
  return typeof c === 'string' ? c : undefined;
}

export function startScheduler(store: ObjectStore, svc: ResourceService): () => void {
  if (!PODS || !NODES) throw new Error('types missing');
  const pods = PODS;
  const nodes = NODES;
  let queued = false;
  const pass = (): void => {
    queued = false;
    const allNodes = svc.list(nodes);
    const allPods = svc.list(pods);
    for (const pod of allPods) {
      const ns = pod.metadata.namespace;
      const nodeName = field(pod, 'spec', 'nodeName');
      const phase = field(pod, 'status', 'phase');
      if (typeof nodeName === 'string' && nodeName !== '') {
        const node = allNodes.find((n) => n.metadata.name === nodeName);
        if (node && phase === 'Pending') {
          svc.mutate(
            pods,
            ns,
            pod.metadata.name,
            (o) => {
              o.status = runningPodStatus(o, internalIp(node), new Date(), podCidrOf(node));
            },
            { subresource: 'status' },
          );
        }
        continue;
      }
      if (phase !== 'Pending') continue;
      const load = (n: KubeObject): number =>
        allPods.filter((p) => field(p, 'spec', 'nodeName') === n.metadata.name).length;
      const target = allNodes
        .filter((n) => fits(pod, n))
        .sort((a, b) => load(a) - load(b) || a.metadata.name.localeCompare(b.metadata.name))[0];
      if (!target) continue;
      svc.mutate(pods, ns, pod.metadata.name, (o) => {
        o.spec = { ...(isObject(o.spec) ? o.spec : {}), nodeName: target.metadata.name };
      });
      svc.mutate(
        pods,
        ns,
        pod.metadata.name,
        (o) => {
          o.status = runningPodStatus(o, internalIp(target), new Date(), podCidrOf(target));
        },
        { subresource: 'status' },
      );
    }
  };
  const onEvent = (e: StoreEvent): void => {
    if ((e.resource !== 'pods' && e.resource !== 'nodes') || queued) return;
    queued = true;
    setImmediate(pass);
  };
  return store.subscribe(onEvent);
}
