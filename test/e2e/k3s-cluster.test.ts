// End to end, with "foreign servers": the hub in one network namespace and three agents in three
// others. Each agent joins, installs k3s (the stand-in) from the hub, and becomes a Ready node with
// its pool's labels; kubectl through the hub's kubeconfig lists them; a rolling k3s upgrade moves
// the control plane and then every node to the next patch; removing one drains and deletes it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, netnsAvailable, type Lab, type Host } from '../helpers/netns.js';
import {
  HUB_BIN,
  AGENT_BIN,
  ROOT,
  apiCall,
  waitFor,
  startProcess,
  type Proc,
  removeTree,
} from '../helpers/processes.js';

const avail = netnsAvailable();
const kubectl = existsSync('/usr/bin/kubectl') ? '/usr/bin/kubectl' : undefined;

interface NodeView {
  id: string;
  name: string;
  pool: string;
  state: string;
  k3s: { state: string; version: string; ready: boolean | null };
}

let lab: Lab;
let work: string;
let standin: string;
const procs: Proc[] = [];

function startIn(host: Host, bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const p = startProcess(bin, args, env, ['ip', 'netns', 'exec', host.ns]);
  procs.push(p);
  return p;
}

before(async () => {
  if (!avail.ok) return;
  work = mkdtempSync(join(tmpdir(), 'atoll-e2e-'));
  standin = join(work, 'k3s');
  const b = spawnSync(process.execPath, [join(ROOT, 'scripts/build-standin.mjs'), '--out', standin], {
    encoding: 'utf8',
  });
  assert.equal(b.status, 0, b.stderr);
  lab = createLab();
});

after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  lab?.cleanup();
  if (work) removeTree(work);
});

