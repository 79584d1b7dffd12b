// End to end, with "foreign servers" in network namespaces: the hub in one, servers in others.
// One runs the real install.sh piped from curl into an install root (--no-service), starts the
// agent the way the unit would, and becomes ready; a second run changes nothing; the uninstall
// script removes it and the hub shows it gone. Another joins through a cloud-init document's
// runcmd, run as cloud-init runs it. A wrong pin and an expired token each fail with their own
// message and leave nothing installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, netnsAvailable, type Lab, type Host } from '../helpers/netns.js';
import { HUB_BIN, apiCall, waitFor, removeTree } from '../helpers/processes.js';
import { caPin } from '../../certs/pin.js';
import {
  run,
  cleanEnv,
  curlPipeInstall,
  snapshot,
  filesUnder,
  startAsUnit,
  runcmdOf,
  cloudInitRuncmdScript,
  type UnitProc,
} from '../helpers/installer.js';

interface NodeView {
  id: string;
  name: string;
  pool: string;
  state: string;
  labels: Record<string, string>;
  addresses: string[];
}
interface EventView {
  type: string;
  nodeId: string | null;
  actor: string;
}

const avail = netnsAvailable();
let lab: Lab;
let work: string;
let hubHost: Host;
let hubUrl: string;
let apiUrl: string;
let dataDir: string;
let hubProc: UnitProc | undefined;
const procs: UnitProc[] = [];

function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  return apiCall<T>(
    apiUrl,
    readFileSync(join(dataDir, 'ca.crt'), 'utf8'),
    readFileSync(join(dataDir, 'admin-token'), 'utf8').trim(),
    method,
    path,
    body,
  );
}

async function nodes(): Promise<NodeView[]> {
  return (await api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
}

before(async () => {
  if (!avail.ok) return;
  work = mkdtempSync(join(tmpdir(), 'atoll-e2e-installer-'));
  lab = createLab();
  hubHost = lab.addHost('hub');
  dataDir = join(work, 'hub');
  hubUrl = `https://${hubHost.ip}:9444`;
  apiUrl = `https://${hubHost.ip}:9443`;
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      hubHost.ns,
      process.execPath,
      HUB_BIN,
      'run',
      '--data-dir',
      dataDir,
      '--api-listen',
      `${hubHost.ip}:9443`,
      '--gateway-listen',
      '0.0.0.0:9444',
      '--public-url',
      hubUrl,
      '--k3s',
      'off',
      '--heartbeat-interval',
      '1s',
      '--unreachable-after',
      '5s',
    ],
    { env: { ...process.env, ATOLL_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-5000);
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  hubProc = {
    pid: child.pid ?? -1,
    stderr: () => err,
    exited,
    async kill(sig: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      return exited;
    },
  };
  await waitFor(
    'the hub to serve',
    async () => existsSync(join(dataDir, 'admin-token')) && (await api('GET', '/healthz')).status === 200,
    20_000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${err}`);
  });
});

after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  await hubProc?.kill('SIGKILL');
  lab?.cleanup();
  if (work) removeTree(work);
});

const skip = avail.ok ? false : avail.why;

test(
  'curl | sh on a foreign server: ready at the hub; a second run changes nothing; uninstall removes it everywhere',
  { skip, timeout: 60_000 },
  async () => {
    const host = lab.addHost('srv-a');
    const root = join(work, 'root-a');
    const t = await api<{ token: string; tokenId: string; command: string }>('POST', '/v1/join-command', {
      pool: 'default',
      ttl: '10m',
    });
    assert.equal(t.status, 200);
    // The exact line join-command prints, less sudo (the test runs as root), plus the test's options.
    const pin = (await api<{ servingPin: string }>('GET', '/v1/cluster')).body.servingPin;
    assert.equal(
      t.body.command,
      `curl -sSfL --pinnedpubkey '${pin}' --insecure ${hubUrl}/install.sh | sudo sh -s - --token ${t.body.token}`,
    );
    const args = [
      '--token',
      t.body.token,
      '--no-service',
      '--install-root',
      root,
      '--k3s',
      'off',
      '--node-name',
      'srv-a',
    ];
    const first = await curlPipeInstall(hubUrl, args, { ns: host.ns });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /the hub CA matches the pin/);
    assert.match(first.stderr, /--no-service: nothing was started/);

    // Start it the way the unit would: the env file, then ExecStart (the wrapper with `run`).
    const envFile = join(root, 'etc/atoll-agent/atoll-agent.env');
    const agent = startAsUnit(
      { envFile, execStart: [join(root, 'usr/local/bin/atoll-agent'), 'run'] },
      { ns: host.ns },
    );
    procs.push(agent);
    const node = await waitFor(
      'srv-a to be ready',
      async () => (await nodes()).find((n) => n.name === 'srv-a' && n.state === 'ready'),
      20_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nagent: ${agent.stderr().slice(-2000)}`);
    });
    assert.ok(node.addresses.includes(host.ip), `the hub sees the server at ${host.ip}: ${node.addresses.join(', ')}`);

    const status = await run(
      ['ip', 'netns', 'exec', host.ns, join(root, 'usr/local/bin/atoll-agent'), 'status', '-o', 'json'],
      { env: cleanEnv() },
    );
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { nodeId: string; connection: { state: string } }).nodeId, node.id);

    const notStatus = (rel: string): boolean => rel.endsWith('status.json');
    const before = snapshot(root, notStatus);
    const again = await curlPipeInstall(hubUrl, args, { ns: host.ns });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /already joined as srv-a/);
    assert.match(again.stderr, /nothing changed/);
    assert.deepEqual(snapshot(root, notStatus), before, 'the second run changed no file');
    assert.deepEqual(
      (await nodes()).map((n) => n.id),
      [node.id],
      'no second node',
    );

    const un = await run(['ip', 'netns', 'exec', host.ns, 'sh', join(root, 'usr/local/bin/atoll-agent-uninstall.sh')], {
      env: cleanEnv(),
      timeoutMs: 40_000,
    });
    assert.equal(un.code, 0, un.stderr);
    assert.match(un.stderr, /told the hub at .*: node .* has left/);
    await agent.exited;
    assert.deepEqual(filesUnder(root), [], 'nothing is left on the server');
    await waitFor('the hub to show srv-a gone', async () => !(await nodes()).some((n) => n.id === node.id), 10_000);
    const evs = (await api<{ items: EventView[] }>('GET', `/v1/events?node=${node.id}&limit=1000`)).body.items;
    assert.ok(evs.some((e) => e.type === 'node.removed' && e.actor === `node:${node.id}`));
  },
);

