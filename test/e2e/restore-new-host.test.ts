// The hub's machine is lost: the hub (network namespace host) is killed and its data dir deleted while
// two agents (other namespace hosts, each with its k3s stand-in agent, Ready nodes) keep running.
// The last backup is restored on a NEW host with another address, and the hub started there. The
// agents know the hub by its shared name (--public-url https://hub.atoll.test:9444, resolved through
// each host's /etc/hosts, repointed to the new host as DNS would be): they reconnect with no new
// token and the certificates they hold (same node ids, no new join), their kubelets reach the new
// k3s server through the same name, and the ConfigMap created before the backup is there (kubectl).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, netnsAvailable, type Lab, type Host } from '../helpers/netns.js';
import {
  HUB_BIN,
  AGENT_BIN,
  ROOT,
  apiCall,
  killProcessesUnder,
  removeTree,
  runCli,
  startProcess,
  waitFor,
  type Proc,
} from '../helpers/processes.js';

const avail = netnsAvailable();
const kubectl = existsSync('/usr/bin/kubectl') ? '/usr/bin/kubectl' : undefined;
const HUB_NAME = 'hub.atoll.test';
const PUBLIC_URL = `https://${HUB_NAME}:9444`;

interface NodeView {
  id: string;
  name: string;
  state: string;
  connected: boolean;
  k3s: { state: string; ready: boolean | null };
}

let lab: Lab | undefined;
let work: string | undefined;
let standin = '';
const procs: Proc[] = [];

before(() => {
  if (!avail.ok || !kubectl) return;
  work = mkdtempSync(join(tmpdir(), 'atoll-restore-host-'));
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
  if (work) removeTree(work); // also the k3s servers and agents started from it
});

function startIn(host: Host, bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const p = startProcess(bin, args, env, lab!.exec(host));
  procs.push(p);
  return p;
}

function startHubOn(host: Host, dataDir: string): Proc {
  return startIn(
    host,
    HUB_BIN,
    [
      'run',
      '--data-dir',
      dataDir,
      '--api-listen',
      `${host.ip}:9443`,
      '--gateway-listen',
      '0.0.0.0:9444',
      '--public-url',
      PUBLIC_URL,
      '--k3s',
      standin,
      '--k3s-arg=--disable-agent',
      '--heartbeat-interval',
      '1s',
      '--unreachable-after',
      '5s',
    ],
    { ATOLL_STANDIN_HEARTBEAT_MS: '1000' },
  );
}

