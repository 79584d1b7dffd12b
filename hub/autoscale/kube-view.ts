// The autoscaler's view of the cluster out of the Kubernetes API objects (shapes.ts types).
import type * as k8s from '@kubernetes/client-node';
import { resourcesOf, type Resources } from './quantity.js';
import type { PdbView } from './scale-down.js';
import type { NodeView, PodView, Taint } from './shapes.js';

export interface ClusterView {
  nodes: NodeView[];
  pods: PodView[];
  pdbs: PdbView[];
}

function podRequests(spec: k8s.V1PodSpec | undefined): Resources {
  const sum = (spec?.containers ?? [])
    .map((c) => resourcesOf(c.resources?.requests))
    .reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory }), { cpu: 0, memory: 0 });
  for (const c of spec?.initContainers ?? []) {
    const r = resourcesOf(c.resources?.requests);
    sum.cpu = Math.max(sum.cpu, r.cpu);
    sum.memory = Math.max(sum.memory, r.memory);
  }
  return sum;
}

export function podView(p: k8s.V1Pod): PodView {
  const scheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const controller = (p.metadata?.ownerReferences ?? []).find((o) => o.controller) ?? p.metadata?.ownerReferences?.[0];
  const phase = p.status?.phase;
  return {
    id: `${p.metadata?.namespace}/${p.metadata?.name}`,
    namespace: p.metadata?.namespace ?? 'default',
    node: p.spec?.nodeName || null,
    labels: p.metadata?.labels ?? {},
    requests: podRequests(p.spec),
    nodeSelector: p.spec?.nodeSelector ?? {},
    tolerations: (p.spec?.tolerations ?? []).map((t) => ({
      key: t.key,
      operator: t.operator,
      value: t.value,
      effect: t.effect,
    })),
    controller: controller?.kind ?? null,
    emptyDir: (p.spec?.volumes ?? []).some((v) => Boolean(v.emptyDir)),
    mirror: Boolean(p.metadata?.annotations?.['kubernetes.io/config.mirror']),
    finished: phase === 'Succeeded' || phase === 'Failed',
    unschedulable: scheduled?.status === 'False' && scheduled.reason === 'Unschedulable',
  };
}

export function nodeView(n: k8s.V1Node): NodeView {
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    name: n.metadata?.name ?? '',
    ready: ready?.status === 'True',
    unschedulable: Boolean(n.spec?.unschedulable),
    labels: n.metadata?.labels ?? {},
    taints: (n.spec?.taints ?? []).map((t): Taint => ({ key: t.key, value: t.value, effect: t.effect })),
    allocatable: resourcesOf(n.status?.allocatable),
  };
}

export function pdbView(b: k8s.V1PodDisruptionBudget): PdbView {
  return {
    namespace: b.metadata?.namespace ?? 'default',
    selector: b.spec?.selector?.matchLabels ?? {},
    disruptionsAllowed: b.status?.disruptionsAllowed ?? 0,
  };
}

export function clusterView(raw: {
  nodes: k8s.V1Node[];
  pods: k8s.V1Pod[];
  pdbs: k8s.V1PodDisruptionBudget[];
}): ClusterView {
  return { nodes: raw.nodes.map(nodeView), pods: raw.pods.map(podView), pdbs: raw.pdbs.map(pdbView) };
}
