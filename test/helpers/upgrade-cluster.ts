// A hub with the k3s stand-in and three k3s agents on loopback, for the upgrade tests: stand-ins of
// any version, artifact imports, kube node views through kubectl (or the API when it is missing).
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startHub,
  startAgentJoin,
  waitFor,
  runCli,
  removeDir,
  removeTree,
  HUB_BIN,
  type HubHandle,
  type AgentHandle,
} from './processes.js';
import { freePort } from './ports.js';
import { keepMinorSupported } from './version-support.js';

export interface NodeView {
  id: string;
  name: string;
  state: string;
  k3s: { state: string; ready: boolean | null; version: string };
}
export interface NodeRow {
  id: string;
  name: string;
  from: string;
  phase: string;
  startedAt: string | null;
  finishedAt: string | null;
  message: string;
}
export interface RolloutView {
  id: string;
  version: string;
  state: string;
  message: string;
  controlPlane?: {
    from: string;
    phase: string;
    startedAt: string | null;
    finishedAt: string | null;
    message: string;
  } | null;
  nodes: NodeRow[];
}
export interface KubeNode {
  name: string;
  version: string;
  ready: boolean;
  unschedulable: boolean;
}

export const KUBECTL = existsSync('/usr/bin/kubectl') ? '/usr/bin/kubectl' : undefined;

export { buildStandin } from './k3s-standin.js';

/**
 * A stand-in for a k3s binary of another arch: an ELF header for that machine and nothing else. The
 * hub cannot run it, so an import checks only that header (a stand-in script would be refused).
 */
export function foreignElf(out: string, arch: 'amd64' | 'arm64' | 'arm'): string {
  const machine = { amd64: 62, arm64: 183, arm: 40 }[arch];
  const is64 = arch !== 'arm';
  const h = Buffer.alloc(is64 ? 64 : 52);
  h.writeUInt32BE(0x7f454c46, 0);
  h[4] = is64 ? 2 : 1; // class
  h[5] = 1; // little endian
  h[6] = 1; // ELF version
  h.writeUInt16LE(2, 16); // ET_EXEC
  h.writeUInt16LE(machine, 18);
  h.writeUInt32LE(1, 20);
  writeFileSync(out, h, { mode: 0o755 });
  return out;
}

export async function importK3s(
  hub: HubHandle,
  version: string,
  file: string,
  arch = 'amd64',
  opts: { force?: boolean } = {},
): Promise<void> {
  const r = await runCli(HUB_BIN, [
    'artifact',
    'import',
    'k3s',
    '--version',
    version,
    '--arch',
    arch,
    '--file',
    file,
    '--data-dir',
    hub.dataDir,
    ...(opts.force ? ['--force'] : []),
  ]);
  if (r.code !== 0) throw new Error(`import ${version}: ${r.stderr}`);
}

export interface UpgradeCluster {
  hub: HubHandle;
  agents: AgentHandle[];
  nodes: NodeView[];
  kubeNodes(): Promise<KubeNode[]>;
  rollout(id: string): Promise<RolloutView>;
  waitRollout(id: string, pred: (r: RolloutView) => boolean, what: string, timeoutMs?: number): Promise<RolloutView>;
}

