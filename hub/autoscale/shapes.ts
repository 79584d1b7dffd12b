// What the autoscaler reasons about, taken out of Kubernetes objects: pods with their requests and
// placement constraints, nodes with their allocatable resources, labels and taints, and the node a
// pool would add (its shape). Pure functions; kube-view.ts builds these from the API.
import { addResources, type Resources } from './quantity.js';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

export interface PodView {
  /** namespace/name */
  id: string;
  namespace: string;
  node: string | null;
  labels: Record<string, string>;
  requests: Resources;
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  /** The kind of its controller (ownerReference with controller: true); null for a bare pod. */
  controller: string | null;
  emptyDir: boolean;
  mirror: boolean;
  finished: boolean;
  /** PodScheduled=False with reason Unschedulable. */
  unschedulable: boolean;
}

export interface NodeView {
  name: string;
  ready: boolean;
  unschedulable: boolean;
  labels: Record<string, string>;
  taints: Taint[];
  allocatable: Resources;
}

/** A node a pool would add: what a pod's constraints are checked against. */
export interface NodeShape {
  allocatable: Resources;
  labels: Record<string, string>;
  taints: Taint[];
}

export function tolerates(tolerations: readonly Toleration[], taint: Taint): boolean {
  if (taint.effect === 'PreferNoSchedule') return true;
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

/** Labels and taints allow the pod on a node of this shape (resources aside). */
export function admits(shape: Pick<NodeShape, 'labels' | 'taints'>, pod: PodView): boolean {
  if (!shape.taints.every((t) => tolerates(pod.tolerations, t))) return false;
  return Object.entries(pod.nodeSelector).every(([k, v]) => shape.labels[k] === v);
}

export const fitsIn = (want: Resources, free: Resources): boolean => want.cpu <= free.cpu && want.memory <= free.memory;

/** Requests of the unfinished pods bound to each node. */
export function usageByNode(pods: readonly PodView[]): Map<string, Resources> {
  const out = new Map<string, Resources>();
  for (const p of pods) {
    if (!p.node || p.finished) continue;
    out.set(p.node, addResources(out.get(p.node) ?? { cpu: 0, memory: 0 }, p.requests));
  }
  return out;
}

/** "key=value:Effect" (the pool's taint syntax) as a taint; undefined when malformed. */
export function parseTaint(text: string): Taint | undefined {
  const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(text);
  return m ? { key: m[1], ...(m[2] ? { value: m[2] } : {}), effect: m[3] } : undefined;
}
