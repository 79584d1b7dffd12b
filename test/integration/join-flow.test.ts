// The foundation walk-through with real processes on loopback: a hub, three agents joined with
// tokens from the CLI, stop/start of an agent, a hub restart (clean and kill -9), node removal.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startHub,
  startAgentJoin,
  runCli,
  waitFor,
  removeDir,
  HUB_BIN,
  AGENT_BIN,
  type HubHandle,
  type AgentHandle,
} from '../helpers/processes.js';

interface NodeView {
  id: string;
  name: string;
  pool: string;
  state: string;
  lastSeen: string | null;
  agentVersion: string;
  connected: boolean;
  facts: {
    hostname: string;
    os: string;
    kernel: string;
    arch: string;
    cpus: number;
    memoryBytes: number;
    addresses: string[];
  };
  health: {
    receivedAt: string;
    cpuPercent: number;
    memory: { totalBytes: number };
    disk: { totalBytes: number };
    uptimeSeconds: number;
  } | null;
  labels: Record<string, string>;
  addresses: string[];
}

const HEARTBEAT_MS = 1000;
let hub: HubHandle;
const agents: AgentHandle[] = [];

after(async () => {
  for (const a of agents) await a.proc.kill('SIGKILL');
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
  for (const a of agents) removeDir(a.dataDir);
});

