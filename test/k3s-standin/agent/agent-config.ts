// `k3s agent` flags (and K3S_* env, config file) turned into one frozen config.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { bool, list, str, type ParsedFlags } from '../cli/flag-parser.js';
import { parseTaint, standinCapacity, type NodeCapacity, type Taint } from './node-object.js';
import { defaultDataDir } from '../server/server-config.js';

export interface AgentConfig {
  readonly serverUrl: string;
  readonly token: string;
  readonly dataDir: string;
  readonly nodeName: string;
  readonly withNodeId: boolean;
  readonly nodeLabels: readonly string[];
  readonly nodeTaints: readonly Taint[];
  readonly nodeIps: readonly string[];
  readonly nodeExternalIps: readonly string[];
  readonly healthzPort: number;
  readonly healthzBindAddress: string;
  /** --kubelet-arg provider-id=X: the node's spec.providerID (k3s://<name> without it). */
  readonly providerId: string | undefined;
  readonly flannelBackendHint: string;
  /** --disable-apiserver-lb: talk to --server only. */
  readonly disableApiserverLb: boolean;
  /** Stand-in only (ATOLL_STANDIN_NODE_CPU / _MEMORY): what the node reports instead of the host's cpu and memory. */
  readonly capacity: NodeCapacity | undefined;
  /** The command line as given, for the k3s.io/node-args annotation (token redacted). */
  readonly nodeArgs: readonly string[];
}

function kubeletArg(args: readonly string[], key: string): string | undefined {
  for (const a of args) {
    const s = a.replace(/^-+/, '');
    if (s.startsWith(`${key}=`)) return s.slice(key.length + 1);
  }
  return undefined;
}

function redact(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (/^--?(token|t|agent-token)$/.test(a)) {
      out.push(a, '********');
      i++;
    } else if (/^--?(token|t|agent-token)=/.test(a)) {
      out.push(`${a.slice(0, a.indexOf('='))}=********`);
    } else out.push(a);
  }
  return out;
}

export function agentConfig(p: ParsedFlags, argv: readonly string[], env: NodeJS.ProcessEnv): AgentConfig {
  let token = str(p, 'token') || str(p, 'cluster-secret');
  if (str(p, 'token-file')) token = readFileSync(str(p, 'token-file'), 'utf8').trim();
  if (token === '') throw new Error('--token is required');
  const serverUrl = str(p, 'server');
  if (serverUrl === '') throw new Error('--server is required');
  const kubeletArgs = list(p, 'kubelet-arg');
  const envRaw = env.ATOLL_STANDIN_KUBELET_PORT ?? '';
  const argPort = kubeletArg(kubeletArgs, 'healthz-port');
  const healthzPort = argPort !== undefined ? Number(argPort) : /^\d+$/.test(envRaw) ? Number(envRaw) : 10248;
  return Object.freeze({
    serverUrl,
    token,
    dataDir: str(p, 'data-dir') || defaultDataDir(),
    nodeName: (str(p, 'node-name') || hostname()).toLowerCase(),
    withNodeId: bool(p, 'with-node-id'),
    nodeLabels: list(p, 'node-label'),
    nodeTaints: list(p, 'node-taint', true).map(parseTaint),
    nodeIps: list(p, 'node-ip', true),
    nodeExternalIps: list(p, 'node-external-ip', true),
    healthzPort,
    healthzBindAddress: kubeletArg(kubeletArgs, 'healthz-bind-address') ?? '127.0.0.1',
    providerId: kubeletArg(kubeletArgs, 'provider-id'),
    flannelBackendHint: '',
    disableApiserverLb: bool(p, 'disable-apiserver-lb'),
    capacity: standinCapacity(env),
    nodeArgs: ['agent', ...redact(argv)],
  });
}
