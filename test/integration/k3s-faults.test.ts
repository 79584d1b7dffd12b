// k3s faults on loopback, with the k3s stand-in: a missing or non-executable binary, a crash loop,
// a tampered artifact, the hub going away while k3s runs, a removed node, a reused hostname.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdtempSync, readFileSync, existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { loadIdentity } from '../../agent/identity.js';
import { installK3s, sha256Of } from '../../agent/k3s/installer.js';
import { k3sPaths } from '../../agent/k3s/paths.js';
import { buildStandin } from '../helpers/k3s-standin.js';

interface Cluster {
  state: string;
  message: string;
  controlPlane: { restarts: number; lastLogLines: string[]; nextRetryAt: string | null };
}
interface NodeView {
  id: string;
  name: string;
  state: string;
  k3s: { state: string; ready: boolean | null; version: string };
}

let work: string;
let standin: string;
let broken: string;
const hubs: HubHandle[] = [];
const agents: AgentHandle[] = [];

before(() => {
  work = mkdtempSync(join(tmpdir(), 'atoll-k3s-faults-'));
  standin = join(work, 'k3s');
  broken = join(work, 'k3s-broken');
  buildStandin(standin);
  buildStandin(broken, undefined, true);
});

after(async () => {
  for (const a of agents) await a.proc.kill('SIGKILL');
  for (const h of hubs) await h.stop('SIGKILL');
  for (const a of agents) removeDir(a.dataDir);
  for (const h of hubs) removeDir(h.dataDir);
  removeTree(work);
});

