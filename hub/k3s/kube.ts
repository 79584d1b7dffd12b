// The hub's Kubernetes client (@kubernetes/client-node 1.x) over the kubeconfig k3s writes: nodes
// (list, watch, cordon, uncordon, delete), drain through the Eviction API, node-password secrets.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../logger.js';
import { logFailure } from '../../certs/log-failure.js';
import { AtollError } from '../../certs/atoll-error.js';

export interface KubeNodeSummary {
  name: string;
  ready: boolean | null;
  readyReason: string;
  kubeletVersion: string;
  unschedulable: boolean;
  taints: string[];
  labels: Record<string, string>;
  /** Problem conditions that are True (MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable, ...). */
  problems: string[];
  readyTransitionAt: string | null;
}

export interface DrainOptions {
  timeoutMs: number;
  ignoreDaemonSets?: boolean;
  deleteEmptyDirData?: boolean;
  /** Delete (not evict) pods that have no controller. Default false. */
  force?: boolean;
  signal?: AbortSignal;
  /** Backoff between 429 retries. */
  retryBaseMs?: number;
}

export interface DrainResult {
  evicted: string[];
  skipped: string[];
}

export type KubeErrorCode = 'DRAIN_TIMEOUT' | 'PDB_CONFLICT' | 'DRAIN_BLOCKED' | 'KUBE_API';

export class KubeError extends AtollError<KubeErrorCode> {
  constructor(code: KubeErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'KubeError';
  }
}

