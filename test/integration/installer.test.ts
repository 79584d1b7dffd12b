// The installer against a real hub on loopback: the public routes it downloads from, then a whole
// install with a systemd unit written into an install root (GNU wget instead of curl, and the
// Node.js runtime from the hub), the unit checked and started the way systemd would, a re-run that
// changes nothing, and the uninstall script.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startHub, waitFor, removeDir, type HubHandle, removeTree } from '../helpers/processes.js';
import {
  run,
  cleanEnv,
  curlPipeInstall,
  fetchInstallScript,
  snapshot,
  filesUnder,
  shimPath,
  makeNodeRuntime,
  startAsUnit,
  commandExists,
  type UnitProc,
} from '../helpers/installer.js';

interface NodeView {
  id: string;
  name: string;
  pool: string;
  state: string;
  labels: Record<string, string>;
}
interface EventView {
  type: string;
  actor: string;
  nodeId: string | null;
  message: string;
  data?: Record<string, unknown>;
}

let hub: HubHandle;
let work: string;
let runtimeVersion: string;
const procs: UnitProc[] = [];
const cleanups: Array<() => void> = [];

before(async () => {
  hub = await startHub();
  work = mkdtempSync(join(tmpdir(), 'atoll-installer-it-'));
  runtimeVersion = makeNodeRuntime(hub.dataDir);
});

after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
  for (const c of cleanups) c();
  if (work) removeTree(work);
});

