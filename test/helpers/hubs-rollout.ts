// Rolling upgrades across two hubs on one PostgreSQL (hubs-rollout-*.test.ts): hub A and hub B, each
// with its k3s server (the stand-in) on the shared k3s datastore, the new k3s imported on both, three
// real agents with their k3s agents joined through one of them; and the checks every such rollout
// ends with. Needs a build (dist/).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HUB_BIN, runCli, startAgentJoin, waitFor, type AgentHandle } from './processes.js';
import type { PgServer } from './postgres.js';
import { freePort } from './ports.js';
import { HubGroup, type TestHub } from './hubs.js';
import { buildStandin, type NodeView } from './upgrade-cluster.js';
import { keepMinorSupported } from './version-support.js';
import { call, readKubeconfig } from '../contracts/helpers/kube-http.js';

export const V0 = 'v1.31.4+k3s1';
export const V1 = 'v1.31.5+k3s1';
export const AGENTS = 3;

interface HubItem {
  id: string;
  live: boolean;
  leader: string[];
  self: boolean;
}

export interface RolloutEvent {
  id: number;
  type: string;
  nodeId?: string;
  createdAt?: string;
  data: { phase?: string; rolloutId?: string };
}

export async function leads(h: TestHub, role: string): Promise<boolean> {
  const r = await h.api<{ items: HubItem[] }>('GET', '/v1/hubs').catch(() => undefined);
  return r?.status === 200 && r.body.items.some((i) => i.self && i.leader.includes(role));
}

export interface RolloutCluster {
  a: TestHub;
  b: TestHub;
  /** The agents' nodes, ready with their k3s on the hub they joined through, by name. */
  nodes: NodeView[];
}

/**
 * Hub A (leading 'upgrades') and hub B, V1 imported on both, AGENTS agents joined through `via`.
 * The group goes into `track.group` and the agents into `agents` as they are made, for cleanup.
 */
export async function startRolloutCluster(
  pg: PgServer,
  work: string,
  name: string,
  via: 'a' | 'b',
  track: { group?: HubGroup; agents: AgentHandle[] },
): Promise<RolloutCluster> {
  const standin = join(work, 'k3s-v0');
  buildStandin(standin, V0);
  buildStandin(join(work, 'k3s-v1'), V1);
  const g = (track.group = new HubGroup(pg, name, { poolSize: 4, viaEnv: true, prefix: `atoll-${name}-` }));
  const start = async (id: string): Promise<TestHub> => {
    const h = await g.add({
      id,
      k3s: standin,
      extraArgs: ['--k3s-https-port', String(await freePort()), '--k3s-arg=--disable-agent'],
      env: { ATOLL_STANDIN_NODE_GRACE_MS: '3000', ATOLL_STANDIN_HEARTBEAT_MS: '1000' },
    });
    await waitFor(
      `${id}: control plane running`,
      async () => (await h.api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running',
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${h.proc.stderr().slice(-3000)}`);
    });
    return h;
  };
  const a = await start('hub-a');
  const b = await start('hub-b');
  await waitFor('hub A leads upgrades', () => leads(a, 'upgrades'), 15_000, 200);
  await keepMinorSupported(a);
  // Each hub serves the artifacts from its own data dir: the new version is imported on both.
  for (const h of [a, b]) {
    const args = ['artifact', 'import', 'k3s', '--version', V1, '--arch', 'amd64', '--file', join(work, 'k3s-v1')];
    const r = await runCli(HUB_BIN, [...args, '--data-dir', h.dataDir], { ATOLL_DATASTORE: g.url });
    assert.equal(r.code, 0, r.stderr);
  }

  // The welcome lists the hubs of the last membership beat (every 2 s): let one pass with both live.
  await waitFor(
    'both hubs live',
    async () => (await a.api<{ items: HubItem[] }>('GET', '/v1/hubs')).body.items.filter((i) => i.live).length === 2,
    15_000,
    200,
  );
  await new Promise((res) => setTimeout(res, 2_500));
  const through = via === 'a' ? a : b;
  const tok = await through.api<{ token: string }>('POST', '/v1/tokens', { uses: AGENTS });
  assert.equal(tok.status, 201, JSON.stringify(tok.body));
  for (let i = 0; i < AGENTS; i++) {
    const kubeletPort = await freePort();
    track.agents.push(
      startAgentJoin(through, tok.body.token, {
        k3s: 'auto',
        args: ['--node-name', `rk${i}`],
        env: {
          ATOLL_STANDIN_KUBELET_PORT: String(kubeletPort),
          ATOLL_AGENT_KUBELET_HEALTHZ_URL: `http://127.0.0.1:${kubeletPort}/healthz`,
          ATOLL_STANDIN_HEARTBEAT_MS: '500',
          ATOLL_AGENT_K3S_START_GRACE_MS: '3000',
        },
      }),
    );
  }
  const nodes = await waitFor(
    `k3s nodes Ready on hub ${via.toUpperCase()}`,
    async () => {
      const items = (await through.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
      return items.length === AGENTS && items.every((n) => n.state === 'ready' && n.k3s.ready)
        ? items.sort((x, y) => x.name.localeCompare(y.name))
        : undefined;
    },
    90_000,
  ).catch(async (err: Error) => {
    const views = await Promise.all([a, b].map((h) => h.api('GET', '/v1/nodes').catch((e: Error) => e.message)));
    throw new Error(`${err.message}\n${JSON.stringify(views)}\nagent: ${track.agents[0].proc.stderr().slice(-3000)}`);
  });
  return { a, b, nodes };
}

