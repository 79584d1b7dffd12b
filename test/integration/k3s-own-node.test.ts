// The hub's own k3s node, with the k3s stand-in on loopback: by default it is tainted as a control
// plane (workloads go elsewhere) and atoll shows it in GET /v1/cluster without managing it; the
// kubeconfig the hub hands out is named after the cluster; labels set with kubectl show in atoll.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
  type HubHandle,
  type AgentHandle,
  removeTree,
} from '../helpers/processes.js';
import { freePort } from '../helpers/ports.js';
import { buildStandin, kubeCore } from '../helpers/k3s-standin.js';

interface OwnNode {
  name: string;
  ready: boolean | null;
  unschedulable: boolean;
  taints: string[];
  labels: Record<string, string>;
}
interface Cluster {
  state: string;
  controlPlane: { node: OwnNode | null };
}

let work: string;
let hub: HubHandle;
let k3sPort: number;
const agents: AgentHandle[] = [];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'atoll-own-node-'));
  const standin = join(work, 'k3s');
  buildStandin(standin);
  k3sPort = await freePort();
  hub = await startHub({
    k3s: standin,
    extraArgs: ['--k3s-https-port', String(k3sPort), '--cluster-name', 'prod-eu'],
    env: { ATOLL_STANDIN_HEARTBEAT_MS: '1000' },
  });
  await waitFor(
    'control plane running',
    async () => (await hub.api<Cluster>('GET', '/v1/cluster')).body.state === 'running',
    30_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${hub.proc.stderr().slice(-3000)}`);
  });
});

after(async () => {
  for (const a of agents) await a.proc.kill('SIGKILL');
  for (const a of agents) removeDir(a.dataDir);
  await hub?.stop('SIGKILL');
  if (hub) removeDir(hub.dataDir);
  if (work) removeTree(work);
});

test("the hub's own k3s node is tainted as a control plane, listed in GET /v1/cluster, not among atoll's nodes", async () => {
  const own = await waitFor(
    'own node Ready',
    async () => {
      const n = (await hub.api<Cluster>('GET', '/v1/cluster')).body.controlPlane.node;
      return n?.ready === true ? n : undefined;
    },
    20_000,
  );
  assert.deepEqual(own.taints, ['node-role.kubernetes.io/control-plane:NoSchedule']);
  assert.equal(own.labels['node-role.kubernetes.io/control-plane'], 'true');
  assert.equal(own.unschedulable, false);
  assert.deepEqual(
    (await hub.api<{ items: unknown[] }>('GET', '/v1/nodes')).body.items,
    [],
    'no agent runs there: not an atoll node',
  );

  // A workload without a toleration is not placed on it; one that tolerates the taint is.
  const core = await kubeCore(hub);
  const pod = (name: string, tolerate: boolean): k8s.V1Pod => ({
    metadata: { name, namespace: 'default' },
    spec: {
      containers: [{ name: 'c', image: 'busybox' }],
      ...(tolerate
        ? { tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] }
        : {}),
    },
  });
  await core.createNamespacedPod({ namespace: 'default', body: pod('tolerates', true) });
  await core.createNamespacedPod({ namespace: 'default', body: pod('plain', false) });
  const placed = await waitFor(
    'tolerating pod placed',
    async () => (await core.readNamespacedPod({ name: 'tolerates', namespace: 'default' })).spec?.nodeName,
    10_000,
  );
  assert.equal(placed, own.name);
  const plain = await core.readNamespacedPod({ name: 'plain', namespace: 'default' });
  assert.equal(plain.spec?.nodeName, undefined, 'a plain workload does not run on the control plane');
  assert.equal(plain.status?.phase, 'Pending');
});

test('the kubeconfig names its cluster, user and context after the cluster (--cluster-name), not "default"', async () => {
  const res = await hub.api<string>('GET', '/v1/cluster/kubeconfig');
  assert.equal(res.status, 200);
  const kc = new k8s.KubeConfig();
  kc.loadFromString(res.body);
  assert.deepEqual(
    kc.getClusters().map((c) => [c.name, c.server]),
    [['prod-eu', `https://127.0.0.1:${k3sPort}`]],
  );
  assert.deepEqual(
    kc.getUsers().map((u) => u.name),
    ['prod-eu'],
  );
  assert.deepEqual(
    kc.getContexts().map((c) => [c.name, c.cluster, c.user]),
    [['prod-eu', 'prod-eu', 'prod-eu']],
  );
  assert.equal(kc.getCurrentContext(), 'prod-eu');
  assert.doesNotMatch(res.body, /\bdefault\b/);
  // Still a working admin kubeconfig.
  assert.ok((await kc.makeApiClient(k8s.CoreV1Api).listNode()).items.length >= 1);

  const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((p) => existsSync(p));
  if (!kubectl) return;
  const path = join(work, 'kubeconfig.yaml');
  writeFileSync(path, res.body, { mode: 0o600 });
  const r = spawnSync(kubectl, ['--kubeconfig', path, 'config', 'get-contexts', '-o', 'name'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'prod-eu');
});

test("labels set through the Kubernetes API (kubectl label) show in the node's kubeLabels", async () => {
  const kubeletPort = await freePort();
  const env = {
    ATOLL_STANDIN_KUBELET_PORT: String(kubeletPort),
    ATOLL_AGENT_KUBELET_HEALTHZ_URL: `http://127.0.0.1:${kubeletPort}/healthz`,
    ATOLL_STANDIN_HEARTBEAT_MS: '1000',
    ATOLL_AGENT_K3S_START_GRACE_MS: '3000',
  };
  const tok = await hub.api<{ token: string }>('POST', '/v1/tokens', {});
  const agent = startAgentJoin(hub, tok.body.token, {
    k3s: 'auto',
    args: ['--node-name', 'worker-1', '--label', 'tier=web'],
    env,
  });
  agents.push(agent);
  interface View {
    id: string;
    k3s: { ready: boolean | null };
    labels: Record<string, string>;
    kubeLabels: Record<string, string>;
  }
  const node = await waitFor(
    'k3s Ready',
    async () => {
      const n = (await hub.api<{ items: View[] }>('GET', '/v1/nodes')).body.items[0];
      return n?.k3s.ready === true ? n : undefined;
    },
    40_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${agent.proc.stderr().slice(-2000)}`);
  });
  assert.equal(node.kubeLabels['kubernetes.io/hostname'], 'worker-1');
  assert.equal(node.kubeLabels.tier, 'web', "atoll's labels are on the Kubernetes Node too");

  await (
    await kubeCore(hub)
  ).patchNode(
    { name: 'worker-1', body: { metadata: { labels: { 'team.example.com/owner': 'payments' } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  const seen = await waitFor(
    'kubectl label seen',
    async () => {
      const n = (await hub.api<View>('GET', `/v1/nodes/${node.id}`)).body;
      return n.kubeLabels['team.example.com/owner'] === 'payments' ? n : undefined;
    },
    10_000,
  );
  assert.equal(seen.labels['team.example.com/owner'], undefined, "atoll's own labels stay what atoll set");
  const listed = (await hub.api<{ items: View[] }>('GET', '/v1/nodes')).body.items[0];
  assert.equal(listed.kubeLabels['team.example.com/owner'], 'payments');
});
