// What the disruption controller computes for a PodDisruptionBudget from the pods it selects.
import { field, isObject, type KubeObject } from '../store/kube-object.js';
import { labelSelectorMatcher } from '../api/selectors.js';

export interface PdbStatus {
  readonly currentHealthy: number;
  readonly desiredHealthy: number;
  readonly expectedPods: number;
  readonly disruptionsAllowed: number;
}

function scaled(v: unknown, total: number): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(String(v ?? ''));
  return m ? Math.ceil((Number(m[1]) * total) / 100) : Number(v ?? 0);
}

function healthy(pod: KubeObject): boolean {
  const conds = field(pod, 'status', 'conditions');
  return (
    field(pod, 'status', 'phase') === 'Running' &&
    pod.metadata.deletionTimestamp === undefined &&
    Array.isArray(conds) &&
    conds.some((c) => isObject(c) && c.type === 'Ready' && c.status === 'True')
  );
}

export function computePdbStatus(pdb: KubeObject, podsInNamespace: readonly KubeObject[]): PdbStatus {
  const match = labelSelectorMatcher(field(pdb, 'spec', 'selector'));
  const pods = podsInNamespace.filter(
    (p) =>
      match(p.metadata.labels) &&
      field(p, 'status', 'phase') !== 'Succeeded' &&
      field(p, 'status', 'phase') !== 'Failed',
  );
  const expectedPods = pods.length;
  const currentHealthy = pods.filter(healthy).length;
  const minAvailable = field(pdb, 'spec', 'minAvailable');
  const maxUnavailable = field(pdb, 'spec', 'maxUnavailable');
  let desiredHealthy = 0;
  if (minAvailable !== undefined) desiredHealthy = scaled(minAvailable, expectedPods);
  else if (maxUnavailable !== undefined)
    desiredHealthy = Math.max(0, expectedPods - scaled(maxUnavailable, expectedPods));
  return {
    currentHealthy,
    desiredHealthy,
    expectedPods,
    disruptionsAllowed: Math.max(0, currentHealthy - desiredHealthy),
  };
}
