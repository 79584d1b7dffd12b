// One process per data dir (`<data-dir>/lock`): a second hub or agent on the same dir refuses, names
// the pid holding it, exits 1 and writes nothing; `atoll-agent join` on a joined server says so; a
// lock left by a dead process (or by a pid now running something else) does not block a start.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AGENT_BIN,
  HUB_BIN,
  removeDir,
  runCli,
  startAgentJoin,
  startHub,
  waitFor,
  type AgentHandle,
  type HubHandle,
} from '../helpers/processes.js';
import { createToken, stopProc } from '../helpers/bad-input.js';

const dirs: string[] = [];
const hubs: HubHandle[] = [];
const agents: AgentHandle[] = [];

after(async () => {
  for (const a of agents) await stopProc(a.proc);
  for (const h of hubs) await stopProc(h.proc);
  for (const d of dirs) removeDir(d);
});

/** Every file in `dir` (recursively) with its size and mtime: "nothing written" means this is equal. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (!/hub\.db-(wal|shm)$/.test(name)) out[p] = `${st.size}:${st.mtimeMs}`;
    }
  };
  walk(dir);
  return out;
}

function hubRun(dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(
    HUB_BIN,
    [
      'run',
      '--data-dir',
      dataDir,
      '--api-listen',
      '127.0.0.1:0',
      '--gateway-listen',
      '127.0.0.1:0',
      '--public-url',
      'https://127.0.0.1:9444',
      '--k3s',
      'off',
    ],
    { ATOLL_DATA_DIR: undefined },
    20_000,
  );
}

test("a second atoll-hub run on a running hub's data dir refuses, names the pid, deletes nothing; the CLI keeps working", async () => {
  const hub = await startHub();
  hubs.push(hub);
  dirs.push(hub.dataDir);
  const pid = hub.proc.child.pid!;
  const before = snapshot(hub.dataDir);
  const hubJson = readFileSync(join(hub.dataDir, 'hub.json'), 'utf8');

  const second = await hubRun(hub.dataDir);
  assert.equal(second.code, 1, `exit code (stderr: ${second.stderr})`);
  assert.match(second.stderr, new RegExp(`in use by another process \\(pid ${pid}\\b`));
  assert.ok(second.stderr.includes(hub.dataDir), `names the data dir: ${second.stderr}`);
  assert.doesNotMatch(second.stdout, /is running/);
  assert.deepEqual(snapshot(hub.dataDir), before, 'the refused hub wrote nothing');
  assert.equal(readFileSync(join(hub.dataDir, 'hub.json'), 'utf8'), hubJson, "hub.json is still the running hub's");

  const cli = await runCli(HUB_BIN, [
    'token',
    'create',
    '--pool',
    'default',
    '--ttl',
    '10m',
    '--data-dir',
    hub.dataDir,
  ]);
  assert.equal(cli.code, 0, `the CLI still finds the running hub: ${cli.stderr}`);
  assert.equal((await hub.api('GET', '/healthz')).status, 200);
});

test('a lock left by a killed hub, or naming a pid that now runs something else, does not block the next start', async () => {
  const hub = await startHub();
  hubs.push(hub);
  dirs.push(hub.dataDir);
  await hub.stop('SIGKILL');
  const lock = join(hub.dataDir, 'lock');
  assert.ok(existsSync(lock), 'kill -9 leaves the lock file');
  await hub.restart();
  assert.equal(JSON.parse(readFileSync(lock, 'utf8')).pid, hub.proc.child.pid, 'the new hub holds the lock');
  await hub.stop();
  assert.equal(existsSync(lock), false, 'a clean stop removes the lock');

  // pid 1 is alive, but its start time is not the one recorded: the pid was reused (e.g. a reboot).
  writeFileSync(
    lock,
    JSON.stringify({ pid: 1, startTime: '1', command: 'main.js run', since: '2020-01-01T00:00:00.000Z' }),
  );
  await hub.restart();
  assert.equal(JSON.parse(readFileSync(lock, 'utf8')).pid, hub.proc.child.pid);
});

test('atoll-agent: join on a joined server says so and uses no token; a second run or join --force refuses naming the pid; the first keeps its link', async () => {
  const hub = await startHub();
  hubs.push(hub);
  dirs.push(hub.dataDir);
  const first = await createToken(hub);
  const agent = startAgentJoin(hub, first.token, { args: ['--node-name', 'locked'] });
  agents.push(agent);
  dirs.push(agent.dataDir);
  const node = await waitFor(
    'the agent online',
    async () => {
      const r = await hub.api<{ items: { id: string; name: string; connected: boolean }[] }>('GET', '/v1/nodes');
      return r.body.items.find((n) => n.name === 'locked' && n.connected);
    },
    20_000,
  );
  // The welcome's list of hubs lands in hubs.json just after the node shows as connected: wait for
  // it, so that the snapshot below is of a settled data dir.
  await waitFor('hubs.json from the welcome', () => existsSync(join(agent.dataDir, 'hubs.json')), 10_000);
  const pid = agent.proc.child.pid!;
  const second = await createToken(hub);
  const before = snapshot(agent.dataDir);

  const join1 = await runCli(AGENT_BIN, [
    'join',
    '--hub',
    hub.gatewayUrl,
    '--token',
    second.token,
    '--k3s',
    'off',
    '--data-dir',
    agent.dataDir,
  ]);
  // Says so, uses no token and exits 0 (a re-run of the installer changes nothing).
  assert.equal(join1.code, 0, `exit code (stderr: ${join1.stderr})`);
  assert.match(
    join1.stderr,
    new RegExp(
      `already joined as locked \\(${node.id}\\) to ${hub.gatewayUrl.replace(/[.:/]/g, '\\$&')}; the token was not used`,
    ),
  );
  assert.match(join1.stderr, new RegExp(`its agent runs \\(pid ${pid}\\)`));
  assert.match(join1.stderr, /pass --force/);

  const run = await runCli(AGENT_BIN, ['run', '--k3s', 'off', '--data-dir', agent.dataDir]);
  assert.equal(run.code, 1, `exit code (stderr: ${run.stderr})`);
  assert.match(run.stderr, new RegExp(`in use by another process \\(pid ${pid}\\b`));

  const forced = await runCli(AGENT_BIN, [
    'join',
    '--force',
    '--hub',
    hub.gatewayUrl,
    '--token',
    second.token,
    '--k3s',
    'off',
    '--data-dir',
    agent.dataDir,
  ]);
  assert.equal(forced.code, 1, `exit code (stderr: ${forced.stderr})`);
  assert.match(forced.stderr, new RegExp(`in use by another process \\(pid ${pid}\\b`));

  assert.deepEqual(Object.keys(snapshot(agent.dataDir)).sort(), Object.keys(before).sort(), 'no file added or removed');
  for (const f of Object.keys(before).filter((p) => !p.endsWith('status.json')))
    assert.equal(snapshot(agent.dataDir)[f], before[f], `${f} unchanged`);
  const tokens = await hub.api<{ items: { id: string; uses: number }[] }>('GET', '/v1/tokens');
  assert.equal(tokens.body.items.find((t) => t.id === second.id)?.uses, 0, 'the second token was not used');
  const events = await hub.api<{ items: { type: string; nodeId: string | null }[] }>(
    'GET',
    `/v1/events?node=${node.id}&type=node.connected&limit=1000`,
  );
  assert.equal(
    events.body.items.filter((e) => e.type === 'node.connected').length,
    1,
    'the first agent was never replaced',
  );
  assert.equal(agent.proc.child.exitCode, null, 'the first agent still runs');

  // Once it stops, `join --force` joins again with the second token, and `run` runs that identity.
  await agent.proc.kill('SIGTERM');
  assert.equal(existsSync(join(agent.dataDir, 'lock')), false, 'a stopped agent leaves no lock');
  const rejoin = await runCli(AGENT_BIN, [
    'join',
    '--force',
    '--no-run',
    '--hub',
    hub.gatewayUrl,
    '--token',
    second.token,
    '--k3s',
    'off',
    '--node-name',
    'rejoined',
    '--data-dir',
    agent.dataDir,
  ]);
  assert.equal(rejoin.code, 0, rejoin.stderr);
  const id = JSON.parse(readFileSync(join(agent.dataDir, 'identity.json'), 'utf8')) as { nodeId: string };
  assert.notEqual(id.nodeId, node.id, 'a new identity');
  agent.run();
  await waitFor(
    'the rejoined agent online',
    async () => {
      const r = await hub.api<{ connected: boolean; name: string }>('GET', `/v1/nodes/${id.nodeId}`);
      return r.body.connected && r.body.name === 'rejoined';
    },
    20_000,
  );
});
