// The template as a Kubernetes v1.Node (proto-encoded for NodeGroupTemplateNodeInfo): metadata name
// and labels, spec taints, status capacity/allocatable (Quantity strings), a Ready condition, arch/os.
import type { KubeNode } from '../../../proto/externalgrpc-service.js';
import type { TemplateView } from './node-groups.js';

/** `key=value:Effect` or `key:Effect` -> a v1.Taint. */
export function parseTaint(t: string): { key: string; value: string; effect: string } {
  const colon = t.lastIndexOf(':');
  const kv = colon >= 0 ? t.slice(0, colon) : t;
  const effect = colon >= 0 ? t.slice(colon + 1) : 'NoSchedule';
  const eq = kv.indexOf('=');
  return eq >= 0 ? { key: kv.slice(0, eq), value: kv.slice(eq + 1), effect } : { key: kv, value: '', effect };
}

const quantities = (m: Record<string, string>): Record<string, { string: string }> =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { string: v }]));

export function templateNode(t: TemplateView, nowMs: number): KubeNode {
  const at = { seconds: Math.floor(nowMs / 1000), nanos: 0 };
  return {
    metadata: { name: t.name, labels: t.labels },
    spec: { taints: t.taints.map(parseTaint) },
    status: {
      capacity: quantities(t.capacity),
      allocatable: quantities(t.allocatable),
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'template of a new node',
          lastHeartbeatTime: at,
          lastTransitionTime: at,
        },
      ],
      nodeInfo: { architecture: t.arch, operatingSystem: t.os },
    },
  };
}
