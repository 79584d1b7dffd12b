// The Node object a k3s kubelet registers: labels, taints, addresses, capacity, nodeInfo and the
// four kubelet conditions. Shared by `k3s agent` and the server's own node.
import { cpus, hostname as osHostname, release, totalmem } from 'node:os';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { KubeObject } from '../store/kube-object.js';
import { kubeTime } from '../util/go-time.js';
import { goArch } from '../util/net-addresses.js';
import { CONTAINERD_VERSION } from '../version.js';

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}

export interface NodeParams {
  readonly name: string;
  readonly kubeletVersion: string;
  readonly internalIps: readonly string[];
  readonly externalIps: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  readonly annotations: Readonly<Record<string, string>>;
  readonly kubeletPort?: number;
  /** The kubelet's --provider-id; k3s's own k3s://<name> without it. */
  readonly providerId?: string;
  /** Stand-in only: the cpu and memory the node reports (capacity = allocatable) instead of the host's. */
  readonly capacity?: NodeCapacity;
}

export interface NodeCapacity {
  readonly cpu?: string;
  readonly memory?: string;
}

const CPU_RE = /^([1-9]\d{0,3}|[1-9]\d{0,6}m)$/;
const MEMORY_RE = /^[1-9]\d{0,12}(Ki|Mi|Gi|Ti)?$/;

/**
 * Stand-in only (a real kubelet reports its machine): ATOLL_STANDIN_NODE_CPU (e.g. `2`, `1500m`) and
 * ATOLL_STANDIN_NODE_MEMORY (e.g. `4Gi`) set what the node offers, so a test knows a node's
 * allocatable cpu and memory on any machine. Throws on a value that is not such a quantity.
 */
export function standinCapacity(env: NodeJS.ProcessEnv): NodeCapacity | undefined {
  const cpu = env.ATOLL_STANDIN_NODE_CPU;
  const memory = env.ATOLL_STANDIN_NODE_MEMORY;
  if (cpu !== undefined && !CPU_RE.test(cpu))
    throw new Error(`ATOLL_STANDIN_NODE_CPU: "${cpu}" is not a cpu quantity such as 2 or 1500m`);
  if (memory !== undefined && !MEMORY_RE.test(memory))
    throw new Error(`ATOLL_STANDIN_NODE_MEMORY: "${memory}" is not a memory quantity such as 4Gi or 524288Ki`);
  if (cpu === undefined && memory === undefined) return undefined;
  return { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) };
}

const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/** k=v:Effect or k:Effect (kubelet --register-with-taints); throws with kubelet's wording. */
export function parseTaint(spec: string): Taint {
  const c = spec.lastIndexOf(':');
  const effect = c >= 0 ? spec.slice(c + 1) : '';
  const kv = c >= 0 ? spec.slice(0, c) : spec;
  if (!EFFECTS.includes(effect))
    throw new Error(`invalid taint spec: ${spec}, invalid taint effect: ${effect}, unsupported taint effect`);
  const eq = kv.indexOf('=');
  const key = eq >= 0 ? kv.slice(0, eq) : kv;
  if (key === '') throw new Error(`invalid taint spec: ${spec}`);
  return eq >= 0 ? { key, value: kv.slice(eq + 1), effect } : { key, effect };
}

export function parseLabels(specs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of specs) {
    const eq = s.indexOf('=');
    out[eq >= 0 ? s.slice(0, eq) : s] = eq >= 0 ? s.slice(eq + 1) : '';
  }
  return out;
}

function osImage(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

function machineId(name: string): string {
  try {
    if (existsSync('/etc/machine-id')) {
      const id = readFileSync('/etc/machine-id', 'utf8').trim();
      if (id) return id;
    }
  } catch {
    // fall through
  }
  return createHash('md5').update(name).digest('hex');
}

const uuidOf = (s: string): string => {
  const h = createHash('sha1').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

/** The kubelet's conditions; Ready keeps `readySince` as its lastTransitionTime. */
export function kubeletConditions(now: Date, readySince: Date): unknown[] {
  const t = kubeTime(now);
  const since = kubeTime(readySince);
  const c = (type: string, status: string, reason: string, message: string, trans: string): unknown => ({
    type,
    status,
    lastHeartbeatTime: t,
    lastTransitionTime: trans,
    reason,
    message,
  });
  return [
    c('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available', since),
    c('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', since),
    c('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', since),
    c('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status', since),
  ];
}

export function defaultNodeLabels(name: string): Record<string, string> {
  const arch = goArch();
  return {
    'beta.kubernetes.io/arch': arch,
    'beta.kubernetes.io/instance-type': 'k3s',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': arch,
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': 'k3s',
  };
}

export function buildNode(p: NodeParams, now: Date): KubeObject {
  const capacity = {
    cpu: p.capacity?.cpu ?? String(cpus().length),
    'ephemeral-storage': '61255492Ki',
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: p.capacity?.memory ?? `${Math.floor(totalmem() / 1024)}Ki`,
    pods: '110',
  };
  const addresses = [
    ...p.internalIps.map((address) => ({ type: 'InternalIP', address })),
    ...p.externalIps.map((address) => ({ type: 'ExternalIP', address })),
    { type: 'Hostname', address: p.name },
  ];
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: p.name,
      labels: { ...defaultNodeLabels(p.name), ...p.labels },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        ...p.annotations,
      },
    },
    spec: {
      providerID: p.providerId ?? `k3s://${p.name}`,
      ...(p.taints.length > 0 ? { taints: p.taints.map((t) => ({ ...t })) } : {}),
    },
    status: {
      capacity,
      allocatable: capacity,
      conditions: kubeletConditions(now, now),
      addresses,
      daemonEndpoints: { kubeletEndpoint: { Port: p.kubeletPort ?? 10250 } },
      nodeInfo: {
        machineID: machineId(p.name),
        systemUUID: uuidOf(`${osHostname()}/${p.name}`),
        bootID: uuidOf(`${p.name}/${process.pid}`),
        kernelVersion: release(),
        osImage: osImage(),
        containerRuntimeVersion: CONTAINERD_VERSION,
        kubeletVersion: p.kubeletVersion,
        kubeProxyVersion: p.kubeletVersion,
        operatingSystem: 'linux',
        architecture: goArch(),
      },
      images: [],
    },
  };
}
