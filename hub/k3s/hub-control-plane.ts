// The hub's control plane as the hub runs it: ControlPlane from the hub's flags, NodeK3s beside it,
// and what the hub does when the control plane changes state or a Kubernetes Node changes: each
// state is an event; while the kube API is down, kubelet readiness is unknown; once the server
// runs, the nodes get their k3s assignment and removed nodes are purged. Agents' Nodes feed the registry.
import type { HubConfig } from '../config.js';
import type { Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { ControlPlane } from './control-plane.js';
import { extraCertHosts, urlHost } from '../config-addresses.js';
import { NodeK3s } from './node-k3s.js';
import { isControlPlaneNode } from './kube-watch.js';
import { logFailure } from '../../certs/log-failure.js';
import type { SealKey } from '../../certs/sealed.js';

export interface HubControlPlaneDeps {
  store: Store;
  registry: NodeRegistry;
  artifacts: ArtifactStore;
  events: EventLog;
  logger: Logger;
  /** The cluster's k3s server token, from the store (the same on every hub); given as K3S_TOKEN. */
  k3sServerToken: string;
  /** Seals the per-node k3s tokens in the store. */
  sealKey: SealKey;
}

export function createHubControlPlane(
  config: HubConfig,
  d: HubControlPlaneDeps,
): { controlPlane: ControlPlane; nodeK3s: NodeK3s } {
  const { registry, events, logger: cpLog } = d;
  const controlPlane = new ControlPlane({
    mode: config.k3s,
    dataDir: config.dataDir,
    publicHost: urlHost(config.publicUrl),
    tlsSans: extraCertHosts(config),
    httpsPort: config.k3sHttpsPort,
    extraArgs: config.k3sArgs,
    nodeTokenTtl: config.k3sNodeTokenTtl,
    schedulable: config.controlPlaneSchedulable,
    clusterName: config.clusterName,
    restartBackoffMs: config.k3sRestartBackoffMs,
    failedRetryMs: config.k3sFailedRetryMs,
    // The cluster's server token, from the store (the same on every hub); never on a command line.
    // On PostgreSQL every hub's k3s server shares one datastore (a password stays out of `ps`).
    env: {
      K3S_TOKEN: d.k3sServerToken,
      ...(config.k3sDatastoreEndpoint ? { K3S_DATASTORE_ENDPOINT: config.k3sDatastoreEndpoint } : {}),
    },
    artifacts: d.artifacts,
    logger: cpLog,
    onState: (info, previous) => {
      // While the kube API is down, what its watch said about the nodes is stale: readiness unknown.
      if (info.state !== 'running') registry.kubeUnknown();
      events
        .note({
          type: 'k3s.state',
          actor: 'hub',
          message: `control plane ${previous} -> ${info.state}: ${info.message}`,
          data: {
            from: previous,
            to: info.state,
            restarts: info.restarts,
            lastLogLines: info.state === 'failed' ? info.lastLogLines : [],
          },
        })
        .catch(logFailure(cpLog, 'noting a control plane state'));
      if (info.state === 'running') {
        nodeK3s.assignAll().catch(logFailure(cpLog, 'assigning k3s to the nodes'));
        nodeK3s.purgePending().catch(logFailure(cpLog, 'purging removed nodes'));
      }
    },
    // The hub's own node is no agent's: it never feeds an atoll node's state (autoheal, upgrades).
    onKubeNode: (type, n) => {
      if (!isControlPlaneNode(n))
        registry
          .kubeUpdate(n.name, type === 'DELETED' ? undefined : n)
          .catch(logFailure(cpLog, 'recording a kube node update'));
    },
  });
  // Its callbacks above run only once the control plane starts (after assembly).
  const nodeK3s = new NodeK3s({
    controlPlane,
    store: d.store,
    registry,
    artifacts: d.artifacts,
    events,
    logger: cpLog,
    removeDrainTimeoutMs: config.removeDrainTimeoutMs,
    sealKey: d.sealKey,
  });
  return { controlPlane, nodeK3s };
}