test(
  'three foreign servers join, install k3s from the hub and become Ready nodes, are upgraded in a rolling upgrade',
  { skip: avail.ok ? (kubectl ? false : 'kubectl is not installed') : avail.why, timeout: 300_000 },
  async () => {
    const hubHost = lab.addHost('hub');
    const agentsHosts = [lab.addHost('a0'), lab.addHost('a1'), lab.addHost('a2')];
    const dataDir = join(work, 'hub');
    const hub = startIn(hubHost, HUB_BIN, [
      'run',
      '--data-dir',
      dataDir,
      '--api-listen',
      `${hubHost.ip}:9443`,
      '--gateway-listen',
      '0.0.0.0:9444',
      '--public-url',
      `https://${hubHost.ip}:9444`,
      '--k3s',
      standin,
      '--k3s-arg=--disable-agent',
      '--heartbeat-interval',
      '1s',
      '--unreachable-after',
      '5s',
    ]);
    const apiUrl = `https://${hubHost.ip}:9443`;
    const ca = (): string => readFileSync(join(dataDir, 'ca.crt'), 'utf8');
    const token = (): string => readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const api = <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> =>
      apiCall<T>(apiUrl, ca(), token(), method, path, body);
    await waitFor(
      'control plane running',
      async () => (await api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running',
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${hub.stderr().slice(-3000)}`);
    });

    assert.equal(
      (
        await api('POST', '/v1/pools', {
          name: 'edge',
          labels: { 'topology.kubernetes.io/region': 'fr-par', tier: 'edge' },
        })
      ).status,
      201,
    );
    const tok = await api<{ token: string }>('POST', '/v1/tokens', { pool: 'edge', uses: 3, ttl: '10m' });
    assert.equal(tok.status, 201);
    const agents = agentsHosts.map((h, i) =>
      startIn(
        h,
        AGENT_BIN,
        [
          'join',
          '--hub',
          `https://${hubHost.ip}:9444`,
          '--token',
          tok.body.token,
          '--node-name',
          `edge-${i}`,
          '--data-dir',
          join(work, `agent-${i}`),
        ],
        { ATOLL_AGENT_K3S_START_GRACE_MS: '20000' },
      ),
    );

    const nodes = await waitFor(
      'three Ready k3s nodes',
      async () => {
        const r = await api<{ items: NodeView[] }>('GET', '/v1/nodes');
        const items = r.body.items;
        return items.length === 3 &&
          items.every((n) => n.state === 'ready' && n.k3s.ready === true && n.k3s.state === 'running')
          ? items
          : undefined;
      },
      90_000,
    ).catch(async (err: Error) => {
      const r = await api<{ items: NodeView[] }>('GET', '/v1/nodes');
      throw new Error(
        `${err.message}\nnodes: ${JSON.stringify(r.body.items.map((n) => [n.name, n.state, n.k3s]))}\nagent0: ${agents[0].stderr().slice(-2000)}`,
      );
    });
    for (const n of nodes) assert.equal(n.k3s.version, 'v1.31.4+k3s1');

    // kubectl, from outside, through the kubeconfig the hub serves.
    const kc = await api<string>('GET', '/v1/cluster/kubeconfig');
    assert.equal(kc.status, 200);
    assert.match(kc.body, new RegExp(`server: https://${hubHost.ip.replace(/\./g, '\\.')}:6443`));
    const kcPath = join(work, 'kubeconfig.yaml');
    writeFileSync(kcPath, kc.body, { mode: 0o600 });
    const get = spawnSync(kubectl!, ['--kubeconfig', kcPath, 'get', 'nodes', '-o', 'json'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(get.status, 0, get.stderr);
    const kubeNodes = (
      JSON.parse(get.stdout) as {
        items: Array<{
          metadata: { name: string; labels: Record<string, string> };
          spec: { providerID?: string };
          status: { conditions: Array<{ type: string; status: string }> };
        }>;
      }
    ).items;
    assert.deepEqual(kubeNodes.map((n) => n.metadata.name).sort(), ['edge-0', 'edge-1', 'edge-2']);
    for (const kn of kubeNodes) {
      assert.equal(kn.metadata.labels['atoll.dev/pool'], 'edge');
      assert.equal(kn.metadata.labels['topology.kubernetes.io/region'], 'fr-par');
      assert.equal(kn.metadata.labels.tier, 'edge');
      assert.equal(kn.metadata.labels['atoll.dev/node-id'], nodes.find((n) => n.name === kn.metadata.name)!.id);
      // The kubelet's --provider-id: how cluster-autoscaler's externalgrpc provider names the node.
      assert.equal(kn.spec.providerID, `atoll://${kn.metadata.labels['atoll.dev/node-id']}`);
      assert.equal(kn.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    }

    // kubectl cordon and drain through the hub's kubeconfig; the hub sees the cordon.
    const cordon = spawnSync(
      kubectl!,
      ['--kubeconfig', kcPath, 'drain', 'edge-1', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=30s'],
      { encoding: 'utf8', timeout: 40_000 },
    );
    assert.equal(cordon.status, 0, cordon.stderr);
    const e1 = nodes.find((n) => n.name === 'edge-1')!;
    await waitFor(
      'hub shows edge-1 cordoned',
      async () => (await api<NodeView>('GET', `/v1/nodes/${e1.id}`)).body.state === 'cordoned',
      10_000,
    );
    assert.equal(
      spawnSync(kubectl!, ['--kubeconfig', kcPath, 'uncordon', 'edge-1'], { encoding: 'utf8', timeout: 30_000 }).status,
      0,
    );
    await waitFor(
      'hub shows edge-1 ready',
      async () => (await api<NodeView>('GET', `/v1/nodes/${e1.id}`)).body.state === 'ready',
      10_000,
    );

    // A rolling upgrade to the next patch across the namespaces: the control plane first, then each
    // node cordoned, drained, swapped and verified, one at a time; same node ids, new version everywhere.
    const V1 = 'v1.31.5+k3s1';
    const next = join(work, 'k3s-next');
    const nb = spawnSync(process.execPath, [join(ROOT, 'scripts/build-standin.mjs'), '--out', next, '--version', V1], {
      encoding: 'utf8',
    });
    assert.equal(nb.status, 0, nb.stderr);
    const imp = spawnSync(
      process.execPath,
      [HUB_BIN, 'artifact', 'import', 'k3s', '--version', V1, '--arch', 'amd64', '--file', next, '--data-dir', dataDir],
      { encoding: 'utf8' },
    );
    assert.equal(imp.status, 0, imp.stderr);
    const up = await api<{ id: string }>('POST', '/v1/upgrades', {
      version: V1,
      window: 'now',
      dwell: '2s',
      verifyTimeout: '60s',
      drain: { timeout: '30s' },
    });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    interface Rollout {
      state: string;
      controlPlane: { phase: string; finishedAt: string } | null;
      nodes: Array<{ id: string; name: string; phase: string; startedAt: string; finishedAt: string }>;
    }
    const rollout = await waitFor(
      'the rollout to finish',
      async () => {
        const r = (await api<Rollout>('GET', `/v1/upgrades/${up.body.id}`)).body;
        return ['done', 'halted'].includes(r.state) ? r : undefined;
      },
      150_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}
${JSON.stringify((await api('GET', `/v1/upgrades/${up.body.id}`)).body)}`);
    });
    assert.equal(rollout.state, 'done', JSON.stringify(rollout));
    assert.equal(rollout.controlPlane?.phase, 'done');
    assert.deepEqual(
      rollout.nodes.map((n) => [n.name, n.phase]),
      [
        ['edge-0', 'done'],
        ['edge-1', 'done'],
        ['edge-2', 'done'],
      ],
    );
    assert.ok(rollout.controlPlane.finishedAt <= rollout.nodes[0].startedAt, 'control plane first');
    for (let i = 1; i < 3; i++)
      assert.ok(rollout.nodes[i].startedAt >= rollout.nodes[i - 1].finishedAt, 'one node at a time');
    const upgraded = spawnSync(kubectl!, ['--kubeconfig', kcPath, 'get', 'nodes', '-o', 'json'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(upgraded.status, 0, upgraded.stderr);
    const kn2 = (
      JSON.parse(upgraded.stdout) as {
        items: Array<{
          metadata: { name: string; labels: Record<string, string> };
          spec?: { unschedulable?: boolean };
          status: { nodeInfo: { kubeletVersion: string } };
        }>;
      }
    ).items;
    assert.deepEqual(
      kn2
        .map((n) => [
          n.metadata.name,
          n.status.nodeInfo.kubeletVersion,
          Boolean(n.spec?.unschedulable),
          n.metadata.labels['atoll.dev/node-id'],
        ])
        .sort(),
      nodes.map((n) => [n.name, V1, false, n.id]).sort(),
      'kubectl: the new version on every node, node ids unchanged',
    );

    // A pod on edge-2, then remove edge-2 through the API: it is drained and deleted from Kubernetes.
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'web-1',
        namespace: 'default',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: '1a2b' }],
      },
      spec: { nodeName: 'edge-2', containers: [{ name: 'web', image: 'nginx' }] },
    };
    const podFile = join(work, 'pod.json');
    writeFileSync(podFile, JSON.stringify(pod));
    const create = spawnSync(kubectl!, ['--kubeconfig', kcPath, 'create', '--validate=false', '-f', podFile], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(create.status, 0, create.stderr);
    const victim = nodes.find((n) => n.name === 'edge-2')!;
    assert.equal((await api('DELETE', `/v1/nodes/${victim.id}`)).status, 204);
    const after = spawnSync(kubectl!, ['--kubeconfig', kcPath, 'get', 'nodes', '-o', 'name'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.deepEqual(after.stdout.trim().split('\n').sort(), ['node/edge-0', 'node/edge-1']);
    const pods = spawnSync(
      kubectl!,
      ['--kubeconfig', kcPath, 'get', 'pods', '-A', '--field-selector', 'spec.nodeName=edge-2', '-o', 'name'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(pods.stdout.trim(), '', 'the pod was evicted');
    const evs = (
      await api<{ items: Array<{ type: string }> }>('GET', `/v1/events?node=${victim.id}&limit=1000`)
    ).body.items.map((e) => e.type);
    assert.ok(evs.includes('node.drained'), `events: ${evs.join(',')}`);
    assert.ok(evs.includes('node.removed'));
    // The agent stops its k3s and reports that it was removed.
    assert.equal(await agents[2].exited, 3);
    assert.match(agents[2].stderr(), /removed from the hub/);
    const secrets = spawnSync(kubectl!, ['--kubeconfig', kcPath, 'get', 'secrets', '-n', 'kube-system', '-o', 'name'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.doesNotMatch(secrets.stdout, /edge-2\.node-password\.k3s/);
    await hub.kill('SIGTERM');
  },
);