async function hubWith(k3s: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<HubHandle> {
  const port = await freePort();
  const h = await startHub({
    k3s,
    extraArgs: ['--k3s-https-port', String(port), '--k3s-arg=--disable-agent', ...extraArgs],
    env,
  });
  hubs.push(h);
  return h;
}

async function cluster(h: HubHandle): Promise<Cluster> {
  return (await h.api<Cluster>('GET', '/v1/cluster')).body;
}

/** pids of processes whose command line contains `needle`. */
function pidsWith(needle: string): number[] {
  const r = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter((l) => l.includes(needle) && !l.includes('ps -eo'))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

test('no k3s: auto says absent, a missing or non-executable path says failed; the rest of the hub works', async () => {
  const absent = await hubWith('auto', [], { PATH: '/usr/bin:/bin' });
  const a = await cluster(absent);
  assert.equal(a.state, 'absent');
  assert.match(a.message, /no k3s on PATH/);
  assert.match(absent.proc.stdout(), /control plane: absent/);
  assert.equal((await absent.api('GET', '/v1/cluster/kubeconfig')).status, 404);
  // Joins, tokens and pools still work without a control plane.
  const tok = await absent.api<{ token: string }>('POST', '/v1/tokens', {});
  const agent = startAgentJoin(absent, tok.body.token);
  agents.push(agent);
  await waitFor(
    'agent ready without k3s',
    async () => (await absent.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items[0]?.state === 'ready',
  );

  const missing = await hubWith(join(work, 'nope', 'k3s'));
  const m = await cluster(missing);
  assert.equal(m.state, 'failed');
  assert.match(m.message, /does not exist/);

  const noexec = join(work, 'k3s-noexec');
  copyFileSync(standin, noexec);
  chmodSync(noexec, 0o644);
  const ne = await hubWith(noexec);
  const n = await cluster(ne);
  assert.equal(n.state, 'failed');
  assert.match(n.message, /not executable/);
  assert.equal((await ne.api('GET', '/healthz')).status, 200);
  for (const h of [absent, missing, ne]) await h.stop();
});

test('a crash-looping k3s server is restarted with backoff, then marked failed with its last log lines', async () => {
  const h = await hubWith(broken, ['--k3s-restart-backoff', '100ms']);
  const c = await waitFor(
    'failed',
    async () => {
      const x = await cluster(h);
      return x.state === 'failed' ? x : undefined;
    },
    20_000,
  );
  assert.match(c.message, /gave up after 5 crashes/);
  assert.ok(c.controlPlane.restarts >= 4);
  assert.ok(c.controlPlane.lastLogLines.length > 0, 'the reason is shown');
  const events = (
    await h.api<{ items: Array<{ type: string; message: string }> }>('GET', '/v1/events?type=k3s.state&limit=1000')
  ).body.items;
  assert.ok(events.some((e) => /-> failed/.test(e.message)));
  assert.ok(events.filter((e) => /-> starting/.test(e.message) || /starting -> starting/.test(e.message)).length >= 1);
  await h.stop();
});

test('a failed k3s server is tried again after a long backoff, and an admin restarts it at once', async () => {
  // A binary that crash-loops until someone fixes it (here: replaces it with a good one).
  const bin = join(work, 'k3s-fixable');
  copyFileSync(broken, bin);
  chmodSync(bin, 0o755);
  const h = await hubWith(bin, ['--k3s-restart-backoff', '100ms', '--k3s-failed-retry', '3s']);
  const first = await waitFor(
    'failed',
    async () => {
      const x = await cluster(h);
      return x.state === 'failed' ? x : undefined;
    },
    20_000,
  );
  assert.match(first.message, /gave up after 5 crashes.*trying again in 3 s/);
  assert.ok(first.controlPlane.nextRetryAt && Date.parse(first.controlPlane.nextRetryAt) > Date.now() - 1000);
  // Not failed for good: the hub tries again by itself, and after another give-up waits twice as long.
  const failures = async (): Promise<string[]> =>
    (await h.api<{ items: Array<{ message: string }> }>('GET', '/v1/events?type=k3s.state&limit=1000')).body.items
      .map((e) => e.message)
      .filter((m) => /-> failed/.test(m));
  await waitFor('failed again after the retry', async () => (await failures()).length >= 2, 30_000);
  assert.match((await failures())[1], /trying again in 6 s/);

  // Fixed by hand; an operator may not restart the control plane, an admin may, and it serves at once.
  copyFileSync(standin, `${bin}.new`);
  chmodSync(`${bin}.new`, 0o755);
  renameSync(`${bin}.new`, bin);
  const operator = await h.api<{ token: string }>('POST', '/v1/api-tokens', { role: 'operator' });
  const denied = await h.api('POST', '/v1/cluster/actions/restart-control-plane', undefined, operator.body.token);
  assert.equal(denied.status, 403);
  const r = await h.api<{ state: string }>('POST', '/v1/cluster/actions/restart-control-plane');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.state, 'starting');
  await waitFor('running after the restart', async () => (await cluster(h)).state === 'running', 20_000);
  const audit = (
    await h.api<{ items: Array<{ actor: string; message: string }> }>('GET', '/v1/events?type=admin.action&limit=100')
  ).body.items;
  assert.ok(
    audit.some((e) => e.actor === 'admin' && /restart-control-plane: failed -> starting/.test(e.message)),
    JSON.stringify(audit),
  );
  await h.stop();
});

test('k3s on a node: installed from the hub, kept through a hub outage, refused when tampered, stopped on removal, name reusable', async () => {
  const h = await hubWith(standin, ['--k3s-restart-backoff', '3s'], { ATOLL_STANDIN_NODE_GRACE_MS: '3000' });
  await waitFor('control plane running', async () => (await cluster(h)).state === 'running', 30_000);
  const kubeletPort = await freePort();
  const env = {
    ATOLL_STANDIN_KUBELET_PORT: String(kubeletPort),
    ATOLL_AGENT_KUBELET_HEALTHZ_URL: `http://127.0.0.1:${kubeletPort}/healthz`,
    ATOLL_STANDIN_HEARTBEAT_MS: '1000',
    ATOLL_AGENT_K3S_START_GRACE_MS: '3000',
  };
  const tok = await h.api<{ token: string }>('POST', '/v1/tokens', { uses: 2 });
  const agent = startAgentJoin(h, tok.body.token, { k3s: 'auto', args: ['--node-name', 'reused'], env });
  agents.push(agent);
  const node = await waitFor(
    'k3s Ready',
    async () => {
      const n = (await h.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items[0];
      return n?.state === 'ready' && n.k3s.ready === true ? n : undefined;
    },
    40_000,
  );
  const paths = k3sPaths(agent.dataDir);
  const downloads = (
    await h.api<{ items: Array<{ message: string }> }>('GET', `/v1/events?type=artifact.downloaded&node=${node.id}`)
  ).body.items;
  assert.ok(
    downloads.some((e) => /k3s v1\.31\.4\+k3s1 amd64 downloaded/.test(e.message)),
    'the download is an event with the node id',
  );
  const k3sPids = pidsWith(paths.config);
  assert.equal(k3sPids.length, 1, 'one k3s agent process');
  assert.equal(readFileSync(paths.tokenFile, 'utf8').length > 0, true);
  assert.equal((await import('node:fs')).statSync(paths.tokenFile).mode & 0o777, 0o600);

  // A kubelet that stops answering (process frozen) while the agent is connected: degraded, then ready.
  process.kill(k3sPids[0], 'SIGSTOP');
  try {
    const sick = await waitFor(
      'degraded',
      async () => {
        const n = (await h.api<NodeView & { reasons: string[] }>('GET', `/v1/nodes/${node.id}`)).body;
        return n.state === 'degraded' ? n : undefined;
      },
      20_000,
    );
    assert.ok(
      sick.reasons.some((r) => r === 'kubelet-not-ready' || r === 'kubelet-unhealthy'),
      `reasons: ${sick.reasons.join(',')}`,
    );
  } finally {
    process.kill(k3sPids[0], 'SIGCONT');
  }
  await waitFor(
    'ready again',
    async () => (await h.api<NodeView>('GET', `/v1/nodes/${node.id}`)).body.state === 'ready',
    20_000,
  );

  // restart-k3s from the hub: the agent restarts its k3s and answers.
  const restarted = await h.api<{ ok: boolean }>('POST', `/v1/nodes/${node.id}/actions/restart-k3s`);
  assert.equal(restarted.status, 200, JSON.stringify(restarted.body));
  const newPids = await waitFor(
    'a new k3s process',
    () => {
      const p = pidsWith(paths.config);
      return p.length === 1 && p[0] !== k3sPids[0] ? p : undefined;
    },
    10_000,
  );
  k3sPids.splice(0, 1, ...newPids);
  await waitFor(
    'k3s Ready after the restart',
    async () => (await h.api<NodeView>('GET', `/v1/nodes/${node.id}`)).body.k3s.ready === true,
    20_000,
  );

  // The hub's own k3s server dies: while the kube API is down, no node shows a cached Ready.
  const [server] = pidsWith(`--data-dir ${join(h.dataDir, 'k3s')}`);
  process.kill(server, 'SIGKILL');
  await waitFor('control plane down', async () => (await cluster(h)).state !== 'running', 10_000);
  const down = (await h.api<NodeView>('GET', `/v1/nodes/${node.id}`)).body;
  assert.equal(down.k3s.ready, null, 'readiness is unknown while the kube API is down');
  await waitFor(
    'control plane back, node Ready again',
    async () =>
      (await cluster(h)).state === 'running' &&
      (await h.api<NodeView>('GET', `/v1/nodes/${node.id}`)).body.k3s.ready === true,
    30_000,
  );

  // A tampered artifact is refused and the installed binary is kept.
  const before = await sha256Of(paths.bin);
  const identity = loadIdentity(agent.dataDir);
  await assert.rejects(
    installK3s(
      identity,
      { path: '/v1/artifacts/k3s/v1.31.4+k3s1/amd64', sha256: '0'.repeat(64) },
      `${paths.bin}.new-test`,
      paths.previousBin,
    ),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ARTIFACT_CHECKSUM');
      assert.match(err.message, /expected 0{64}/);
      return true;
    },
  );
  assert.equal(existsSync(`${paths.bin}.new-test`), false, 'nothing installed');
  assert.equal(await sha256Of(paths.bin), before);

  // The hub goes away: k3s keeps running on the node; when the hub is back nothing restarts it.
  // The hub's own k3s server stops with it.
  await h.stop();
  assert.deepEqual(pidsWith(join(h.dataDir, 'k3s')), [], 'the k3s server stopped with the hub');
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(pidsWith(paths.config), k3sPids, 'k3s kept running while the hub was gone');
  const status = JSON.parse(readFileSync(join(agent.dataDir, 'status.json'), 'utf8')) as { k3s: { state: string } };
  assert.notEqual(status.k3s.state, 'stopped');
  await h.restart();
  await waitFor(
    'node back',
    async () => {
      const n = (await h.api<NodeView & { connected: boolean }>('GET', `/v1/nodes/${node.id}`)).body;
      return n.connected && n.state === 'ready';
    },
    40_000,
  );
  assert.deepEqual(pidsWith(paths.config), k3sPids, 'reconnecting did not restart k3s');

  // Removal: the agent stops k3s and says why.
  assert.equal((await h.api('DELETE', `/v1/nodes/${node.id}`)).status, 204);
  assert.equal(await agent.proc.exited, 3, 'exit code 3: removed');
  assert.match(agent.proc.stderr(), /removed from the hub/);
  await waitFor('k3s stopped', () => pidsWith(paths.config).length === 0, 10_000);

  // A re-provisioned server with the same hostname joins under the same name without a password clash.
  const fresh = startAgentJoin(h, tok.body.token, { k3s: 'auto', args: ['--node-name', 'reused'], env });
  agents.push(fresh);
  const again = await waitFor(
    're-provisioned node Ready',
    async () => {
      const n = (await h.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items[0];
      return n?.state === 'ready' && n.k3s.ready === true ? n : undefined;
    },
    40_000,
  ).catch(async (err: Error) => {
    const n = (await h.api<{ items: unknown[] }>('GET', '/v1/nodes')).body.items;
    const log = existsSync(k3sPaths(fresh.dataDir).log)
      ? readFileSync(k3sPaths(fresh.dataDir).log, 'utf8').slice(-2000)
      : '(no k3s log)';
    const hubWarn = h.proc
      .stderr()
      .split('\n')
      .filter((l) => !l.includes('"level":30'))
      .join('\n')
      .slice(-3000);
    throw new Error(
      `${err.message}\nnodes: ${JSON.stringify(n)}\nk3s log: ${log}\nhub: ${hubWarn}\nold agent: ${agent.proc.stderr().slice(-2500)}`,
    );
  });
  assert.equal(again.name, 'reused');
  assert.notEqual(again.id, node.id);
  await fresh.proc.kill('SIGTERM');
  await h.stop();
});

test('a hub killed with SIGKILL leaves its k3s server behind; the next hub stops that one (by its pid file) and serves again', async () => {
  const h = await hubWith(standin);
  await waitFor('control plane running', async () => (await cluster(h)).state === 'running', 30_000);
  const k3sData = join(h.dataDir, 'k3s');
  const pidFile = join(k3sData, 'atoll-server.pid');
  const leftover = Number(readFileSync(pidFile, 'utf8').trim());
  assert.deepEqual(
    pidsWith(`--data-dir ${k3sData}`).filter((p) => p === leftover),
    [leftover],
    'the pid file names the running server',
  );
  await h.stop('SIGKILL');
  assert.ok(pidsWith(`--data-dir ${k3sData}`).includes(leftover), 'the server outlived its hub, as real k3s would');
  await h.restart();
  await waitFor('control plane running again', async () => (await cluster(h)).state === 'running', 40_000);
  const c = await cluster(h);
  assert.equal(c.controlPlane.restarts, 0, `no crash loop on a busy port: ${c.controlPlane.lastLogLines.join(' | ')}`);
  assert.ok(!pidsWith(`--data-dir ${k3sData}`).includes(leftover), 'the leftover server was stopped');
  const now = Number(readFileSync(pidFile, 'utf8').trim());
  assert.notEqual(now, leftover);
  const events = (await h.api<{ items: Array<{ type: string }> }>('GET', '/v1/events?limit=200')).body.items;
  assert.ok(events.length > 0);
});
