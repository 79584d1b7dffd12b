// `k3s server` flags turned into one frozen config, with k3s's defaults and validation messages.
import { readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { bool, list, num, str, type ParsedFlags } from '../cli/flag-parser.js';

export interface ServerConfig {
  readonly dataDir: string;
  readonly httpsPort: number;
  readonly bindAddress: string;
  readonly advertiseAddress: string;
  readonly tlsSans: readonly string[];
  readonly nodeIps: readonly string[];
  readonly nodeExternalIps: readonly string[];
  readonly nodeName: string;
  readonly nodeLabels: readonly string[];
  readonly nodeTaints: readonly string[];
  readonly flannelBackend: string;
  readonly flannelExternalIp: boolean;
  readonly egressSelectorMode: string;
  readonly writeKubeconfig: string;
  readonly writeKubeconfigMode: number;
  readonly disable: readonly string[];
  readonly token: string;
  readonly agentToken: string;
  readonly disableAgent: boolean;
  readonly clusterInit: boolean;
  /** --cluster-reset: reset embedded etcd to one member (restoring --cluster-reset-restore-path), then exit. */
  readonly clusterReset: boolean;
  readonly clusterResetRestorePath: string;
  /** --etcd-snapshot-dir ('' = <data-dir>/server/db/snapshots). */
  readonly etcdSnapshotDir: string;
  /** --datastore-endpoint: '' for the embedded datastore. */
  readonly datastoreEndpoint: string;
  readonly datastoreCaFile: string;
  readonly clusterDomain: string;
  readonly clusterDns: string;
  readonly serviceNodePortRange: string;
  readonly kubeletArgs: readonly string[];
}

export const DEFAULT_DATA_DIR = '/var/lib/rancher/k3s';
const FLANNEL_BACKENDS = ['none', 'vxlan', 'host-gw', 'wireguard-native', 'ipsec'];
const EGRESS_MODES = ['agent', 'cluster', 'pod', 'disabled'];

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

export function defaultDataDir(): string {
  return isRoot() ? DEFAULT_DATA_DIR : join(homedir(), '.rancher', 'k3s');
}

function readTokenFile(path: string): string {
  return readFileSync(path, 'utf8').trim();
}

/** Throws Error with the message k3s would log at fatal level. */
export function serverConfig(p: ParsedFlags): ServerConfig {
  const flannelBackend = str(p, 'flannel-backend');
  if (!FLANNEL_BACKENDS.includes(flannelBackend)) throw new Error(`invalid flannel backend: ${flannelBackend}`);
  const egress = str(p, 'egress-selector-mode');
  if (!EGRESS_MODES.includes(egress)) throw new Error(`invalid egress-selector-mode ${egress}`);
  const modeStr = str(p, 'write-kubeconfig-mode');
  const mode = modeStr === '' ? 0o600 : parseInt(modeStr, 8);
  if (!Number.isInteger(mode) || !/^[0-7]{1,4}$/.test(modeStr || '600'))
    throw new Error(`failed to parse --write-kubeconfig-mode ${modeStr}`);
  const dataDir = str(p, 'data-dir') || defaultDataDir();
  const token = str(p, 'token') || (str(p, 'token-file') ? readTokenFile(str(p, 'token-file')) : '');
  const agentToken =
    str(p, 'agent-token') || (str(p, 'agent-token-file') ? readTokenFile(str(p, 'agent-token-file')) : '');
  if (str(p, 'cluster-reset-restore-path') && !bool(p, 'cluster-reset'))
    throw new Error('invalid flag use; --cluster-reset required with --cluster-reset-restore-path');
  const port = num(p, 'https-listen-port');
  if (port <= 0 || port > 65535) throw new Error(`invalid https-listen-port ${port}`);
  return Object.freeze({
    dataDir,
    httpsPort: port,
    bindAddress: str(p, 'bind-address'),
    advertiseAddress: str(p, 'advertise-address'),
    tlsSans: list(p, 'tls-san', true),
    nodeIps: list(p, 'node-ip', true),
    nodeExternalIps: list(p, 'node-external-ip', true),
    nodeName: (str(p, 'node-name') || hostname()).toLowerCase(),
    nodeLabels: list(p, 'node-label'),
    nodeTaints: list(p, 'node-taint'),
    flannelBackend,
    flannelExternalIp: bool(p, 'flannel-external-ip'),
    egressSelectorMode: egress,
    writeKubeconfig:
      str(p, 'write-kubeconfig') || (isRoot() ? '/etc/rancher/k3s/k3s.yaml' : join(homedir(), '.kube', 'k3s.yaml')),
    writeKubeconfigMode: mode,
    disable: list(p, 'disable', true),
    token,
    agentToken,
    disableAgent: bool(p, 'disable-agent'),
    clusterInit: bool(p, 'cluster-init'),
    clusterReset: bool(p, 'cluster-reset'),
    clusterResetRestorePath: str(p, 'cluster-reset-restore-path'),
    etcdSnapshotDir: str(p, 'etcd-snapshot-dir'),
    datastoreEndpoint: str(p, 'datastore-endpoint'),
    datastoreCaFile: str(p, 'datastore-cafile'),
    clusterDomain: str(p, 'cluster-domain'),
    clusterDns: list(p, 'cluster-dns', true)[0] ?? '10.43.0.10',
    serviceNodePortRange: str(p, 'service-node-port-range'),
    kubeletArgs: list(p, 'kubelet-arg'),
  });
}