/** Hub on `standin` (its version is the control plane's) plus `count` agents named `${prefix}N`. */
export async function startUpgradeCluster(
  standin: string,
  work: string,
  count: number,
  prefix: string,
  track: { hubs: HubHandle[]; agents: AgentHandle[] },
): Promise<UpgradeCluster> {
  const port = await freePort();
  const hub = await startHub({
    k3s: standin,
    extraArgs: ['--k3s-https-port', String(port), '--k3s-arg=--disable-agent', '--auto-upgrade-interval', '1s'],
    env: { ATOLL_STANDIN_NODE_GRACE_MS: '3000' },
  });
  track.hubs.push(hub);
  await waitFor(
    'control plane running',
    async () => (await hub.api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running',
    30_000,
  );
  // v1.31 supported whatever today's date: auto-upgrade past end of life is tested on its own.
  await keepMinorSupported(hub);
  const tok = await hub.api<{ token: string }>('POST', '/v1/tokens', { uses: count });
  const agents: AgentHandle[] = [];
  for (let i = 0; i < count; i++) {
    const kubeletPort = await freePort();
    const env = {
      ATOLL_STANDIN_KUBELET_PORT: String(kubeletPort),
      ATOLL_AGENT_KUBELET_HEALTHZ_URL: `http://127.0.0.1:${kubeletPort}/healthz`,
      ATOLL_STANDIN_HEARTBEAT_MS: '500',
      ATOLL_AGENT_K3S_START_GRACE_MS: '3000',
    };
    const a = startAgentJoin(hub, tok.body.token, { k3s: 'auto', args: ['--node-name', `${prefix}${i}`], env });
    agents.push(a);
    track.agents.push(a);
  }
  const nodes = await waitFor(
    'k3s nodes Ready',
    async () => {
      const items = (await hub.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
      return items.length === count && items.every((n) => n.state === 'ready' && n.k3s.ready === true)
        ? items.sort((a, b) => a.name.localeCompare(b.name))
        : undefined;
    },
    60_000,
  );
  const kcPath = join(work, `kubeconfig-${prefix}.yaml`);
  const kubeNodes = async (): Promise<KubeNode[]> => {
    if (KUBECTL) {
      writeFileSync(kcPath, (await hub.api<string>('GET', '/v1/cluster/kubeconfig')).body, { mode: 0o600 });
      const get = spawnSync(KUBECTL, ['--kubeconfig', kcPath, 'get', 'nodes', '-o', 'json'], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      if (get.status !== 0) throw new Error(`kubectl: ${get.stderr}`);
      const items = (
        JSON.parse(get.stdout) as {
          items: Array<{
            metadata: { name: string };
            spec?: { unschedulable?: boolean };
            status: { nodeInfo: { kubeletVersion: string }; conditions: Array<{ type: string; status: string }> };
          }>;
        }
      ).items;
      return items
        .map((n) => ({
          name: n.metadata.name,
          version: n.status.nodeInfo.kubeletVersion,
          ready: n.status.conditions.find((c) => c.type === 'Ready')?.status === 'True',
          unschedulable: Boolean(n.spec?.unschedulable),
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
    }
    const items = (await hub.api<{ items: Array<NodeView & { k3s: { unschedulable?: boolean } }> }>('GET', '/v1/nodes'))
      .body.items;
    return items
      .map((n) => ({
        name: n.name,
        version: n.k3s.version,
        ready: n.k3s.ready === true,
        unschedulable: n.state === 'cordoned',
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  };
  const rollout = async (id: string): Promise<RolloutView> =>
    (await hub.api<RolloutView>('GET', `/v1/upgrades/${id}`)).body;
  return {
    hub,
    agents,
    nodes,
    kubeNodes,
    rollout,
    waitRollout: (id, pred, what, timeoutMs = 60_000) =>
      waitFor(
        what,
        async () => {
          const r = await rollout(id);
          return pred(r) ? r : undefined;
        },
        timeoutMs,
        250,
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}\nrollout: ${JSON.stringify(await rollout(id).catch(() => null))}`);
      }),
  };
}

/** Stops what startUpgradeCluster started (agents first, then hubs) and removes their data and `work`. */
export async function stopTracked(
  track: { hubs: HubHandle[]; agents: AgentHandle[] },
  work: string | undefined,
): Promise<void> {
  for (const a of track.agents) await a.proc.kill('SIGKILL');
  for (const h of track.hubs) await h.stop();
  for (const a of track.agents) removeDir(a.dataDir);
  for (const h of track.hubs) removeDir(h.dataDir);
  if (work) removeTree(work);
}