async function get(path: string): Promise<{ code: number | null; body: Buffer; headers: string }> {
  const out = join(work, `get-${createHash('sha1').update(path).digest('hex')}`);
  const r = await run(['curl', '-sS', '--insecure', '-D', '-', '-o', out, `${hub.gatewayUrl}${path}`], {
    timeoutMs: 30_000,
  });
  const status = Number(/^HTTP\/[\d.]+ (\d+)/m.exec(r.stdout)?.[1] ?? 0);
  return { code: status, body: existsSync(out) ? readFileSync(out) : Buffer.alloc(0), headers: r.stdout };
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function joinToken(): Promise<{ token: string; tokenId: string }> {
  const r = await hub.api<{ token: string; tokenId: string }>('POST', '/v1/join-command', {
    pool: 'default',
    ttl: '10m',
  });
  assert.equal(r.status, 200);
  return r.body;
}

async function nodes(): Promise<NodeView[]> {
  return (await hub.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
}

async function events(): Promise<EventView[]> {
  return (await hub.api<{ items: EventView[] }>('GET', '/v1/events?limit=1000')).body.items;
}

test('install.sh and the artifacts are public: no client certificate, hub URL written in, SHA-256 listed', async () => {
  const script = await get('/install.sh');
  assert.equal(script.code, 200);
  assert.match(script.headers, /content-type: text\/x-shellscript/i);
  assert.match(
    script.body.toString(),
    new RegExp(`^ATOLL_SCRIPT_HUB_URL='${hub.gatewayUrl.replace(/[.]/g, '\\.')}'$`, 'm'),
  );

  const agentIndex = (await get('/v1/artifacts/agent/index.txt')).body.toString().trim().split(/\s+/);
  assert.equal(agentIndex[0], 'atoll-agent');
  const [, version, agentSha, size, agentPath] = agentIndex;
  const bundle = await get(agentPath);
  assert.equal(bundle.code, 200);
  assert.equal(sha256(bundle.body), agentSha);
  assert.equal(bundle.body.length, Number(size));
  assert.match(bundle.headers, new RegExp(`x-checksum-sha256: ${agentSha}`, 'i'));
  assert.equal((await get(`${agentPath}.sha256`)).body.toString(), `${agentSha}  atoll-agent.mjs\n`);
  assert.match(version, /^\d+\.\d+\.\d+/);
  const wrong = await get('/v1/artifacts/agent/9.9.9/atoll-agent.mjs');
  assert.equal(wrong.code, 404);
  assert.match(wrong.body.toString(), /"code":"NOT_FOUND"/);

  const nodeIndex = (await get('/v1/artifacts/node/index.txt')).body
    .toString()
    .trim()
    .split('\n')
    .map((l) => l.split(' '));
  const amd64 = nodeIndex.find((l) => l[2] === 'amd64');
  assert.ok(amd64, 'a runtime for amd64 is listed');
  assert.equal(amd64[1], runtimeVersion, "the operator's runtime (data dir) comes first");
  const tgz = await get(amd64[5]);
  assert.equal(tgz.code, 200);
  assert.equal(sha256(tgz.body), amd64[3]);
  assert.equal((await get('/v1/artifacts/node/1.2.3/amd64/node.tgz')).code, 404);
  assert.equal((await get('/v1/artifacts/node/../../etc/amd64/node.tgz')).code, 404);
});

test(
  'install.sh as served passes shellcheck',
  { skip: commandExists('shellcheck') ? false : 'shellcheck is not installed (apt-get install shellcheck)' },
  async () => {
    const file = join(work, 'served.sh');
    writeFileSync(file, await fetchInstallScript(hub.gatewayUrl));
    const r = spawnSync('shellcheck', ['-s', 'sh', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  },
);

const hasWget = commandExists('wget');

test(
  'an install with a systemd unit (wget, Node.js from the hub): verified unit, started as systemd would, ready; a re-run changes nothing; uninstall removes it',
  { timeout: 60_000 },
  async () => {
    const root = join(work, 'root-unit');
    const { token, tokenId } = await joinToken();
    // GNU wget when this machine has it (curl hidden), else curl.
    const noCurl = shimPath(hasWget ? ['curl', 'sudo'] : ['sudo']);
    cleanups.push(noCurl.cleanup);
    const script = await fetchInstallScript(hub.gatewayUrl);
    const args = [
      '--token',
      token,
      '--service',
      'systemd',
      '--install-root',
      root,
      '--node',
      'hub',
      '--k3s',
      'off',
      '--label',
      'tier=test',
      '--node-name-prefix',
      'itest',
    ];
    const first = await run(['sh', '-s', '-', ...args], {
      input: script,
      env: cleanEnv({ PATH: noCurl.path }),
      timeoutMs: 45_000,
    });
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stderr, /error/);
    assert.match(first.stderr, /not enabling or starting them/);
    assert.match(first.stderr, hasWget ? /\(with wget\)/ : /\(with curl\)/);

    const unitFile = join(root, 'etc/systemd/system/atoll-agent.service');
    const envFile = join(root, 'etc/atoll-agent/atoll-agent.env');
    const nodeBin = join(root, 'usr/local/lib/atoll-agent/node/bin/node');
    for (const f of [
      unitFile,
      envFile,
      nodeBin,
      join(root, 'usr/local/bin/atoll-agent'),
      join(root, 'usr/local/bin/atoll-agent-uninstall.sh'),
      join(root, 'usr/local/lib/atoll-agent/atoll-agent.mjs'),
    ]) {
      assert.ok(existsSync(f), `${f} is installed`);
    }
    assert.equal(statSync(envFile).mode & 0o777, 0o600, 'the env file is 0600');
    assert.equal(statSync(join(root, 'etc/atoll-agent')).mode & 0o777, 0o700);
    const secret = token.split('.').pop()!;
    for (const f of filesUnder(root))
      assert.ok(!readFileSync(join(root, f)).includes(secret), `${f} must not hold the token`);
    assert.match(
      readFileSync(join(root, 'usr/local/bin/atoll-agent'), 'utf8'),
      new RegExp(`exec ${nodeBin} `),
      "the wrapper runs the hub's runtime",
    );
    assert.equal(sha256(readFileSync(nodeBin)), sha256(readFileSync(process.execPath)));

    if (commandExists('systemd-analyze')) {
      const v = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8' });
      assert.equal(v.status, 0, v.stdout + v.stderr);
      assert.equal((v.stdout + v.stderr).trim(), '', 'systemd-analyze verify has nothing to say about the unit');
    }

    const agent = startAsUnit({ unitFile });
    procs.push(agent);
    const node = await waitFor(
      'the node to be ready',
      async () => (await nodes()).find((n) => n.state === 'ready'),
      20_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nagent: ${agent.stderr().slice(-2000)}`);
    });
    assert.match(node.name, /^itest-[0-9a-f]{8}$/);
    assert.equal(node.labels.tier, 'test');
    const downloads = (await events()).filter(
      (e) => e.type === 'artifact.downloaded' && e.actor === `token:${tokenId}`,
    );
    assert.deepEqual(
      downloads.map((e) => e.data?.artifact).sort(),
      ['agent', 'node'],
      'both downloads are logged with the token id',
    );

    // Again, with the same (now used) token and curl: nothing changes, no second join.
    const statusFile = (rel: string): boolean => rel.endsWith('status.json');
    const before = snapshot(root, statusFile);
    const again = await curlPipeInstall(hub.gatewayUrl, args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /already joined as itest-/);
    assert.match(again.stderr, /nothing changed/);
    assert.deepEqual(snapshot(root, statusFile), before, 'the second run changed no file');
    assert.equal((await nodes()).length, 1);
    assert.equal(
      agent.pid > 0 && (await Promise.race([agent.exited, new Promise((r) => setTimeout(() => r('running'), 200))])),
      'running',
    );

    const un = await run(['sh', join(root, 'usr/local/bin/atoll-agent-uninstall.sh')], {
      env: cleanEnv(),
      timeoutMs: 30_000,
    });
    assert.equal(un.code, 0, un.stderr);
    assert.match(un.stderr, /told the hub/);
    await agent.exited;
    assert.deepEqual(filesUnder(root), [], 'nothing is left in the install root');
    assert.deepEqual(await nodes(), [], 'the hub shows the node gone');
    const evs = await events();
    assert.ok(evs.some((e) => e.type === 'node.leaving' && e.nodeId === node.id));
    assert.ok(evs.some((e) => e.type === 'node.removed' && e.nodeId === node.id && e.actor === `node:${node.id}`));
  },
);

test('POST /v1/agent/leave needs a client certificate of a node', async () => {
  const r = await run(
    ['curl', '-sS', '--insecure', '-X', 'POST', '-o', '-', '-w', '\n%{http_code}', `${hub.gatewayUrl}/v1/agent/leave`],
    { timeoutMs: 15_000 },
  );
  const [body, code] = r.stdout.split('\n');
  assert.equal(code, '401');
  assert.match(body, /UNAUTHORIZED/);
});
