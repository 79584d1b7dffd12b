// Autoscale end to end (issue 19), in network namespaces: the hub in one, and every machine of the
// autoscaled pool a fresh namespace that a pretend cloud makes when the pool's provider hook asks it
// to `create` (a real agent joins with the cloud-init's token and runs its k3s stand-in agent) and
// takes away on `delete`. The pool starts at its minSize of 1; pods that need more cpu than it has
// grow it to 3 and get scheduled; once they are gone it shrinks back to 1 after the (shortened)
// unneeded time, one node at a time: cordon and drain, the hook's delete, the node removed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, hostPids, netnsAvailable, type Host, type Lab } from '../helpers/netns.js';
import { startNetnsCloud, writeCloudHook, type Cloud } from '../helpers/netns-cloud.js';
import { HUB_BIN, ROOT, apiCall, waitFor, startProcess, removeTree, type Proc } from '../helpers/processes.js';

const avail = netnsAvailable();
const kubectl = existsSync('/usr/bin/kubectl') ? '/usr/bin/kubectl' : undefined;
let lab: Lab | undefined;
let work: string | undefined;
let cloud: Cloud | undefined;
let hubHost: Host | undefined;
const procs: Proc[] = [];

after(async () => {
  cloud?.destroyAll();
  await cloud?.close();
  for (const p of procs) await p.kill('SIGKILL');
  // The hub's k3s server runs in its own process group: end what is left in the hub's namespace.
  if (hubHost) for (const pid of hostPids(hubHost)) process.kill(pid, 'SIGKILL');
  lab?.cleanup();
  if (work) removeTree(work);
});

interface NodeView {
  id: string;
  name: string;
  pool: string;
  state: string;
  k3s: { ready: boolean | null };
}
interface Ev {
  id: number;
  type: string;
  message: string;
  nodeId?: string | null;
  at: string;
  data?: Record<string, unknown>;
}
interface KubePod {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: { phase?: string };
}

const NODE_CPU = '2';
const POD_CPU = '1500m'; // one per node: three pods need three nodes
const UNNEEDED_S = 10;

