// Autoheal with short timings: the ladder on a crash-looping k3s (real agent, stand-in k3s), a
// link problem that only alerts, a flapping node capped at reboot, a pool over its cap left alone,
// a hub restart in the middle of a ladder, a pool without a hook handing over to an operator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
  runCli,
  ROOT,
  HUB_BIN,
  type HubHandle,
  type AgentHandle,
  removeTree,
} from '../helpers/processes.js';
import { freePort } from '../helpers/ports.js';
import { testDatastore } from '../helpers/test-datastore.js';
import { Puppet } from '../helpers/puppet.js';
import { k3sPaths } from '../../agent/k3s/paths.js';

interface Ev {
  id: number;
  type: string;
  nodeId: string | null;
  message: string;
  data: Record<string, unknown>;
}
interface NodeView {
  id: string;
  name: string;
  state: string;
  k3s: { state: string; ready: boolean | null };
}

const FAST = {
  afterRestart: '2s',
  afterReboot: '4s',
  afterReplace: '6s',
  provenAfter: '2s',
  cooldownMin: '1s',
  cooldownMax: '2s',
  drainTimeout: '3s',
};
const HUB_ARGS = ['--autoheal-interval', '300ms'];

let work: string;
const hubs: HubHandle[] = [];
const agents: AgentHandle[] = [];
const puppets: Puppet[] = [];

before(() => {
  work = mkdtempSync(join(tmpdir(), 'atoll-autoheal-'));
  for (const [out, extra] of [
    [join(work, 'k3s'), []],
    [join(work, 'k3s-broken'), ['--broken']],
  ] as const) {
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts/build-standin.mjs'), '--out', out, ...extra], {
      encoding: 'utf8',
    });
    assert.equal(b.status, 0, b.stderr);
  }
});

after(async () => {
  for (const p of puppets) p.stop();
  for (const a of agents) await a.proc.kill('SIGKILL');
  for (const a of agents) {
    // k3s processes an agent left behind when it was killed with SIGKILL.
    const r = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
    for (const l of r.stdout.split('\n'))
      if (l.includes(k3sPaths(a.dataDir).config)) process.kill(Number(l.trim().split(/\s+/)[0]), 'SIGKILL');
  }
  for (const h of hubs) await h.stop('SIGKILL');
  for (const a of agents) removeDir(a.dataDir);
  for (const h of hubs) removeDir(h.dataDir);
  removeTree(work);
});

async function events(h: HubHandle, q = ''): Promise<Ev[]> {
  return (await h.api<{ items: Ev[] }>('GET', `/v1/events?limit=1000${q}`)).body.items;
}

async function steps(h: HubHandle, nodeId: string): Promise<string[]> {
  return (await events(h, `&type=autoheal.step&node=${nodeId}`)).map((e) => String(e.data.action));
}