async function cli(args: string[]): Promise<string> {
  const r = await runCli(HUB_BIN, [...args, '--data-dir', hub.dataDir]);
  assert.equal(r.code, 0, `atoll-hub ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function nodes(): Promise<NodeView[]> {
  return (JSON.parse(await cli(['nodes', '-o', 'json'])) as { items: NodeView[] }).items;
}

async function nodeState(id: string): Promise<string | undefined> {
  const r = await hub.api<NodeView>('GET', `/v1/nodes/${id}`);
  return r.status === 200 ? r.body.state : undefined;
}

test('join, report, go away, come back, survive a hub restart', async (t) => {
  hub = await startHub({ heartbeat: `${HEARTBEAT_MS}ms`, unreachableAfter: '3s' });
  assert.match(hub.proc.stdout(), /API: +https:\/\/127\.0\.0\.1:\d+/);
  assert.match(hub.proc.stdout(), /admin token: +.*admin-token/);
  assert.match(
    hub.proc.stdout(),
    /curl -sSfL --pinnedpubkey 'sha256\/\/[A-Za-z0-9+/]{43}=' --insecure https:\/\/127\.0\.0\.1:\d+\/install\.sh \| sudo sh -s - --token AT1[0-9a-f]{64}::/,
  );

  await t.test('three agents join with tokens from `atoll-hub token create` and turn ready', async () => {
    for (let i = 0; i < 3; i++) {
      const token = (await cli(['token', 'create', '--pool', 'default', '--ttl', '10m'])).trim();
      assert.match(token, /^AT1[0-9a-f]{64}::[a-z0-9]{8}\.[a-z0-9]{32}$/);
      agents.push(startAgentJoin(hub, token, { args: ['--node-name', `worker-${i}`, '--label', `rack=r${i}`] }));
    }
    const list = await waitFor(
      'three ready nodes',
      async () => {
        const ns = await nodes();
        return ns.length === 3 && ns.every((n) => n.state === 'ready' && n.health) ? ns : undefined;
      },
      20_000,
    );
    for (const n of list) {
      assert.match(n.name, /^worker-\d$/);
      assert.equal(n.pool, 'default');
      assert.ok(n.facts.hostname.length > 0, 'hostname');
      assert.ok(n.facts.os.length > 0, 'os');
      assert.ok(n.facts.kernel.length > 0, 'kernel');
      assert.ok(['amd64', 'arm64'].includes(n.facts.arch), `arch ${n.facts.arch}`);
      assert.ok(n.facts.cpus >= 1, 'cpus');
      assert.ok(n.facts.memoryBytes > 0, 'memory');
      assert.ok(Array.isArray(n.addresses), 'addresses');
      assert.match(n.agentVersion, /^\d+\.\d+\.\d+/);
      assert.equal(n.labels.rack, `r${n.name.slice(-1)}`);
      assert.ok(n.health && n.health.memory.totalBytes > 0 && n.health.disk.totalBytes > 0);
    }
    // Reports stay fresh: within one heartbeat interval (plus scheduling slack).
    await new Promise((r) => setTimeout(r, 2 * HEARTBEAT_MS));
    for (const n of await nodes()) {
      const age = Date.now() - Date.parse(n.health!.receivedAt);
      assert.ok(age <= HEARTBEAT_MS + 1000, `report of ${n.name} is ${age} ms old`);
    }
    const table = await cli(['nodes']);
    assert.match(table, /worker-0\s+default\s+ready/);
  });

  await t.test('the agent status command shows the live link', async () => {
    const r = await runCli(AGENT_BIN, ['status', '-o', 'json', '--data-dir', agents[0].dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const st = JSON.parse(r.stdout) as { nodeName: string; connection: { state: string }; agent: { running: boolean } };
    assert.equal(st.nodeName, 'worker-0');
    assert.equal(st.agent.running, true);
    assert.equal(st.connection.state, 'connected');
  });

  await t.test('a stopped agent becomes unreachable; `atoll-agent run` brings it back without a token', async () => {
    const before = await nodes();
    const target = before.find((n) => n.name === 'worker-0')!;
    const tokensBefore = JSON.parse(await cli(['token', 'list', '--all', '-o', 'json'])) as {
      items: Array<{ id: string; uses: number }>;
    };
    await agents[0].proc.kill('SIGTERM');
    const stoppedAt = Date.now();
    await waitFor('worker-0 unreachable', async () => (await nodeState(target.id)) === 'unreachable', 10_000);
    // The clock starts at the last report, at most one interval before the stop.
    const lastSeen = Date.parse((await hub.api<NodeView>('GET', `/v1/nodes/${target.id}`)).body.lastSeen!);
    assert.ok(lastSeen <= stoppedAt + 100, 'no report after the stop');
    assert.ok(Date.now() - lastSeen >= 3000, 'not unreachable before --unreachable-after');
    agents[0].run();
    await waitFor('worker-0 ready again', async () => (await nodeState(target.id)) === 'ready', 15_000);
    const after = await nodes();
    assert.equal(after.length, 3, 'no second node was created');
    assert.ok(after.some((n) => n.id === target.id && n.name === 'worker-0'));
    const tokensAfter = JSON.parse(await cli(['token', 'list', '--all', '-o', 'json'])) as {
      items: Array<{ id: string; uses: number }>;
    };
    assert.deepEqual(
      tokensAfter.items.map((x) => x.uses),
      tokensBefore.items.map((x) => x.uses),
      'no token was used again',
    );
  });

  await t.test('hub restart (clean, then kill -9): agents reconnect by themselves; state is kept', async () => {
    const caBefore = readFileSync(join(hub.dataDir, 'ca.crt'), 'utf8');
    const tokensBefore = (await hub.api<{ items: unknown[] }>('GET', '/v1/tokens?all=true')).body.items;
    await cli(['pool', 'create', 'edge', '--label', 'tier=edge']);
    const poolsBefore = (await hub.api<{ items: Array<{ name: string }> }>('GET', '/v1/pools')).body.items;
    const idsBefore = (await nodes()).map((n) => n.id).sort();
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      await hub.stop(signal);
      await hub.restart();
      const list = await waitFor(
        `all nodes ready after ${signal}`,
        async () => {
          const ns = await nodes();
          return ns.length === 3 && ns.every((n) => n.state === 'ready' && n.connected) ? ns : undefined;
        },
        30_000,
      );
      assert.deepEqual(list.map((n) => n.id).sort(), idsBefore);
      assert.equal(readFileSync(join(hub.dataDir, 'ca.crt'), 'utf8'), caBefore, 'same CA');
      const tokensAfter = (await hub.api<{ items: unknown[] }>('GET', '/v1/tokens?all=true')).body.items;
      // Each start mints one single-use token for its printed join command; the earlier ones are kept.
      assert.deepEqual(tokensAfter.slice(0, tokensBefore.length), tokensBefore);
      const pools = (await hub.api<{ items: Array<{ name: string }> }>('GET', '/v1/pools')).body.items;
      assert.deepEqual(pools.map((p) => p.name).sort(), poolsBefore.map((p) => p.name).sort());
    }
    // Reconnects after the restarts resumed their TLS sessions: the ticket keys outlive the hub.
    const connects = (
      await hub.api<{ items: Array<{ type: string; data: { tlsResumed?: boolean } }> }>(
        'GET',
        '/v1/events?type=node.connected&limit=1000',
      )
    ).body.items;
    assert.ok(
      connects.some((e) => e.data.tlsResumed === true),
      'some reconnects resumed their TLS session',
    );
    // Every agent process stayed up throughout: none had to be restarted.
    for (const a of agents) assert.equal(a.proc.child.exitCode, null);
  });

  await t.test('removing a node revokes its certificate and ends its agent', async () => {
    const target = (await nodes()).find((n) => n.name === 'worker-2')!;
    const out = await cli(['node', 'remove', target.id]);
    assert.match(out, /removed/);
    const code = await agents[2].proc.exited;
    assert.equal(code, 3);
    assert.match(agents[2].proc.stderr(), /removed from the hub/);
    assert.equal((await hub.api('GET', `/v1/nodes/${target.id}`)).status, 404);
    const again = agents[2].run();
    assert.equal(await again.exited, 3, 'a removed node cannot reconnect with its old certificate');
    const events = (
      await hub.api<{ items: Array<{ type: string; nodeId: string | null }> }>(
        'GET',
        `/v1/events?node=${target.id}&limit=1000`,
      )
    ).body.items;
    assert.ok(events.some((e) => e.type === 'node.removed'));
  });
});
