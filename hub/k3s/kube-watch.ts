// The Kubernetes view while the hub's k3s server serves: a kube client and a watch of the Nodes,
// kept by name. Dropped when the server stops (what the watch said is stale); a new watch lists
// every node afresh.
import type { Logger } from '../logger.js';
import { KubeClient, type KubeNodeSummary } from './kube.js';

/** Whether a Kubernetes node is a k3s server's own node (role control-plane), not an agent's. */
export function isControlPlaneNode(n: KubeNodeSummary): boolean {
  return n.labels['node-role.kubernetes.io/control-plane'] === 'true';
}

export class KubeWatch {
  private kube?: KubeClient;
  private stopWatch?: () => void;
  private readonly kubeNodes = new Map<string, KubeNodeSummary>();

  constructor(
    private readonly kubeconfigPath: string,
    private readonly logger: Logger,
    private readonly onKubeNode?: (type: 'ADDED' | 'MODIFIED' | 'DELETED', node: KubeNodeSummary) => void,
  ) {}

  connect(): void {
    if (this.kube) return;
    this.kube = new KubeClient(this.kubeconfigPath, this.logger);
    this.stopWatch = this.kube.watchNodes((type, node) => {
      if (type === 'DELETED') this.kubeNodes.delete(node.name);
      else this.kubeNodes.set(node.name, node);
      this.onKubeNode?.(type, node);
    });
  }

  disconnect(): void {
    this.stopWatch?.();
    this.stopWatch = undefined;
    this.kube = undefined;
    // What the watch said is stale while the API is down; a new watch lists every node afresh.
    this.kubeNodes.clear();
  }

  /** The kube client while connected (the control plane says whether it serves). */
  client(): KubeClient | undefined {
    return this.kube;
  }

  node(name: string): KubeNodeSummary | undefined {
    return this.kubeNodes.get(name);
  }

  /** The first node with the control-plane role (see ControlPlane.serverNode). */
  serverNode(): KubeNodeSummary | undefined {
    for (const n of this.kubeNodes.values()) if (isControlPlaneNode(n)) return n;
    return undefined;
  }
}
