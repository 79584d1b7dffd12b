// Without --disable-agent a k3s server is also a node (roles control-plane,master); the stand-in
// registers and heartbeats that node in-process.
import { findType } from '../store/resource-types.js';
import type { ResourceService } from '../api/resource-service.js';
import { buildNode, kubeletConditions, parseLabels, parseTaint } from '../agent/node-object.js';
import type { ServerConfig } from './server-config.js';
import { primaryIPv4 } from '../util/net-addresses.js';

const NODES = findType('', 'v1', 'nodes');

export function startEmbeddedNode(
  cfg: ServerConfig,
  svc: ResourceService,
  version: string,
  heartbeatMs: number,
): () => void {
  if (!NODES) throw new Error('nodes type missing');
  const nodes = NODES;
  const ip = cfg.nodeIps[0] ?? primaryIPv4();
  const readySince = new Date();
  if (!svc.find(nodes, undefined, cfg.nodeName)) {
    svc.create(
      nodes,
      undefined,
      buildNode(
        {
          name: cfg.nodeName,
          kubeletVersion: version,
          internalIps: [ip],
          externalIps: cfg.nodeExternalIps,
          labels: {
            'node-role.kubernetes.io/control-plane': 'true',
            'node-role.kubernetes.io/master': 'true',
            ...parseLabels(cfg.nodeLabels),
          },
          taints: cfg.nodeTaints.map(parseTaint),
          annotations: { 'k3s.io/hostname': cfg.nodeName, 'k3s.io/internal-ip': ip },
        },
        readySince,
      ),
    );
  }
  const beat = (): void => {
    if (!svc.find(nodes, undefined, cfg.nodeName)) return;
    svc.mutate(
      nodes,
      undefined,
      cfg.nodeName,
      (o) => {
        (o.status as Record<string, unknown>).conditions = kubeletConditions(new Date(), readySince);
      },
      { subresource: 'status' },
    );
  };
  beat();
  const timer = setInterval(beat, heartbeatMs);
  return () => clearInterval(timer);
}
