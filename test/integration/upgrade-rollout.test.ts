// Rolling k3s upgrades on loopback with the k3s stand-in (a hub and three k3s agents; network
// namespaces add nothing here: every step goes over the same agent link and kube API):
// refusals change nothing; three nodes go one at a time through cordon, drain, swap, verify,
// uncordon onto the next patch with their ids unchanged; a broken artifact rolls its node back,
// halts the rollout and leaves every node Ready and uncordoned.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, waitFor, HUB_BIN, type HubHandle, type AgentHandle } from '../helpers/processes.js';
import { readKubeconfig, call } from '../contracts/helpers/kube-http.js';
import { pdb, pod, replicaSet } from '../contracts/helpers/fixtures.js';
import {
  buildStandin,
  foreignElf,
  importK3s,
  startUpgradeCluster,
  stopTracked,
  type UpgradeCluster,
  type RolloutView,
  type NodeView,
} from '../helpers/upgrade-cluster.js';

const V0 = 'v1.31.4+k3s1';
const V1 = 'v1.31.5+k3s1';
const BROKEN = 'v1.31.6+k3s1';
let work: string;
let c: UpgradeCluster;
const track: { hubs: HubHandle[]; agents: AgentHandle[] } = { hubs: [], agents: [] };

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'atoll-upgrade-rollout-'));
  buildStandin(join(work, 'k3s-v0'), V0);
  buildStandin(join(work, 'k3s-v1'), V1);
  buildStandin(join(work, 'k3s-broken'), BROKEN, true);
  c = await startUpgradeCluster(join(work, 'k3s-v0'), work, 3, 'up', track);
});

after(() => stopTracked(track, work));

interface Refused {
  error: { code: string; message: string };
}