async function fastPool(h: HubHandle, pool: string, extra: Record<string, unknown> = {}): Promise<void> {
  const r = await h.api('PATCH', `/v1/pools/${pool}`, { autoheal: { ...FAST, ...extra } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

async function hub(
  extra: string[] = [],
  opts: { k3s?: string; env?: NodeJS.ProcessEnv; dataDir?: string } = {},
): Promise<HubHandle> {
  const h = await startHub({ k3s: opts.k3s, extraArgs: [...HUB_ARGS, ...extra], env: opts.env, dataDir: opts.dataDir });
  hubs.push(h);
  return h;
}

test('a crash-looping k3s: the agent restarts it itself, then the hub restarts k3s, then reboots the node', async () => {
  const good = join(work, 'k3s');
  const broken = join(work, 'k3s-broken');
  // The hub runs a good k3s server but serves a broken k3s to its agents.
  const dataDir = join(mkdtempSync(join(tmpdir(), 'atoll-hub-')), 'data');
  const imp = await runCli(HUB_BIN, [
    'artifact',
    'import',
    'k3s',
    '--version',
    'v1.31.4+k3s1',
    '--arch',
    'amd64',
    '--file',
    broken,
    '--data-dir',
    dataDir,
  ]);
  assert.equal(imp.code, 0, imp.stderr);
  const port = await freePort();
  const h = await hub(['--k3s-https-port', String(port), '--k3s-arg=--disable-agent'], { k3s: good, dataDir });
  await waitFor(
    'control plane running',
    async () => (await h.api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running',
    30_000,
  );
  await fastPool(h, 'default', { maxUnhealthyPercent: 60 });
  const rebootMarker = join(work, 'rebooted');
  const tok = await h.api<{ token: string }>('POST', '/v1/tokens', { uses: 2 });
  const agent = startAgentJoin(h, tok.body.token, {
    k3s: 'auto',
    args: ['--node-name', 'crashy'],
    env: { ATOLL_AGENT_REBOOT_COMMAND: `touch ${rebootMarker}` },
  });
  agents.push(agent);
  // A second, healthy node so the pool is not over its cap with one sick node of one.
  const buddy = await Puppet.join(h, tok.body.token, 'buddy');
  puppets.push(buddy);
  const node = await waitFor('crashy joined', async () =>
    (await h.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items.find((n) => n.name === 'crashy'),
  );

  await waitFor(
    'the agent restarting its crashed k3s by itself',
    async () => {
      const n = (await h.api<NodeView & { k3s: { restarts: number } }>('GET', `/v1/nodes/${node.id}`)).body;
      return n.k3s.restarts >= 1;
    },
    20_000,
  ).catch(async (err: Error) => {
    const n = (await h.api('GET', `/v1/nodes/${node.id}`)).body;
    throw new Error(`${err.message}\n${JSON.stringify(n)}\n${agent.proc.stderr().slice(-1500)}`);
  });
  await waitFor('hub restarts k3s, then reboots', async () => (await steps(h, node.id)).includes('reboot'), 30_000);
  const done = await steps(h, node.id);
  assert.deepEqual(done.slice(0, 2), ['restart-k3s', 'reboot']);
  await waitFor('the reboot command ran on the node', () => existsSync(rebootMarker), 5_000);
  const evs = await events(h, `&node=${node.id}`);
  const order = evs.filter((e) => e.type === 'autoheal.step').map((e) => e.message);
  assert.match(order[0], /step 1 restart-k3s: k3s restarted/);
  assert.match(order[1], /step 2 reboot: reboot through the agent/);
  assert.ok(
    evs.some((e) => e.type === 'node.state' && /degraded/.test(e.message) && /k3s-crashed/.test(e.message)),
    'the node was degraded with k3s-crashed',
  );
  await agent.proc.kill('SIGTERM');
  await h.stop();
});

test('a lost agent whose Kubernetes node stays Ready: an alert, no remediation', async () => {
  const port = await freePort();
  const h = await hub(['--k3s-https-port', String(port), '--k3s-arg=--disable-agent'], { k3s: join(work, 'k3s') });
  await waitFor(
    'control plane running',
    async () => (await h.api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running',
    30_000,
  );
  await fastPool(h, 'default', { maxUnhealthyPercent: 60 });
  const tok = await h.api<{ token: string }>('POST', '/v1/tokens', { uses: 2 });
  const kubeletPort = await freePort();
  const agent = startAgentJoin(h, tok.body.token, {
    k3s: 'auto',
    args: ['--node-name', 'linkless'],
    env: {
      ATOLL_STANDIN_KUBELET_PORT: String(kubeletPort),
      ATOLL_AGENT_KUBELET_HEALTHZ_URL: `http://127.0.0.1:${kubeletPort}/healthz`,
      ATOLL_STANDIN_HEARTBEAT_MS: '1000',
    },
  });
  agents.push(agent);
  const buddy = await Puppet.join(h, tok.body.token, 'buddy2');
  puppets.push(buddy);
  const node = await waitFor(
    'k3s Ready',
    async () => {
      const n = (await h.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items.find((x) => x.name === 'linkless');
      return n?.k3s.ready === true && n.state === 'ready' ? n : undefined;
    },
    40_000,
  );
  // kill -9 the agent: its k3s keeps running, so Kubernetes still sees a Ready node.
  await agent.proc.kill('SIGKILL');
  await waitFor(
    'an alert',
    async () => (await events(h, `&type=autoheal.alert&node=${node.id}`)).length === 1,
    15_000,
  ).catch(async (err: Error) => {
    throw new Error(
      `${err.message}\n${JSON.stringify((await h.api('GET', `/v1/nodes/${node.id}`)).body).slice(0, 1500)}\n${JSON.stringify((await events(h, `&node=${node.id}`)).map((e) => e.message))}`,
    );
  });
  await new Promise((r) => setTimeout(r, 5_000)); // well past afterRestart and afterReboot
  assert.deepEqual(await steps(h, node.id), [], 'no remediation for a link problem');
  const v = (await h.api<NodeView & { autoheal: { condition: string } }>('GET', `/v1/nodes/${node.id}`)).body;
  assert.equal(v.k3s.ready, true);
  assert.equal(v.autoheal.condition, 'link-problem');
  await h.stop();
});

test('a flapping node is capped at reboot; a pool over its cap is left alone', async () => {
  const h = await hub(['--autoheal-flap-window', '20s']);
  await fastPool(h, 'default', { afterReplace: '6s', hook: '/bin/false' }); // capped at reboot: never called
  const tok = await h.api<{ token: string }>('POST', '/v1/tokens', { uses: 10, ttl: '10m' });
  const flappy = await Puppet.join(h, tok.body.token, 'flappy');
  const steady = await Promise.all(['s1', 's2', 's3'].map((n) => Puppet.join(h, tok.body.token, n)));
  puppets.push(flappy, ...steady);
  await new Promise((r) => setTimeout(r, 9_000)); // past the hub's startup grace
  for (let i = 0; i < 3; i++) {
    flappy.k3sState = 'crashed';
    await waitFor(
      'degraded',
      async () => (await h.api<NodeView>('GET', `/v1/nodes/${flappy.id}`)).body.state === 'degraded',
      5_000,
    );
    await new Promise((r) => setTimeout(r, 700));
    flappy.k3sState = 'running';
    await waitFor(
      'ready',
      async () => (await h.api<NodeView>('GET', `/v1/nodes/${flappy.id}`)).body.state === 'ready',
      5_000,
    );
    await new Promise((r) => setTimeout(r, 700));
  }
  flappy.k3sState = 'crashed';
  await waitFor(
    'flapping noticed',
    async () => (await events(h, `&type=autoheal.flapping&node=${flappy.id}`)).length > 0,
    10_000,
  );
  const na = await waitFor(
    'capped: needs-attention instead of replace',
    async () => {
      const n = (await h.api<NodeView>('GET', `/v1/nodes/${flappy.id}`)).body;
      return n.state === 'needs-attention' ? n : undefined;
    },
    20_000,
  );
  assert.ok(na);
  assert.deepEqual(await steps(h, flappy.id), ['restart-k3s', 'reboot'], 'never replaced');
  const decisions = (await events(h, `&type=autoheal.decision&node=${flappy.id}`)).map((e) => e.message);
  assert.ok(
    decisions.some((m) => /flapping: capped at reboot/.test(m)),
    decisions.join('\n'),
  );

  // Pool cap: 2 of 3 nodes sick in a 40% pool: nothing is done, and the decision says why.
  assert.equal(
    (await h.api('POST', '/v1/pools', { name: 'small', autoheal: { ...FAST, maxUnhealthyPercent: 40 } })).status,
    201,
  );
  const stok = await h.api<{ token: string }>('POST', '/v1/tokens', { pool: 'small', uses: 3 });
  const small = await Promise.all(['c1', 'c2', 'c3'].map((n) => Puppet.join(h, stok.body.token, n)));
  puppets.push(...small);
  small[0].k3sState = 'crashed';
  small[1].k3sState = 'crashed';
  await waitFor(
    'cap decision',
    async () =>
      (await events(h, `&type=autoheal.decision&node=${small[0].id}`)).some((e) => /over the 40% cap/.test(e.message)),
    10_000,
  );
  await new Promise((r) => setTimeout(r, 3_000)); // past afterRestart
  assert.deepEqual(await steps(h, small[0].id), []);
  assert.deepEqual(await steps(h, small[1].id), []);
  assert.deepEqual(small[0].commands, []);
  await h.stop();
});

test('a hub restart in the middle of a ladder continues from the same step; without a hook the node is handed to an operator', async () => {
  const h = await hub();
  await fastPool(h, 'default', { afterReboot: '6s', afterReplace: '8s' });
  const tok = await h.api<{ token: string }>('POST', '/v1/tokens', { uses: 3 });
  const sick = await Puppet.join(h, tok.body.token, 'sick');
  const others = await Promise.all(['o1', 'o2'].map((n) => Puppet.join(h, tok.body.token, n)));
  puppets.push(sick, ...others);
  sick.k3sState = 'crashed';
  await waitFor('step 1', async () => (await steps(h, sick.id)).length === 1, 20_000);
  assert.deepEqual(sick.commands, ['restart-k3s']);
  // Restart the hub mid-ladder. Agents reconnect; the ladder goes on at step 2, not again at 1.
  await h.stop();
  await h.restart();
  for (const p of [sick, ...others]) await p.connect();
  await waitFor('step 2 after the restart', async () => (await steps(h, sick.id)).length >= 2, 30_000);
  assert.deepEqual((await steps(h, sick.id)).slice(0, 2), ['restart-k3s', 'reboot']);
  assert.deepEqual(sick.commands, ['restart-k3s', 'reboot'], 'no step was repeated');
  // No hook: at the replace step the node is cordoned and handed over, never deleted.
  const n = await waitFor(
    'needs-attention',
    async () => {
      const v = (await h.api<NodeView>('GET', `/v1/nodes/${sick.id}`)).body;
      return v.state === 'needs-attention' ? v : undefined;
    },
    20_000,
  );
  assert.ok(n);
  const decisions = (await events(h, `&type=autoheal.decision&node=${sick.id}`)).map((e) => e.message);
  assert.ok(
    decisions.some((m) => /no provider hook/.test(m)),
    decisions.join('\n'),
  );
  // The operator takes the node back (CLI): its state follows its reports again (k3s still crashed),
  // and its ladder starts afresh; nothing is left to clear after that.
  const cleared = await runCli(HUB_BIN, ['node', 'clear-attention', sick.id, '--data-dir', h.dataDir]);
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.match(cleared.stdout, /no longer needs attention; it is degraded/);
  const detail = (
    await h.api<{ state: string; autoheal: { step: number; attempts: number; lastAction: string } }>(
      'GET',
      `/v1/nodes/${sick.id}`,
    )
  ).body;
  assert.equal(detail.state, 'degraded');
  assert.equal(detail.autoheal.lastAction, 'reboot');
  assert.equal(detail.autoheal.attempts, 2);
  const again = await h.api<{ error: { code: string } }>('POST', `/v1/nodes/${sick.id}/actions/clear-attention`);
  assert.equal(again.status, 409);
  const audit = (await events(h, `&type=admin.action&node=${sick.id}`)).map((e) => e.message);
  assert.ok(
    audit.some((m) => /clear-attention on sick: sick no longer needs attention/.test(m)),
    audit.join('\n'),
  );
  if (testDatastore() === 'sqlite') assert.ok(readFileSync(join(h.dataDir, 'hub.db')).length > 0);
  await h.stop();
});
