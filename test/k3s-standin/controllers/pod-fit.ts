// kube-scheduler's filters the stand-in plays: NodeUnschedulable, NodeName readiness, TaintToleration,
// NodeSelector and NodeResourcesFit (requests of cpu and memory against status.allocatable minus the
// requests of pods already bound there). A pod that fits nowhere gets the scheduler's message:
// "0/N nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector."
import { field, isObject, type JsonObject, type KubeObject } from '../store/kube-object.js';

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity ("250m", "1.5", "512Mi", "1e3", "2G") in base units; NaN when malformed. */
export function parseQuantity(q: unknown): number {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return NaN;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(q.trim());
  if (!m) return NaN;
  return Number(m[1] + (m[2] ?? '')) * SUFFIX[m[3] ?? ''];
}

export interface Resources {
  /** millicores */
  cpu: number;
  /** bytes */
  memory: number;
}

function fromMap(map: unknown): Resources {
  const r = isObject(map) ? map : {};
  const cpu = parseQuantity(r.cpu);
  const mem = parseQuantity(r.memory);
  return { cpu: Number.isFinite(cpu) ? Math.ceil(cpu * 1000) : 0, memory: Number.isFinite(mem) ? Math.ceil(mem) : 0 };
}

/** A pod's requests: the sum over its containers, or the largest init container's when larger. */
export function podRequests(pod: KubeObject): Resources {
  const list = (k: string): JsonObject[] => {
    const v = field(pod, 'spec', k);
    return Array.isArray(v) ? v.filter(isObject) : [];
  };
  const sum = list('containers')
    .map((c) => fromMap(field(c, 'resources', 'requests')))
    .reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), { cpu: 0, memory: 0 });
  for (const c of list('initContainers')) {
    const r = fromMap(field(c, 'resources', 'requests'));
    sum.cpu = Math.max(sum.cpu, r.cpu);
    sum.memory = Math.max(sum.memory, r.memory);
  }
  return sum;
}

export const allocatable = (node: KubeObject): Resources => fromMap(field(node, 'status', 'allocatable'));

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

/** Why the pod cannot go to the node (the scheduler's wording), or undefined when it fits. */
export function misfit(pod: KubeObject, node: KubeObject, used: Resources): string | undefined {
  const conds = field(node, 'status', 'conditions');
  const ready = Array.isArray(conds) && conds.some((c) => isObject(c) && c.type === 'Ready' && c.status === 'True');
  if (!ready) return 'node(s) had untolerated taint {node.kubernetes.io/not-ready: }';
  if (field(node, 'spec', 'unschedulable') === true) return 'node(s) were unschedulable';
  const taints = field(node, 'spec', 'taints');
  const bad = Array.isArray(taints) ? taints.find((t) => isObject(t) && !tolerates(pod, t)) : undefined;
  if (isObject(bad)) return `node(s) had untolerated taint {${String(bad.key)}: ${String(bad.value ?? '')}}`;
  const sel = field(pod, 'spec', 'nodeSelector');
  const labels = node.metadata.labels ?? {};
  if (isObject(sel) && !Object.entries(sel).every(([k, v]) => labels[k] === v))
    return "node(s) didn't match Pod's node affinity/selector";
  const want = podRequests(pod);
  const have = allocatable(node);
  if (want.cpu > 0 && used.cpu + want.cpu > have.cpu) return 'Insufficient cpu';
  if (want.memory > 0 && used.memory + want.memory > have.memory) return 'Insufficient memory';
  return undefined;
}

/** "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) were unschedulable." (reasons sorted). */
export function unschedulableMessage(total: number, reasons: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${total} nodes are available${parts.length ? `: ${parts.join(', ')}` : ''}.`;
}
