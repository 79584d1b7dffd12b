// Two hubs on one PostgreSQL, each with its k3s server (the stand-in) on the shared k3s datastore, and
// three real agents with their k3s agents, joined through hub B. Hub A leads the 'upgrades' role and
// runs a rolling k3s upgrade of nodes whose agents are all connected to hub B: each node passes
// preflight and verify with what its agent reports on hub B, hub B sends it the new version, and every
// node ends Ready on the new version, upgraded once and uncordoned. Needs a build (dist/) and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_BIN, removeTree, runCli, startAgentJoin, waitFor, type AgentHandle } from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { freePort } from '../helpers/ports.js';
import { stopProc } from '../helpers/bad-input.js';
import { HubGroup, type TestHub } from '../helpers/hubs.js';
import { buildStandin, type NodeView, type RolloutView } from '../helpers/upgrade-cluster.js';
import { keepMinorSupported } from '../helpers/version-support.js';
import { call, readKubeconfig } from '../contracts/helpers/kube-http.js';

const V0 = 'v1.31.4+k3s1';
const V1 = 'v1.31.5+k3s1';
const AGENTS = 3;
const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';

let server: PgServer | undefined;
let group: HubGroup | undefined;
let work = '';
const agents: AgentHandle[] = [];

before(async () => {
  if (skip) return;
  server = await startPostgres();
  work = mkdtempSync(join(tmpdir(), 'atoll-hubs-rollout-remote-'));
});
after(async () => {
  for (const a of agents) await stopProc(a.proc);
  await group?.cleanup();
  server?.stop();
  for (const a of agents) removeTree(join(a.dataDir, '..'));
  if (work) removeTree(work);
});

interface HubItem {
  id: string;
  live: boolean;
  leader: string[];
  self: boolean;
}
interface Ev {
  id: number;
  type: string;
  nodeId?: string;
  createdAt?: string;
  data: { phase?: string; rolloutId?: string };
}

async function leads(h: TestHub, role: string): Promise<boolean> {
  const r = await h.api<{ items: HubItem[] }>('GET', '/v1/hubs').catch(() => undefined);
  return r?.status === 200 && r.body.items.some((i) => i.self && i.leader.includes(role));
}

test(
  'the upgrades leader upgrades nodes whose agents are connected to another hub',
  { skip, timeout: 300_000 },
  async () => {
    const pg = server!;
    const standin = join(work, 'k3s-v0');
    buildStandin(standin, V0);
    buildStandin(join(work, 'k3s-v1'), V1);
    group = new HubGroup(pg, 'rollremote', { poolSize: 4, viaEnv: true, prefix: 'atoll-rollremote-' });
    const g = group;
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
      const r = await runCli(
        HUB_BIN,
        [
          'artifact',
          'import',
          'k3s',
          '--version',
          V1,
          '--arch',
          'amd64',
          '--file',
          join(work, 'k3s-v1'),
          '--data-dir',
          h.dataDir,
        ],
        { ATOLL_DATASTORE: g.url },
      );
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
    // Three agents with their k3s agents, all through hub B (the hub that does not lead).
    const tok = await b.api<{ token: string }>('POST', '/v1/tokens', { uses: AGENTS });
    assert.equal(tok.status, 201, JSON.stringify(tok.body));
    for (let i = 0; i < AGENTS; i++) {
      const kubeletPort = await freePort();
      agents.push(
        startAgentJoin(b, tok.body.token, {
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
      'k3s nodes Ready on hub B',
      async () => {
        const items = (await b.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
        return items.length === AGENTS && items.every((n) => n.state === 'ready' && n.k3s.ready)
          ? items.sort((x, y) => x.name.localeCompare(y.name))
          : undefined;
      },
      90_000,
    ).catch(async (err: Error) => {
      const views = await Promise.all([a, b].map((h) => h.api('GET', '/v1/nodes').catch((e: Error) => e.message)));
      throw new Error(`${err.message}\n${JSON.stringify(views)}\nagent: ${agents[0].proc.stderr().slice(-3000)}`);
    });

    // Hub A (no agent link) sees them ready too: their state from what hub B stores, their
    // Kubernetes view from the shared k3s datastore.
    await waitFor(
      'the nodes ready as seen by hub A',
      async () => {
        const items = (await a.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
        return items.length === AGENTS && items.every((n) => n.state === 'ready' && n.k3s.ready);
      },
      30_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify((await a.api('GET', '/v1/nodes')).body)}`);
    });

    // The rollout, through the leader (hub A), which holds no agent link.
    const started = await a.api<RolloutView>('POST', '/v1/upgrades', {
      version: V1,
      window: 'now',
      dwell: '4s',
      verifyTimeout: '60s',
      drain: { timeout: '10s' },
      controlPlane: false,
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = started.body.id;
    const view = async (h: TestHub): Promise<RolloutView> =>
      (await h.api<RolloutView>('GET', `/v1/upgrades/${id}`)).body;
    const r = await waitFor(
      'the rollout finished',
      async () => {
        const x = await view(a);
        return x.state !== 'running' && x.state !== 'waiting-window' ? x : undefined;
      },
      150_000,
      250,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(await view(a))}`);
    });
    process.stdout.write(`# rollout of 3 nodes on hub B by the leader hub A: ${r.message}\n`);
    assert.equal(r.id, id);
    assert.equal(r.state, 'done', JSON.stringify(r));
    assert.deepEqual(
      r.nodes.map((n) => n.phase),
      nodes.map(() => 'done'),
    );
    const events = (await b.api<{ items: Ev[] }>('GET', '/v1/events?limit=1000')).body.items.filter(
      (e) => e.data?.rolloutId === id,
    );
    assert.equal(events.filter((e) => e.type === 'upgrade.started').length, 1, 'started once');
    // No node upgraded twice: one swap (the new version sent) and one done per node.
    for (const n of nodes) {
      const phases = events.filter((e) => e.type === 'upgrade.step' && e.nodeId === n.id).map((e) => e.data.phase);
      assert.equal(phases.filter((p) => p === 'swap').length, 1, `${n.name}: ${phases.join(',')}`);
      assert.equal(phases.filter((p) => p === 'done').length, 1, `${n.name}: ${phases.join(',')}`);
      assert.equal(phases.filter((p) => p === 'cordon').length, 1, `${n.name}: ${phases.join(',')}`);
    }
    // Every node Ready on the new version, schedulable (kube's view through hub B), and ready in atoll.
    const final = await waitFor(
      'every node ready on the new version',
      async () => {
        const items = (await b.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
        return items.every((n) => n.state === 'ready' && n.k3s.ready === true && n.k3s.version === V1)
          ? items
          : undefined;
      },
      30_000,
    );
    assert.equal(final.length, AGENTS);
    const kubeconfig = join(work, 'kubeconfig-b.yaml');
    writeFileSync(kubeconfig, (await b.api<string>('GET', '/v1/cluster/kubeconfig')).body, { mode: 0o600 });
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
  },
);
