// The k3s agent config file (YAML, as /etc/rancher/k3s/config.yaml) and its 0600 token file.
import { writeSecretFile, writePublicFile } from '../../certs/files.js';
import type { K3sPaths } from './paths.js';

export interface K3sAgentSettings {
  serverUrl: string;
  token: string;
  nodeName: string;
  labels: Record<string, string>;
  taints: string[];
  nodeExternalIp: string;
  /** The kubelet's --provider-id: atoll://<node id>, how cluster-autoscaler's externalgrpc provider names the node. */
  providerId: string;
}

function q(s: string): string {
  return JSON.stringify(s);
}

export function renderConfig(s: Omit<K3sAgentSettings, 'token'>, paths: K3sPaths): string {
  const lines = [
    '# Written by atoll-agent; changes are overwritten.',
    `server: ${q(s.serverUrl)}`,
    `token-file: ${q(paths.tokenFile)}`,
    `node-name: ${q(s.nodeName)}`,
    `data-dir: ${q(paths.dataDir)}`,
  ];
  if (s.nodeExternalIp) lines.push(`node-external-ip: ${q(s.nodeExternalIp)}`);
  const labels = Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b));
  if (labels.length) lines.push('node-label:', ...labels.map(([k, v]) => `  - ${q(`${k}=${v}`)}`));
  if (s.taints.length) lines.push('node-taint:', ...s.taints.map((t) => `  - ${q(t)}`));
  if (s.providerId) lines.push('kubelet-arg:', `  - ${q(`provider-id=${s.providerId}`)}`);
  return lines.join('\n') + '\n';
}

/** Writes both files; returns whether anything changed (so k3s is restarted only then). */
export function writeK3sConfig(
  s: K3sAgentSettings,
  paths: K3sPaths,
  current: { config?: string; token?: string },
): boolean {
  const config = renderConfig(s, paths);
  let changed = false;
  if (current.token !== s.token) {
    writeSecretFile(paths.tokenFile, `${s.token}\n`);
    changed = true;
  }
  if (current.config !== config) {
    writePublicFile(paths.config, config);
    changed = true;
  }
  return changed;
}
