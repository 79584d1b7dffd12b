// POST pods/<name>/eviction (k8s registry/core/pod/storage/eviction.go): deletes the pod unless a
// PodDisruptionBudget forbids it, with the apiserver's status codes and messages.
import { field, isObject, type KubeObject } from '../store/kube-object.js';
import { findType } from '../store/resource-types.js';
import type { ResourceService } from './resource-service.js';
import { ApiError, errors, statusBody, successStatus, type StatusBody } from './api-error.js';
import { labelSelectorMatcher } from './selectors.js';
import { computePdbStatus } from '../controllers/pdb-math.js';

const PODS = findType('', 'v1', 'pods');
const PDBS = findType('policy', 'v1', 'poddisruptionbudgets');

function podReady(pod: KubeObject): boolean {
  const conds = field(pod, 'status', 'conditions');
  return Array.isArray(conds) && conds.some((c) => isObject(c) && c.type === 'Ready' && c.status === 'True');
}

function tooManyRequests(cause: string): ApiError {
  return new ApiError(
    statusBody(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
      causes: [{ reason: 'DisruptionBudget', message: cause }],
    }),
  );
}

export function evictPod(svc: ResourceService, ns: string, name: string, body: unknown): StatusBody {
  if (!PODS || !PDBS) throw errors.internal('resource types missing');
  if (
    isObject(body) &&
    isObject(body.metadata) &&
    typeof body.metadata.name === 'string' &&
    body.metadata.name !== name
  ) {
    throw errors.badRequest('name in URL does not match name in Eviction object');
  }
  const pod = svc.get(PODS, ns, name);
  const phase = String(field(pod, 'status', 'phase') ?? '');
  const deleteOptions = isObject(body) ? body.deleteOptions : undefined;
  const ignorePdb =
    phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || pod.metadata.deletionTimestamp !== undefined;
  if (!ignorePdb) {
    const pdbs = svc
      .list(PDBS, ns)
      .filter((p) => labelSelectorMatcher(field(p, 'spec', 'selector'))(pod.metadata.labels));
    if (pdbs.length > 1)
      throw errors.internal(
        'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      );
    const pdb = pdbs[0];
    if (pdb) {
      const st = computePdbStatus(pdb, svc.list(PODS, ns));
      const unhealthyPolicy = String(field(pdb, 'spec', 'unhealthyPodEvictionPolicy') ?? 'IfHealthyBudget');
      const canSkip = !podReady(pod) && (unhealthyPolicy === 'AlwaysAllow' || st.currentHealthy >= st.desiredHealthy);
      if (!canSkip) {
        if (st.disruptionsAllowed < 0) throw errors.forbidden('pdb disruptions allowed is negative');
        if (st.disruptionsAllowed === 0) {
          throw tooManyRequests(
            `The disruption budget ${pdb.metadata.name} needs ${st.desiredHealthy} healthy pods and has ${st.currentHealthy} currently`,
          );
        }
      }
    }
  }
  svc.delete(PODS, ns, name, deleteOptions);
  return successStatus(201);
}