test(
  'a pool grows from 1 to 3 nodes through its hook for pods that do not fit, and shrinks back to 1 when they are gone',
  { skip: avail.ok ? (kubectl ? false : 'kubectl is not installed') : avail.why, timeout: 240_000 },
  async () => {
    lab = createLab();
    work = mkdtempSync(join(tmpdir(), 'atoll-autoscale-e2e-'));
    const standin = join(work, 'k3s');
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts/build-standin.mjs'), '--out', standin], {
      encoding: 'utf8',
    });
    assert.equal(b.status, 0, b.stderr);
    hubHost = lab.addHost('hub');
    cloud = await startNetnsCloud(lab, work, {
      ATOLL_AGENT_K3S_START_GRACE_MS: '20000',
      ATOLL_STANDIN_NODE_CPU: NODE_CPU,
      ATOLL_STANDIN_NODE_MEMORY: '4Gi',
      ATOLL_STANDIN_HEARTBEAT_MS: '1000',
    });
    const hook = writeCloudHook(work, cloud.url);
    const dataDir = join(work, 'hub');
    const hub = startProcess(
      HUB_BIN,
      [
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
        '--autoscale-interval',
        '1s',
      ],
      {},
      lab.exec(hubHost),
    );
    procs.push(hub);
    const api = <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> =>
      apiCall<T>(
        `https://${hubHost!.ip}:9443`,
        readFileSync(join(dataDir, 'ca.crt'), 'utf8'),
        readFileSync(join(dataDir, 'admin-token'), 'utf8').trim(),
        method,
        path,
        body,
      );
    const events = async (): Promise<Ev[]> =>
      (await api<{ items: Ev[] }>('GET', '/v1/events?limit=1000')).body.items.sort((x, y) => x.id - y.id);
    const poolNodes = async (): Promise<NodeView[]> =>
      (await api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items.filter((n) => n.pool === 'auto');
    const diagnose = async (err: Error): Promise<never> => {
      const evs = (await events().catch(() => [])).filter((e) => e.type.startsWith('autoscale'));
      const agents = cloud!.machines.map((m) => `${m.id}: ${m.agent.stderr().slice(-800)}`).join('\n');
      throw new Error(
        `${err.message}\nautoscale events:\n${evs.map((e) => `${e.type} ${e.message}`).join('\n')}\n${agents}\nhub: ${hub.stderr().slice(-1500)}`,
      );
    };
    await waitFor(
      'control plane running',
      async () => (await api<{ state: string }>('GET', '/v1/cluster').catch(() => undefined))?.body.state === 'running',
      60_000,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${hub.stderr().slice(-3000)}`);
    });
    const kc = await api<string>('GET', '/v1/cluster/kubeconfig');
    const kcPath = join(work, 'kubeconfig.yaml');
    writeFileSync(kcPath, kc.body, { mode: 0o600 });
    const kube = (...args: string[]): string => {
      const r = spawnSync(kubectl!, ['--kubeconfig', kcPath, ...args], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };

    // The pool: 1 to 3 nodes, autoscale on with short timings, machines through the cloud's hook.
    const made = await api('POST', '/v1/pools', {
      name: 'auto',
      minSize: 1,
      maxSize: 3,
      autoscale: {
        enabled: true,
        scaleDownUnneeded: `${UNNEEDED_S}s`,
        scaleDownDelayAfterAdd: '5s',
        maxNodeProvisionTime: '2m',
      },
      autoheal: { hook },
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const ready = (want: number) => async (): Promise<NodeView[] | undefined> => {
      const ns = await poolNodes();
      return ns.length === want && ns.every((n) => n.state === 'ready' && n.k3s.ready === true) ? ns : undefined;
    };
    // minSize 1: the hook's first machine joins and is a Ready node.
    const [first] = await waitFor('the pool at its minSize of 1 Ready node', ready(1), 90_000, 500).catch(diagnose);
    assert.equal(first.name, 'auto-1');
    const alloc = JSON.parse(kube('get', 'node', 'auto-1', '-o', 'json')) as {
      status: { allocatable: { cpu: string } };
    };
    assert.equal(alloc.status.allocatable.cpu, NODE_CPU);

    // Three pods of 1.5 cpu on 2-cpu nodes: one fits, two are Unschedulable until the pool grows.
    const pods = ['big-0', 'big-1', 'big-2'].map((name) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: {
        nodeSelector: { 'atoll.dev/pool': 'auto' },
        containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: POD_CPU, memory: '256Mi' } } }],
      },
    }));
    const podFile = join(work, 'pods.json');
    writeFileSync(podFile, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }));
    const grownFrom = Date.now();
    kube('create', '--validate=false', '-f', podFile);
    const grown = await waitFor('3 Ready nodes', ready(3), 120_000, 500).catch(diagnose);
    assert.deepEqual(grown.map((n) => n.name).sort(), ['auto-1', 'auto-2', 'auto-3']);
    const placed = await waitFor(
      'the three pods running on three nodes',
      () => {
        const items = (JSON.parse(kube('get', 'pods', '-n', 'default', '-o', 'json')) as { items: KubePod[] }).items;
        return items.length === 3 && items.every((p) => p.spec.nodeName && p.status.phase === 'Running')
          ? items
          : undefined;
      },
      30_000,
      500,
    ).catch(diagnose);
    assert.deepEqual(placed.map((p) => p.spec.nodeName).sort(), ['auto-1', 'auto-2', 'auto-3']);
    const up = (await events()).filter((e) => e.type === 'autoscale.scale-up');
    assert.deepEqual(
      up.map((e) => e.message),
      [
        'pool auto: machine vm-1 created (to reach size 1)',
        'pool auto: machine vm-2 created (2 unschedulable pod(s))',
        'pool auto: machine vm-3 created (2 unschedulable pod(s))',
      ],
    );
    assert.equal(cloud.calls.filter((c) => c.action === 'create').length, 3, 'no machine beyond the need');
    // The engine sees each machine's node Ready (out of flight) on its next look.
    const readyEvents = await waitFor(
      'three node-ready decisions',
      async () => {
        const r = (await events()).filter((e) => e.type === 'autoscale.node-ready');
        return r.length === 3 ? r : undefined;
      },
      10_000,
      250,
    ).catch(diagnose);
    assert.deepEqual(readyEvents.map((e) => e.data?.machineId).sort(), ['vm-1', 'vm-2', 'vm-3']);
    console.log(`scale-up 1 -> 3 with pods scheduled: ${Date.now() - grownFrom} ms`);

    // The pods go: every node is idle; after the unneeded time the pool shrinks to its minSize.
    const idleFrom = Date.now();
    kube('delete', 'pods', 'big-0', 'big-1', 'big-2', '-n', 'default', '--wait=true');
    const shrunk = await waitFor('back to 1 node', ready(1), 90_000, 500).catch(diagnose);
    const deletes = cloud.calls.filter((c) => c.action === 'delete');
    assert.equal(deletes.length, 2);
    for (const d of deletes) assert.ok(d.atMs - idleFrom >= UNNEEDED_S * 1000, `deleted after ${d.atMs - idleFrom} ms`);
    const gone = cloud.machines.filter((m) => m.deleted);
    assert.deepEqual(gone.map((m) => m.id).sort(), deletes.map((d) => d.machineId).sort());
    assert.ok(!gone.some((m) => m.nodeName === shrunk[0].name));
    for (const m of gone) assert.equal(hostPids(m.host).length, 0, `${m.id}: nothing left running`);
    // The Kubernetes Node object goes with the removal (through the apiserver, a moment later).
    await waitFor(
      'kubectl: one node left',
      () => kube('get', 'nodes', '-o', 'name').trim() === `node/${shrunk[0].name}`,
      15_000,
      250,
    ).catch(diagnose);
    // Each removal in order: the decision (cordon and drain), the hook's delete, the node removed.
    // The last "removed" decision is written once its removal returned (after the node's purge).
    const evs = await waitFor(
      'four scale-down decisions',
      async () => {
        const all = await events();
        return all.filter((e) => e.type === 'autoscale.scale-down').length >= 4 ? all : undefined;
      },
      15_000,
      250,
    ).catch(diagnose);
    const down = evs.filter((e) => e.type === 'autoscale.scale-down');
    assert.equal(down.length, 4, down.map((e) => e.message).join('\n'));
    for (const m of gone) {
      const i = evs.findIndex(
        (e) => e.type === 'autoscale.scale-down' && e.message.includes(`removing ${m.nodeName} (`),
      );
      assert.match(evs[i].message, new RegExp(`under 50% requested for ${UNNEEDED_S}s\\): cordon and drain$`));
      const removed = evs.findIndex((e) => e.type === 'node.removed' && e.nodeId === evs[i].nodeId);
      const done = evs.findIndex(
        (e) => e.type === 'autoscale.scale-down' && e.message === `pool auto: ${m.nodeName} removed (machine ${m.id})`,
      );
      const del = deletes.find((d) => d.machineId === m.id)!;
      assert.ok(i >= 0 && removed > i && done > removed, `${m.id}: decision, removal, then done`);
      assert.ok(Date.parse(evs[i].at) <= del.atMs && del.atMs <= Date.parse(evs[removed].at) + 1000);
    }
    // At minSize it stops, and says why.
    const floor = await waitFor(
      'the min-size decision',
      async () => (await events()).find((e) => e.type === 'autoscale.skipped' && e.data?.reason === 'min-size'),
      15_000,
      500,
    );
    assert.equal(floor.message, 'pool auto: no scale-down: the pool is at minSize 1');
    assert.equal((await poolNodes()).length, 1);
    console.log(`scale-down 3 -> 1: ${Date.now() - idleFrom} ms after the pods were deleted`);
    await hub.kill('SIGTERM');
  },
);
