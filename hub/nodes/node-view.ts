// The node object the API returns (GET /v1/nodes: id, name, pool, state, lastSeen, agentVersion, k3s,
// health, labels, addresses, plus facts and connection details).
import type { NodeRecord } from '../store/types.js';
import type { NodeRegistry } from './registry.js';
import type { NodeCertStatus } from './cert-watch.js';
import type { VersionSupport } from '../versions/support-status.js';

const REGION_LABEL = 'topology.kubernetes.io/region';

/**
 * `cert`: the node's current certificate as the certificate watch saw it (null before its first pass).
 * `support`: the support status of a k3s version (hub/versions/), for `k3s.support`.
 */
export function nodeView(
  n: NodeRecord,
  registry: NodeRegistry,
  cert: NodeCertStatus | null = null,
  support?: (version: string) => VersionSupport,
): Record<string, unknown> {
  const live = registry.liveInfo(n.id);
  const kube = registry.kubeView(n.id);
  const h = n.health;
  const k3sVersion = kube?.kubeletVersion || h?.k3s.version || '';
  return {
    id: n.id,
    name: n.name,
    pool: n.pool,
    state: n.state,
    reasons: live.reasons,
    lastSeen: n.lastSeen,
    createdAt: n.createdAt,
    agentVersion: n.agentVersion,
    connected: live.connected,
    connectedAt: live.connectedAt,
    remoteAddress: live.remoteAddress,
    link: live.link,
    k3s: {
      state: h?.k3s.state ?? 'unknown',
      version: k3sVersion,
      support: k3sVersion && support ? support(k3sVersion) : null,
      ready: kube ? kube.ready : null,
      unschedulable: kube?.unschedulable ?? false,
      taints: kube?.taints ?? [],
      restarts: h?.k3s.restarts ?? 0,
      lastLogLines: h?.k3s.lastLogLines ?? [],
    },
    health: h && {
      receivedAt: h.receivedAt,
      cpuPercent: round(h.cpuPercent),
      memory: {
        totalBytes: h.memoryTotalBytes,
        usedBytes: h.memoryUsedBytes,
        usedPercent: pct(h.memoryUsedBytes, h.memoryTotalBytes),
      },
      disk: {
        totalBytes: h.diskTotalBytes,
        usedBytes: h.diskUsedBytes,
        usedPercent: pct(h.diskUsedBytes, h.diskTotalBytes),
      },
      disks: (h.disks ?? []).map((d) => ({ ...d, usedPercent: pct(d.usedBytes, d.totalBytes) })),
      load: { load1: round(h.load1), load5: round(h.load5), load15: round(h.load15) },
      uptimeSeconds: h.uptimeSeconds,
      kubeletHealthy: h.k3s.kubeletHealthy,
      clockSkewMs: h.clockSkewMs,
    },
    certificate: cert,
    labels: n.labels,
    // The Kubernetes Node's labels (kubectl label ... shows here), beside atoll's own `labels`; {} when
    // the node has no Kubernetes Node (no k3s, or the watch has not seen it).
    kubeLabels: kube?.labels ?? {},
    // Empty on purpose when unknown: never guessed from addresses or names.
    provider: n.facts.provider ?? '',
    region: n.labels[REGION_LABEL] ?? kube?.labels?.[REGION_LABEL] ?? '',
    addresses: n.facts.addresses,
    facts: n.facts,
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function pct(used: number, total: number): number {
  return total > 0 ? round((used / total) * 100) : 0;
}