test('refusals: downgrade, minor skip, kubelet newer than the apiserver, missing arch; nothing changes', async () => {
  // An import checks that the binary says its version: one stand-in per version.
  for (const v of ['v1.31.3+k3s1', 'v1.33.0+k3s1', 'v1.32.0+k3s1']) {
    buildStandin(join(work, `k3s-${v}`), v);
    await importK3s(c.hub, v, join(work, `k3s-${v}`));
  }
  await importK3s(c.hub, 'v1.31.9+k3s1', foreignElf(join(work, 'k3s-arm64'), 'arm64'), 'arm64');
  // A minor upgrade is allowed with the control plane going first; leaving it out would put the
  // kubelets ahead of the apiserver.
  const cases: Array<[string, string, RegExp, Record<string, unknown>?]> = [
    ['v1.31.3+k3s1', 'DOWNGRADE', /downgrades are refused/],
    ['v1.33.0+k3s1', 'MINOR_SKIP', /skips a minor/],
    ['v1.32.0+k3s1', 'KUBELET_NEWER_THAN_APISERVER', /newer than the apiserver/, { controlPlane: false }],
    [
      'v1.31.9+k3s1',
      'ARTIFACT_MISSING',
      /no k3s v1\.31\.9\+k3s1 artifact for amd64 \(needed by the control plane, up0/,
    ],
  ];
  for (const [version, code, re, extra] of cases) {
    const r = await c.hub.api<Refused>('POST', '/v1/upgrades', { version, window: 'now', ...extra });
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.ok(r.body.error.message.includes(`[${code}]`), `${version}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.error.message, re);
  }
  // The CLI says the same, with exit code 1.
  const cli = await runCli(HUB_BIN, [
    'upgrade',
    'start',
    '--version',
    'v1.31.3+k3s1',
    '--now',
    '--data-dir',
    c.hub.dataDir,
  ]);
  assert.equal(cli.code, 1, cli.stderr);
  assert.match(cli.stderr, /downgrades are refused/);
  // Nothing changed: no rollout, every node Ready, schedulable, on the old version.
  assert.deepEqual((await c.hub.api<{ items: unknown[] }>('GET', '/v1/upgrades')).body.items, []);
  for (const n of await c.kubeNodes())
    assert.deepEqual([n.version, n.ready, n.unschedulable], [V0, true, false], n.name);
  const events = (
    await c.hub.api<{ items: Array<{ type: string }> }>('GET', '/v1/events?type=upgrade.refused&limit=100')
  ).body.items;
  assert.equal(events.length, 5);
});

test('three nodes upgraded to the next patch one at a time: cordon, drain, swap, verify, uncordon; ids unchanged', async () => {
  await importK3s(c.hub, V1, join(work, 'k3s-v1'));
  const info = (
    await c.hub.api<{ upgrades: { current: string; available: Array<{ version: string; kind: string }> } }>(
      'GET',
      '/v1/cluster',
    )
  ).body.upgrades;
  assert.equal(info.current, V0);
  assert.deepEqual(info.available.find((a) => a.version === V1)?.kind, 'patch');
  const cli = await runCli(HUB_BIN, [
    'upgrade',
    'start',
    '--version',
    V1,
    '--now',
    '--dwell',
    '1s',
    '--verify-timeout',
    '40s',
    '--drain-timeout',
    '10s',
    '-o',
    'json',
    '--data-dir',
    c.hub.dataDir,
  ]);
  assert.equal(cli.code, 0, cli.stderr);
  const started = JSON.parse(cli.stdout) as RolloutView;
  const r = await c.waitRollout(
    started.id,
    (x) => x.state !== 'running' && x.state !== 'waiting-window',
    'rollout finished',
    80_000,
  );
  assert.equal(r.state, 'done', JSON.stringify(r));
  assert.deepEqual(
    r.nodes.map((n) => n.phase),
    ['done', 'done', 'done'],
  );
  // Control plane first: the hub's k3s server was swapped and serving on V1 before any node began.
  assert.equal(r.controlPlane?.phase, 'done', JSON.stringify(r.controlPlane));
  assert.ok(r.controlPlane.finishedAt! <= r.nodes[0].startedAt!, 'a node started before the control plane was done');
  const cluster = (await c.hub.api<{ state: string; upgrades: { current: string } }>('GET', '/v1/cluster')).body;
  assert.deepEqual([cluster.state, cluster.upgrades.current], ['running', V1]);
  // One at a time: each node started after the previous one finished.
  for (let i = 1; i < r.nodes.length; i++)
    assert.ok(r.nodes[i].startedAt! >= r.nodes[i - 1].finishedAt!, `node ${i} overlapped`);
  // Every step is an event, in order, per node.
  const steps = (
    await c.hub.api<{ items: Array<{ nodeId: string; data: { phase?: string; rolloutId?: string } }> }>(
      'GET',
      '/v1/events?type=upgrade.step&limit=1000',
    )
  ).body.items.filter((e) => e.data.rolloutId === r.id && e.data.phase);
  for (const n of c.nodes) {
    const phases = steps.filter((e) => e.nodeId === n.id).map((e) => e.data.phase);
    const order = ['preflight', 'cordon', 'drain', 'swap', 'verify', 'uncordon', 'done'];
    assert.deepEqual(
      phases.filter((p) => order.includes(p!)).sort((a, b) => order.indexOf(a!) - order.indexOf(b!)),
      order,
      `${n.name}: ${phases.join(',')}`,
    );
  }
  // kubectl get nodes: the new version everywhere, Ready, schedulable; node ids unchanged.
  const kube = await c.kubeNodes();
  assert.deepEqual(
    kube.map((n) => [n.name, n.version, n.ready, n.unschedulable]),
    c.nodes.map((n) => [n.name, V1, true, false]),
  );
  const after = (await c.hub.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items.sort((a, b) =>
    a.name.localeCompare(b.name),
  );
  assert.deepEqual(
    after.map((n) => n.id),
    c.nodes.map((n) => n.id),
  );
  assert.ok(
    after.every((n) => n.state === 'ready'),
    JSON.stringify(after.map((n) => n.state)),
  );
  const status = await runCli(HUB_BIN, ['upgrade', 'status', r.id, '--data-dir', c.hub.dataDir]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /up0 +default +v1\.31\.4\+k3s1 +done/);
  assert.match(status.stdout, /\(control plane\) +- +v1\.31\.4\+k3s1 +done/);
});

test('a broken artifact on the control plane: the old server binary is restored, the rollout halts, no node is touched', async () => {
  await importK3s(c.hub, BROKEN, join(work, 'k3s-broken'));
  const start = await c.hub.api<RolloutView>('POST', '/v1/upgrades', {
    version: BROKEN,
    window: 'now',
    dwell: '1s',
    verifyTimeout: '8s',
  });
  assert.equal(start.status, 201, JSON.stringify(start.body));
  const r = await c.waitRollout(
    start.body.id,
    (x) => x.state === 'halted' || x.state === 'done',
    'rollout halted',
    60_000,
  );
  assert.equal(r.state, 'halted', JSON.stringify(r));
  assert.equal(r.controlPlane?.phase, 'upgrade-failed');
  assert.match(r.controlPlane.message, /verify failed.*restored k3s v1\.31\.5\+k3s1, which serves again/);
  assert.deepEqual(
    r.nodes.map((n) => n.phase),
    ['pending', 'pending', 'pending'],
  );
  const cluster = (await c.hub.api<{ state: string; upgrades: { current: string } }>('GET', '/v1/cluster')).body;
  assert.deepEqual([cluster.state, cluster.upgrades.current], ['running', V1]);
  assert.equal(
    (await c.hub.api<{ items: unknown[] }>('GET', '/v1/events?type=upgrade.control-plane-failed&limit=10')).body.items
      .length,
    1,
  );
  // The nodes kept serving (after the server's restarts) and were never cordoned.
  const kube = await waitFor(
    'nodes Ready again',
    async () => {
      const k = await c.kubeNodes();
      return k.every((n) => n.ready) ? k : undefined;
    },
    30_000,
  );
  assert.deepEqual(
    kube.map((n) => [n.name, n.version, n.unschedulable]),
    c.nodes.map((n) => [n.name, V1, false]),
  );
});

test('a broken artifact on a node: it is rolled back, the rollout halts, every node stays Ready and uncordoned', async () => {
  // The control plane stays on V1 (a patch ahead on the kubelets is within the skew policy). The
  // previous test restarted the server: start from a pool the hub sees ready again.
  await waitFor(
    'all nodes ready',
    async () =>
      (await c.hub.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items.every(
        (n) => n.state === 'ready' && n.k3s.ready === true,
      ),
    30_000,
  );
  const start = await c.hub.api<RolloutView>('POST', '/v1/upgrades', {
    version: BROKEN,
    window: 'now',
    dwell: '1s',
    verifyTimeout: '8s',
    controlPlane: false,
  });
  assert.equal(start.status, 201, JSON.stringify(start.body));
  const r = await c.waitRollout(
    start.body.id,
    (x) => x.state === 'halted' || x.state === 'done',
    'rollout halted',
    60_000,
  );
  assert.equal(r.state, 'halted');
  assert.deepEqual(
    r.nodes.map((n) => n.phase),
    ['upgrade-failed', 'pending', 'pending'],
  );
  assert.match(r.nodes[0].message, /verify failed.*rolled back to v1\.31\.5\+k3s1 and uncordoned/);
  const kube = await c.kubeNodes();
  assert.deepEqual(
    kube.map((n) => [n.name, n.version, n.ready, n.unschedulable]),
    c.nodes.map((n) => [n.name, V1, true, false]),
  );
  const failed = (
    await c.hub.api<{ items: Array<{ nodeId: string }> }>('GET', '/v1/events?type=upgrade.node-failed&limit=10')
  ).body.items;
  assert.equal(failed[0]?.nodeId, c.nodes[0].id);
  const halted = (
    await c.hub.api<{ items: Array<{ message: string }> }>('GET', '/v1/events?type=upgrade.halted&limit=10')
  ).body.items;
  assert.equal(halted.length, 2);
  // The hub's view settles on ready once the rolled-back node's reports no longer show the crashes.
  let nodes: NodeView[] = [];
  await waitFor(
    'every node ready on V1 in the hub',
    async () => {
      nodes = (await c.hub.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
      return nodes.every((n) => n.state === 'ready' && n.k3s.version === V1);
    },
    30_000,
  ).catch(() => assert.fail(JSON.stringify(nodes.map((n) => [n.name, n.state, n.k3s]))));
});

test('a drain blocked by a PodDisruptionBudget: that node is uncordoned and marked upgrade-blocked, the others are upgraded', async () => {
  const V2 = 'v1.31.7+k3s1';
  buildStandin(join(work, 'k3s-v2'), V2);
  await importK3s(c.hub, V2, join(work, 'k3s-v2'));
  const kc = join(work, 'kubeconfig-blocked.yaml');
  writeFileSync(kc, (await c.hub.api<string>('GET', '/v1/cluster/kubeconfig')).body, { mode: 0o600 });
  const creds = readKubeconfig(kc);
  const create = async (path: string, obj: unknown): Promise<{ metadata: { uid: string } }> => {
    const r = await call(creds, path, { method: 'POST', body: obj });
    assert.equal(r.status, 201, r.text);
    return r.json();
  };
  // One pod on up1 that its budget never lets go (minAvailable 1 of 1).
  const rs = await create('/apis/apps/v1/namespaces/default/replicasets', replicaSet('blocker', 'blocker', 1));
  await create('/apis/policy/v1/namespaces/default/poddisruptionbudgets', pdb('blocker', 'blocker', 1));
  await create(
    '/api/v1/namespaces/default/pods',
    pod('blocker-a', 'blocker', 'up1', { kind: 'ReplicaSet', name: 'blocker', uid: rs.metadata.uid }),
  );
  // A Pending pod is evicted whatever its budget says (as in Kubernetes): the drain is only blocked
  // once up1's kubelet runs it. Through kine (the hub's k3s on PostgreSQL) that takes a watch poll.
  await waitFor(
    'blocker-a running and ready on up1',
    async () => {
      const r = await call(creds, '/api/v1/namespaces/default/pods/blocker-a');
      if (r.status !== 200) return false;
      const st = (r.json() as { status?: { phase?: string; conditions?: { type: string; status: string }[] } }).status;
      return st?.phase === 'Running' && !!st.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
    },
    30_000,
  );

  const start = await c.hub.api<RolloutView>('POST', '/v1/upgrades', {
    version: V2,
    window: 'now',
    dwell: '1s',
    verifyTimeout: '40s',
    drain: { timeout: '3s' },
    controlPlane: false,
  });
  assert.equal(start.status, 201, JSON.stringify(start.body));
  const r = await c.waitRollout(
    start.body.id,
    (x) => x.state === 'halted' || x.state === 'done',
    'rollout finished',
    120_000,
  );
  assert.equal(r.state, 'done', JSON.stringify(r));
  assert.deepEqual(
    r.nodes.map((n) => n.phase),
    ['done', 'upgrade-blocked', 'done'],
  );
  assert.match(r.nodes[1].message, /drain did not finish.*uncordoned, not upgraded/);
  assert.match(r.message, /1 blocked/);
  const kube = await c.kubeNodes();
  assert.deepEqual(
    kube.map((n) => [n.name, n.version, n.ready, n.unschedulable]),
    [
      ['up0', V2, true, false],
      ['up1', V1, true, false],
      ['up2', V2, true, false],
    ],
  );
  // The pod its budget protects was never evicted.
  assert.equal((await call(creds, '/api/v1/namespaces/default/pods/blocker-a')).status, 200);
});
