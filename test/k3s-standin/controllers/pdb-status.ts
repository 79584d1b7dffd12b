// Keeps PodDisruptionBudget status up to date (the disruption controller), so clients that read it
// see what the Eviction API decides on.
import type { ObjectStore, StoreEvent } from '../store/object-store.js';
import { field, type KubeObject } from '../store/kube-object.js';
import { findType } from '../store/resource-types.js';
import type { ResourceService } from '../api/resource-service.js';
import { computePdbStatus } from './pdb-math.js';
import { kubeTime } from '../util/go-time.js';

const PODS = findType('', 'v1', 'pods');
const PDBS = findType('policy', 'v1', 'poddisruptionbudgets');

function desired(pdb: KubeObject, pods: readonly KubeObject[], now: Date): Record<string, unknown> {
  const st = computePdbStatus(pdb, pods);
  const gen = pdb.metadata.generation ?? 1;
  const allowed = st.disruptionsAllowed > 0;
  const prev = (
    field(pdb, 'status', 'conditions') as { status?: string; lastTransitionTime?: string }[] | undefined
  )?.[0];
  const status = allowed ? 'True' : 'False';
  return {
    observedGeneration: gen,
    disruptionsAllowed: st.disruptionsAllowed,
    currentHealthy: st.currentHealthy,
    desiredHealthy: st.desiredHealthy,
    expectedPods: st.expectedPods,
    conditions: [
      {
        type: 'DisruptionAllowed',
        status,
        observedGeneration: gen,
        message: '',
        reason: allowed ? 'SufficientPods' : 'InsufficientPods',
        lastTransitionTime:
          prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : kubeTime(now),
      },
    ],
  };
}

export function startPdbStatus(store: ObjectStore, svc: ResourceService): () => void {
  if (!PODS || !PDBS) throw new Error('types missing');
  const pods = PODS;
  const pdbs = PDBS;
  const pending = new Set<string>();
  const sync = (ns: string): void => {
    const podList = svc.list(pods, ns);
    for (const pdb of svc.list(pdbs, ns)) {
      const next = desired(pdb, podList, new Date());
      if (JSON.stringify(next) === JSON.stringify(pdb.status)) continue;
      svc.mutate(
        pdbs,
        ns,
        pdb.metadata.name,
        (o) => {
          o.status = next;
        },
        { subresource: 'status' },
      );
    }
  };
  const onEvent = (e: StoreEvent): void => {
    if (e.resource !== 'pods' && e.resource !== 'poddisruptionbudgets.policy') return;
    const ns = e.object.metadata.namespace ?? 'default';
    if (pending.has(ns)) return;
    pending.add(ns);
    setImmediate(() => {
      pending.delete(ns);
      sync(ns);
    });
  };
  return store.subscribe(onEvent);
}
