// The control plane as GET /v1/cluster shows it: state, version, restarts, server URL, the next
// retry after a failure, and the hub's own k3s node (shown, not managed).
import type { ControlPlane } from '../k3s/control-plane.js';
import type { ClusterInfo, ControlPlaneNodeInfo } from './services.js';

function serverNodeInfo(controlPlane: ControlPlane): ControlPlaneNodeInfo | null {
  const n = controlPlane.running() ? controlPlane.serverNode() : undefined;
  return n
    ? {
        name: n.name,
        ready: n.ready,
        unschedulable: n.unschedulable,
        taints: n.taints,
        labels: n.labels,
        kubeletVersion: n.kubeletVersion,
      }
    : null;
}

export function clusterInfo(controlPlane: ControlPlane): ClusterInfo {
  const i = controlPlane.info();
  return {
    state: i.state === 'stopped' ? 'absent' : i.state,
    version: controlPlane.version(),
    message: i.message,
    restarts: i.restarts,
    since: i.since,
    lastLogLines: i.lastLogLines,
    serverUrl: controlPlane.running() ? controlPlane.serverUrl() : null,
    nextRetryAt: i.nextRetryAt ?? null,
    node: serverNodeInfo(controlPlane),
  };
}