export function summarizeNode(n: k8s.V1Node): KubeNodeSummary {
  const conditions = n.status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === 'Ready');
  return {
    name: n.metadata?.name ?? '',
    ready: ready ? ready.status === 'True' : null,
    readyReason: ready?.reason ?? '',
    kubeletVersion: n.status?.nodeInfo?.kubeletVersion ?? '',
    unschedulable: Boolean(n.spec?.unschedulable),
    taints: (n.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`),
    labels: n.metadata?.labels ?? {},
    problems: conditions.filter((c) => c.type !== 'Ready' && c.status === 'True').map((c) => c.type),
    readyTransitionAt: ready?.lastTransitionTime ? new Date(ready.lastTransitionTime).toISOString() : null,
  };
}

function statusOf(err: unknown): number | undefined {
  return err instanceof k8s.ApiException ? err.code : (err as { code?: number }).code;
}

export class KubeClient {
  private readonly core: k8s.CoreV1Api;
  private readonly kc: k8s.KubeConfig;

  constructor(
    kubeconfigPath: string,
    private readonly logger: Logger,
  ) {
    this.kc = new k8s.KubeConfig();
    this.kc.loadFromFile(kubeconfigPath);
    this.core = this.kc.makeApiClient(k8s.CoreV1Api);
  }

  async listNodes(): Promise<KubeNodeSummary[]> {
    const list = await this.core.listNode();
    return list.items.map(summarizeNode);
  }

  async getNode(name: string): Promise<KubeNodeSummary | undefined> {
    try {
      return summarizeNode(await this.core.readNode({ name }));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Watches nodes; calls back on every change. Returns a stop function. Re-lists on watch end. */
  watchNodes(onChange: (type: 'ADDED' | 'MODIFIED' | 'DELETED', node: KubeNodeSummary) => void): () => void {
    let stopped = false;
    let abort: AbortController | undefined;
    const watch = new k8s.Watch(this.kc);
    const loop = async (): Promise<void> => {
      while (!stopped) {
        try {
          const done = new Promise<void>((resolve) => {
            void watch
              .watch(
                '/api/v1/nodes',
                { allowWatchBookmarks: false },
                (type, obj: k8s.V1Node) => {
                  if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') onChange(type, summarizeNode(obj));
                },
                () => resolve(),
              )
              .then(
                (a) => {
                  abort = a;
                },
                () => resolve(),
              );
          });
          await done;
        } catch (err) {
          this.logger.debug({ err: (err as Error).message }, 'node watch ended');
        }
        if (!stopped) await new Promise((r) => setTimeout(r, 1000));
      }
    };
    loop().catch(logFailure(this.logger, 'the node watch'));
    return () => {
      stopped = true;
      abort?.abort();
    };
  }

  async setUnschedulable(name: string, unschedulable: boolean): Promise<void> {
    await this.core.patchNode(
      { name, body: { spec: { unschedulable: unschedulable || null } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  cordon(name: string): Promise<void> {
    return this.setUnschedulable(name, true);
  }

  uncordon(name: string): Promise<void> {
    return this.setUnschedulable(name, false);
  }

  /** false when it did not exist. */
  async deleteNode(name: string): Promise<boolean> {
    try {
      await this.core.deleteNode({ name });
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  /** k3s keeps a node's password hash here; deleting it lets a re-provisioned host reuse the name. */
  async deleteNodePasswordSecret(name: string): Promise<boolean> {
    try {
      await this.core.deleteNamespacedSecret({ name: `${name}.node-password.k3s`, namespace: 'kube-system' });
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  /** Every node, pod and PodDisruptionBudget, as the API gives them (the autoscaler's view, one list each). */
  async cluster(): Promise<{ nodes: k8s.V1Node[]; pods: k8s.V1Pod[]; pdbs: k8s.V1PodDisruptionBudget[] }> {
    const policy = this.kc.makeApiClient(k8s.PolicyV1Api);
    const [nodes, pods, pdbs] = await Promise.all([
      this.core.listNode(),
      this.core.listPodForAllNamespaces(),
      policy.listPodDisruptionBudgetForAllNamespaces(),
    ]);
    return { nodes: nodes.items, pods: pods.items, pdbs: pdbs.items };
  }

  /**
   * Drain: cordon, then evict every pod on the node through the Eviction API. DaemonSet and mirror
   * pods are skipped; 429 (a PDB forbids it now) is retried with backoff until the timeout; 500 means
   * conflicting PDBs.
   */
  async drain(name: string, opts: DrainOptions): Promise<DrainResult> {
    const deadline = Date.now() + opts.timeoutMs;
    await this.cordon(name);
    const result: DrainResult = { evicted: [], skipped: [] };
    const pods = (await this.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` })).items;
    const targets: k8s.V1Pod[] = [];
    for (const p of pods) {
      const id = `${p.metadata?.namespace}/${p.metadata?.name}`;
      const owners = p.metadata?.ownerReferences ?? [];
      const mirror = Boolean(p.metadata?.annotations?.['kubernetes.io/config.mirror']);
      const daemon = owners.some((o) => o.kind === 'DaemonSet');
      const finished = p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
      if (mirror || finished) {
        result.skipped.push(id);
        continue;
      }
      if (daemon) {
        if (opts.ignoreDaemonSets === false)
          throw new KubeError('DRAIN_BLOCKED', `pod ${id} is managed by a DaemonSet (set ignoreDaemonSets)`);
        result.skipped.push(id);
        continue;
      }
      const emptyDir = (p.spec?.volumes ?? []).some((v) => v.emptyDir);
      if (emptyDir && opts.deleteEmptyDirData === false)
        throw new KubeError('DRAIN_BLOCKED', `pod ${id} uses emptyDir data (set deleteEmptyDirData)`);
      if (owners.length === 0 && !opts.force)
        throw new KubeError('DRAIN_BLOCKED', `pod ${id} has no controller; it would be lost (set force)`);
      targets.push(p);
    }
    for (const p of targets) {
      const ns = p.metadata?.namespace ?? 'default';
      const pod = p.metadata?.name ?? '';
      let attempt = 0;
      for (;;) {
        if (opts.signal?.aborted) throw new KubeError('DRAIN_TIMEOUT', 'drain aborted');
        try {
          await this.core.createNamespacedPodEviction({
            name: pod,
            namespace: ns,
            body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: ns } },
          });
          result.evicted.push(`${ns}/${pod}`);
          break;
        } catch (err) {
          const status = statusOf(err);
          if (status === 404) break; // already gone
          if (status === 500)
            throw new KubeError('PDB_CONFLICT', `pod ${ns}/${pod} is covered by more than one PodDisruptionBudget`);
          if (status !== 429)
            throw new KubeError('KUBE_API', `evicting ${ns}/${pod} failed: ${(err as Error).message}`);
          if (Date.now() >= deadline)
            throw new KubeError(
              'DRAIN_TIMEOUT',
              `drain of ${name} timed out: a PodDisruptionBudget keeps blocking the eviction of ${ns}/${pod}`,
            );
          const wait = Math.min(5000, (opts.retryBaseMs ?? 500) * 2 ** attempt++) * (0.5 + Math.random() / 2);
          await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(0, deadline - Date.now()))));
        }
      }
    }
    // Wait for evicted pods to be gone (bounded by the same deadline).
    while (Date.now() < deadline) {
      const left = (await this.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` })).items.filter(
        (p) => result.evicted.includes(`${p.metadata?.namespace}/${p.metadata?.name}`),
      );
      if (left.length === 0) return result;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new KubeError('DRAIN_TIMEOUT', `drain of ${name} timed out waiting for evicted pods to terminate`);
  }
}
