// A minimal scheduler plus the kubelet side of running a pod: unbound pods go to a Ready, schedulable
// node whose taints they tolerate, whose labels match their nodeSelector and whose allocatable cpu and
// memory still hold their requests (pod-fit.ts); bound pods run there. A pod that fits nowhere gets
// PodScheduled=False, reason Unschedulable, and is tried again at the next change of pods or nodes.
import type { ObjectStore, StoreEvent } from '../store/object-store.js';
import { field, isObject, type KubeObject } from '../store/kube-object.js';
import { kubeTime } from '../util/go-time.js';
import { misfit, podRequests, unschedulableMessage, type Resources } from './pod-fit.js';
import { findType } from '../store/resource-types.js';
import type { ResourceService } from '../api/resource-service.js';
import { runningPodStatus } from '../api/create-defaults.js';

const PODS = findType('', 'v1', 'pods');
const NODES = findType('', 'v1', 'nodes');

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
    // Requests of the pods bound to each node that have not finished (the scheduler's NodeInfo).
    const usage = new Map<string, Resources>();
    const counts = new Map<string, number>();
    for (const p of allPods) {
      const on = field(p, 'spec', 'nodeName');
      const ph = field(p, 'status', 'phase');
      if (typeof on !== 'string' || on === '' || ph === 'Succeeded' || ph === 'Failed') continue;
      const r = podRequests(p);
      const u = usage.get(on) ?? { cpu: 0, memory: 0 };
      usage.set(on, { cpu: u.cpu + r.cpu, memory: u.memory + r.memory });
      counts.set(on, (counts.get(on) ?? 0) + 1);
    }
    const usedOn = (name: string): Resources => {
      const u = usage.get(name) ?? { cpu: 0, memory: 0 };
      usage.set(name, u);
      return u;
    };
    const load = (n: KubeObject): number => counts.get(n.metadata.name) ?? 0;
    const markUnschedulable = (pod: KubeObject, message: string): void => {
      const conds = field(pod, 'status', 'conditions');
      const cur = Array.isArray(conds) ? conds.find((c) => isObject(c) && c.type === 'PodScheduled') : undefined;
      if (isObject(cur) && cur.status === 'False' && cur.message === message) return;
      svc.mutate(
        pods,
        pod.metadata.namespace,
        pod.metadata.name,
        (o) => {
          const st = isObject(o.status) ? o.status : {};
          const others = Array.isArray(st.conditions)
            ? st.conditions.filter((c) => !(isObject(c) && c.type === 'PodScheduled'))
            : [];
          const scheduled = {
            type: 'PodScheduled',
            status: 'False',
            lastProbeTime: null,
            lastTransitionTime: kubeTime(new Date()),
            reason: 'Unschedulable',
            message,
          };
          o.status = { ...st, phase: 'Pending', conditions: [...others, scheduled] };
        },
        { subresource: 'status' },
      );
    };
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
      const results = allNodes.map((n) => ({ node: n, why: misfit(pod, n, usedOn(n.metadata.name)) }));
      const target = results
        .filter((r) => r.why === undefined)
        .map((r) => r.node)
        .sort((a, b) => load(a) - load(b) || a.metadata.name.localeCompare(b.metadata.name))[0];
      if (!target) {
        markUnschedulable(
          pod,
          unschedulableMessage(
            allNodes.length,
            results.map((r) => r.why ?? ''),
          ),
        );
        continue;
      }
      const want = podRequests(pod);
      const used = usedOn(target.metadata.name);
      used.cpu += want.cpu;
      used.memory += want.memory;
      counts.set(target.metadata.name, load(target) + 1);
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