test(
  "a cloud-init document's runcmd, run as cloud-init runs it, joins a foreign server",
  { skip, timeout: 60_000 },
  async () => {
    const host = lab.addHost('srv-b');
    const root = join(work, 'root-b');
    const doc = await api<string>(
      'GET',
      '/v1/pools/default/cloud-init?labels=provider=lab&namePrefix=cloud&ttl=15m&k3s=off',
    );
    assert.equal(doc.status, 200);
    assert.equal(doc.body.split('\n')[0], '#cloud-config');
    const runcmd = runcmdOf(doc.body);
    const script = join(work, 'runcmd-b');
    writeFileSync(script, cloudInitRuncmdScript(runcmd));
    chmodSync(script, 0o700);
    const r = await run(['ip', 'netns', 'exec', host.ns, script], {
      env: cleanEnv({ ATOLL_INSTALL_ROOT: root, ATOLL_SERVICE: 'none' }),
      timeoutMs: 45_000,
    });
    assert.equal(r.code, 0, r.stderr);
    const agent = startAsUnit(
      {
        envFile: join(root, 'etc/atoll-agent/atoll-agent.env'),
        execStart: [join(root, 'usr/local/bin/atoll-agent'), 'run'],
      },
      { ns: host.ns },
    );
    procs.push(agent);
    const node = await waitFor(
      'the cloud-init server to be ready',
      async () => (await nodes()).find((n) => n.name.startsWith('cloud-') && n.state === 'ready'),
      20_000,
    );
    assert.equal(node.labels.provider, 'lab');
    const un = await run(['ip', 'netns', 'exec', host.ns, 'sh', join(root, 'usr/local/bin/atoll-agent-uninstall.sh')], {
      env: cleanEnv(),
      timeoutMs: 40_000,
    });
    assert.equal(un.code, 0, un.stderr);
    await agent.exited;
    assert.deepEqual(filesUnder(root), []);
    await waitFor('the hub to show it gone', async () => !(await nodes()).some((n) => n.id === node.id), 10_000);
  },
);

test(
  'a wrong pin and an expired token fail with their own messages and leave nothing installed',
  { skip, timeout: 30_000 },
  async () => {
    const host = lab.addHost('srv-c');
    const good = await api<{ token: string }>('POST', '/v1/tokens', { pool: 'default', ttl: '10m' });
    const pin = caPin(readFileSync(join(dataDir, 'ca.crt'), 'utf8'));
    const wrong = good.body.token.replace(pin, 'f'.repeat(64));
    const rootPin = join(work, 'root-pin');
    const p = await curlPipeInstall(hubUrl, ['--token', wrong, '--no-service', '--install-root', rootPin], {
      ns: host.ns,
    });
    assert.equal(p.code, 1);
    assert.match(p.stderr, /the hub CA does not match the pin in the join token/);
    assert.match(p.stderr, new RegExp(`${pin}[\\s\\S]*${'f'.repeat(64)}`), 'both hashes are shown');
    assert.equal(existsSync(rootPin), false);

    const expired = await api<{ token: string }>('POST', '/v1/tokens', { pool: 'default', ttl: '1s' });
    await new Promise((r) => setTimeout(r, 1200));
    const rootExp = join(work, 'root-exp');
    const e = await curlPipeInstall(
      hubUrl,
      ['--token', expired.body.token, '--no-service', '--install-root', rootExp, '--k3s', 'off'],
      { ns: host.ns },
    );
    assert.equal(e.code, 1);
    assert.match(e.stderr, /TOKEN_EXPIRED/);
    assert.doesNotMatch(e.stderr, /does not match the pin/);
    assert.equal(existsSync(rootExp), false);
    assert.equal((await nodes()).length, 0);
  },
);