/** The rollout's events, as hub `h` lists them. */
export async function rolloutEvents(h: TestHub, id: string): Promise<RolloutEvent[]> {
  return (await h.api<{ items: RolloutEvent[] }>('GET', '/v1/events?limit=1000')).body.items.filter(
    (e) => e.data?.rolloutId === id,
  );
}

/**
 * No node upgraded twice: one swap (the new version sent) and one done per node, and one cordon but
 * for `recordonOk` (a node whose stored step was redone after a leader change).
 */
export function assertUpgradedOnce(events: RolloutEvent[], nodes: NodeView[], recordonOk?: string): void {
  for (const n of nodes) {
    const phases = events.filter((e) => e.type === 'upgrade.step' && e.nodeId === n.id).map((e) => e.data.phase);
    assert.equal(phases.filter((p) => p === 'swap').length, 1, `${n.name}: ${phases.join(',')}`);
    assert.equal(phases.filter((p) => p === 'done').length, 1, `${n.name}: ${phases.join(',')}`);
    if (n.id !== recordonOk)
      assert.equal(phases.filter((p) => p === 'cordon').length, 1, `${n.name}: ${phases.join(',')}`);
  }
}

/** Every node Ready on V1 and ready in atoll (through hub `h`), and schedulable in Kubernetes' view. */
export async function assertAllOnV1(h: TestHub, nodes: NodeView[], work: string): Promise<void> {
  const final = await waitFor(
    'every node ready on the new version',
    async () => {
      const items = (await h.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
      return items.every((n) => n.state === 'ready' && n.k3s.ready === true && n.k3s.version === V1)
        ? items
        : undefined;
    },
    30_000,
  );
  assert.equal(final.length, AGENTS);
  const kubeconfig = join(work, 'kubeconfig-b.yaml');
  writeFileSync(kubeconfig, (await h.api<string>('GET', '/v1/cluster/kubeconfig')).body, { mode: 0o600 });
  const creds = readKubeconfig(kubeconfig);
  const kn = (
    (await call(creds, '/api/v1/nodes')).json() as {
      items: Array<{
        metadata: { name: string };
        spec?: { unschedulable?: boolean };
        status: { nodeInfo: { kubeletVersion: string } };
      }>;
    }
  ).items;
  assert.deepEqual(
    kn.map((n) => [n.metadata.name, n.status.nodeInfo.kubeletVersion, Boolean(n.spec?.unschedulable)]).sort(),
    nodes.map((n) => [n.name, V1, false]),
    'no node left cordoned',
  );
}
