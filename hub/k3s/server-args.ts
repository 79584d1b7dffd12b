// The `k3s server` command line a multi-cloud control plane needs.
import { isIP } from 'node:net';
import { join } from 'node:path';

export interface ServerArgsInput {
  dataDir: string;
  /** Host agents use to reach the API (from --public-url). */
  publicHost: string;
  /** Further names for the serving certificate (--gateway-url's host, --tls-san). */
  tlsSans?: readonly string[];
  httpsPort: number;
  bindAddress?: string;
  /** This machine's own addresses. */
  localAddresses: readonly string[];
  extraArgs: readonly string[];
  /** Let workloads run on the hub's own node (default: tainted as a control plane, as a managed one is). */
  schedulable?: boolean;
}

/** The taint that keeps workloads off the hub's own k3s node (k3s --node-taint syntax). */
export const CONTROL_PLANE_TAINT = 'node-role.kubernetes.io/control-plane:NoSchedule';

export function k3sDataDir(hubDataDir: string): string {
  return join(hubDataDir, 'k3s');
}

export function kubeconfigPath(hubDataDir: string): string {
  return join(hubDataDir, 'kubeconfig.yaml');
}

export function serverArgs(input: ServerArgsInput): string[] {
  const args = [
    'server',
    '--data-dir',
    k3sDataDir(input.dataDir),
    '--https-listen-port',
    String(input.httpsPort),
    '--write-kubeconfig',
    kubeconfigPath(input.dataDir),
    '--write-kubeconfig-mode',
    '600',
    // Every public name and IP in the serving certificate up front (k3s#1381).
    '--tls-san',
    input.publicHost,
    ...(input.tlsSans ?? []).filter((n) => n !== input.publicHost).flatMap((n) => ['--tls-san', n]),
    // Pod traffic between providers is encrypted and uses public addresses (k3s#2689, #5717).
    '--flannel-backend=wireguard-native',
    '--flannel-external-ip',
  ];
  // The hub's machine runs the control plane, not workloads: without --disable-agent k3s registers
  // it as a node too, and that node must not be a schedulable worker unless the operator says so.
  if (!input.schedulable && !input.extraArgs.includes('--disable-agent'))
    args.push('--node-taint', CONTROL_PLANE_TAINT);
  if (input.bindAddress) args.push('--bind-address', input.bindAddress);
  if (isIP(input.publicHost)) {
    args.push('--node-external-ip', input.publicHost);
    // Agents' client LB must not swap the public endpoint for a private one (k3s#2332, #8813).
    // The apiserver can only advertise an address this machine has (not a NAT's).
    if (input.localAddresses.includes(input.publicHost)) args.push('--advertise-address', input.publicHost);
  }
  return [...args, ...input.extraArgs];
}