/** The Kubernetes API through the hub's kubeconfig, from an agent's host (where the shared name resolves). */
function kubectlOn(host: Host, kubeconfig: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync('ip', ['netns', 'exec', host.ns, kubectl!, '--kubeconfig', kubeconfig, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, out: r.status === 0 ? r.stdout : `${r.stdout}${r.stderr}` };
}

const certFiles = (dir: string): Record<string, string> =>
  Object.fromEntries(
    readdirSync(dir)
      .filter((f) => /^node-.*\.(crt|key)$/.test(f))
      .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
  );

test(
  "restore on a new host with another address: the agents find it by the shared name, keep their certificates, and the cluster's objects are there",
  { skip: avail.ok ? (kubectl ? false : 'kubectl is not installed') : avail.why, timeout: 240_000 },
  async () => {
    const l = lab!;
    const w = work!;
    const oldHost = l.addHost('hub');
    const agentHosts = [l.addHost('a0'), l.addHost('a1')];
    const newHost = l.addHost('hub2');
    const pointNameAt = (h: Host): void => {
      for (const x of [oldHost, newHost, ...agentHosts]) l.setHosts(x, { [HUB_NAME]: h.ip });
    };
    pointNameAt(oldHost);

    const oldData = join(w, 'hub');
    let hub = startHubOn(oldHost, oldData);
    let apiUrl = `https://${oldHost.ip}:9443`;
    let dataDir = oldData;
    const api = <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> =>
      apiCall<T>(
        apiUrl,
        readFileSync(join(dataDir, 'ca.crt'), 'utf8'),
        readFileSync(join(dataDir, 'admin-token'), 'utf8').trim(),
        method,
        path,
        body,
      );
    const running = async (): Promise<boolean> =>
      (await api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running';
    await waitFor('the control plane running', running, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${hub.stderr().slice(-3000)}`);
    });
    const tok = await api<{ token: string }>('POST', '/v1/tokens', { uses: 2, ttl: '10m' });
    assert.equal(tok.status, 201, JSON.stringify(tok.body));
    const agentDirs = agentHosts.map((_, i) => join(w, `agent-${i}`));
    const agents = agentHosts.map((h, i) =>
      startIn(
        h,
        AGENT_BIN,
        [
          'join',
          '--hub',
          PUBLIC_URL,
          '--token',
          tok.body.token,
          '--node-name',
          `keep-${i}`,
          '--data-dir',
          agentDirs[i],
        ],
        {
          ATOLL_AGENT_K3S_START_GRACE_MS: '20000',
          ATOLL_AGENT_RECONNECT_MAX_MS: '1000',
          ATOLL_STANDIN_HEARTBEAT_MS: '1000',
        },
      ),
    );
    const allReady = async (): Promise<NodeView[] | undefined> => {
      const items = (await api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
      return items.length === 2 &&
        items.every((n) => n.state === 'ready' && n.connected && n.k3s.ready === true && n.k3s.state === 'running')
        ? items
        : undefined;
    };
    const nodes = await waitFor('two Ready k3s nodes', allReady, 90_000).catch(async (err: Error) => {
      const r = await api<{ items: NodeView[] }>('GET', '/v1/nodes');
      throw new Error(
        `${err.message}\nnodes: ${JSON.stringify(r.body.items)}\nagent0: ${agents[0].stderr().slice(-2000)}`,
      );
    });
    const certsBefore = agentDirs.map(certFiles);
    for (const c of certsBefore) assert.ok(Object.keys(c).length >= 2, 'each agent holds its key and certificate');

    // Objects in the cluster, created through the hub's kubeconfig before the backup.
    const kcPath = join(w, 'kubeconfig.yaml');
    const kc = await api<string>('GET', '/v1/cluster/kubeconfig');
    assert.equal(kc.status, 200);
    assert.match(kc.body, /server: https:\/\/hub\.atoll\.test:6443/);
    writeFileSync(kcPath, kc.body, { mode: 0o600 });
    const made = kubectlOn(agentHosts[0], kcPath, ['create', 'configmap', 'kept-config', '--from-literal=color=teal']);
    assert.equal(made.status, 0, made.out);
    const stateFile = join(oldData, 'k3s', 'server', 'db', 'standin-state.json');
    await waitFor(
      'the ConfigMap in the k3s datastore',
      () => existsSync(stateFile) && readFileSync(stateFile, 'utf8').includes('kept-config'),
      10_000,
    );

    const pass = join(w, 'passphrase');
    writeFileSync(pass, 'new host passphrase\n', { mode: 0o600 });
    const archive = join(w, 'last.atoll-backup');
    const backup = await runCli(HUB_BIN, [
      'backup',
      'create',
      '--data-dir',
      oldData,
      '--passphrase-file',
      pass,
      '--out',
      archive,
    ]);
    assert.equal(backup.code, 0, backup.stderr);

    // The machine is lost: the hub and its k3s server die, the data dir is gone, the host is cut off.
    await hub.kill('SIGKILL');
    killProcessesUnder(oldData);
    rmSync(oldData, { recursive: true, force: true });
    l.setLink(oldHost, false);

    // A new host, another address: restore there, repoint the shared name, start the hub.
    const newData = join(w, 'hub-new');
    const r = await runCli(HUB_BIN, ['restore', archive, '--data-dir', newData, '--passphrase-file', pass]);
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(newHost.ip, oldHost.ip);
    pointNameAt(newHost);
    const restoredAt = new Date();
    dataDir = newData;
    apiUrl = `https://${newHost.ip}:9443`;
    hub = startHubOn(newHost, newData);
    await waitFor('the restored control plane running', running, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${hub.stderr().slice(-3000)}`);
    });
    const back = await waitFor('both agents back, Ready, on the new host', allReady, 90_000).catch(
      async (err: Error) => {
        const v = await api<{ items: NodeView[] }>('GET', '/v1/nodes').catch(() => ({ body: { items: [] } }));
        throw new Error(
          `${err.message}\nnodes: ${JSON.stringify(v.body.items)}\nagent0: ${agents[0].stderr().slice(-3000)}`,
        );
      },
    );
    assert.deepEqual(
      back.map((n) => [n.id, n.name]).sort(),
      nodes.map((n) => [n.id, n.name]).sort(),
      'the same node ids',
    );
    agentDirs.forEach((d, i) => assert.deepEqual(certFiles(d), certsBefore[i], `agent ${i} kept its certificate`));
    agents.forEach((a, i) => assert.equal(a.child.exitCode, null, `agent ${i} never exited`));
    const events = (await api<{ items: { type: string }[] }>('GET', '/v1/events?limit=1000')).body.items.map(
      (e) => e.type,
    );
    assert.equal(events.filter((t) => t === 'node.joined').length, 2, `no new join: ${events.join(',')}`);
    assert.ok(events.includes('backup.restored'), `the restore is in the audit trail: ${events.join(',')}`);

    // Through the restored hub's kubeconfig: the object is there, and the kubelets report to the new server.
    writeFileSync(kcPath, (await api<string>('GET', '/v1/cluster/kubeconfig')).body, { mode: 0o600 });
    const cm = kubectlOn(agentHosts[1], kcPath, ['get', 'configmap', 'kept-config', '-o', 'jsonpath={.data.color}']);
    assert.equal(cm.status, 0, cm.out);
    assert.equal(cm.out, 'teal');
    const kn = await waitFor(
      'each kubelet to post its status to the new server',
      () => {
        const g = kubectlOn(agentHosts[1], kcPath, ['get', 'nodes', '-o', 'json']);
        if (g.status !== 0) return undefined;
        const items = (
          JSON.parse(g.out) as {
            items: Array<{
              metadata: { name: string; labels: Record<string, string> };
              status: { conditions: Array<{ type: string; status: string; lastHeartbeatTime: string }> };
            }>;
          }
        ).items;
        const fresh = items.filter((n) => {
          const c = n.status.conditions.find((x) => x.type === 'Ready');
          return c?.status === 'True' && new Date(c.lastHeartbeatTime).getTime() >= restoredAt.getTime() - 1_000;
        });
        return fresh.length === 2 ? items : undefined;
      },
      30_000,
    ).catch((err: Error) => {
      const g = kubectlOn(agentHosts[1], kcPath, ['get', 'nodes', '-o', 'json']);
      const k3sLog = readFileSync(join(agentDirs[0], 'k3s', 'k3s-agent.log'), 'utf8');
      throw new Error(
        `${err.message} (restored at ${restoredAt.toISOString()})\n${g.out.slice(0, 1000)}\nk3s agent 0:\n${k3sLog.slice(-4000)}`,
      );
    });
    assert.deepEqual(
      kn.map((n) => [n.metadata.name, n.metadata.labels['atoll.dev/node-id']]).sort(),
      nodes.map((n) => [n.name, n.id]).sort(),
    );
    await hub.kill('SIGTERM');
  },
);
