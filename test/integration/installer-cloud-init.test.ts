// cloud-init join documents from a real hub on loopback: GET /v1/pools/{pool}/cloud-init and
// `atoll-hub join-command --cloud-init`: a #cloud-config document that parses as YAML, passes
// `cloud-init schema`, carries a fresh single-use token with the asked TTL, and whose runcmd, run
// the way cloud-init runs it, joins a node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, runCli, waitFor, removeDir, HUB_BIN, type HubHandle, removeTree } from '../helpers/processes.js';
import {
  run,
  cleanEnv,
  parseYaml,
  runcmdOf,
  watchCommandLines,
  cloudInitRuncmdScript,
  filesUnder,
  startAsUnit,
  commandExists,
  type UnitProc,
} from '../helpers/installer.js';

interface TokenView {
  id: string;
  pool: string;
  uses: number;
  maxUses: number | null;
  expiresAt: string;
  description: string;
}
interface NodeView {
  id: string;
  name: string;
  pool: string;
  state: string;
  labels: Record<string, string>;
}

let hub: HubHandle;
let work: string;
const procs: UnitProc[] = [];

before(async () => {
  hub = await startHub();
  work = mkdtempSync(join(tmpdir(), 'atoll-cloud-init-it-'));
  assert.equal((await hub.api('POST', '/v1/pools', { name: 'edge', labels: { tier: 'edge' } })).status, 201);
});

after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
  if (work) removeTree(work);
});

async function cloudInit(query: string, pool = 'edge'): Promise<{ status: number; body: string }> {
  return hub.api<string>('GET', `/v1/pools/${pool}/cloud-init${query}`);
}

function tokenOf(doc: string): string {
  const m = /'(AT1[0-9a-f]{64}::[a-z0-9]{8}\.[a-z0-9]{32})'/.exec(doc);
  assert.ok(m, 'the document carries a join token');
  return m[1];
}

test('the document is #cloud-config YAML with a fresh single-use token of the asked TTL, labels and name prefix', async () => {
  const before = Date.now();
  const r = await cloudInit('?labels=zone=fr-par-1,role=web&namePrefix=web&ttl=30m&k3s=off');
  assert.equal(r.status, 200);
  const doc = r.body;
  assert.equal(doc.split('\n')[0], '#cloud-config');
  const token = tokenOf(doc);
  const id = token.split('::')[1].split('.')[0];
  const t = (await hub.api<{ items: TokenView[] }>('GET', '/v1/tokens')).body.items.find((x) => x.id === id);
  assert.ok(t);
  assert.equal(t.pool, 'edge');
  assert.equal(t.maxUses, 1);
  assert.equal(t.uses, 0);
  assert.equal(t.description, 'cloud-init');
  const ttl = Date.parse(t.expiresAt) - before;
  assert.ok(ttl > 29 * 60_000 && ttl <= 30 * 60_000 + 5_000, `expires in 30m (got ${ttl} ms)`);
  assert.match(doc, new RegExp(`expires at ${t.expiresAt}`));

  const parsed = parseYaml(doc) as object | undefined;
  if (parsed) assert.deepEqual(Object.keys(parsed), ['runcmd']);
  const runcmd = runcmdOf(doc);
  assert.equal(runcmd[0], `export ATOLL_TOKEN='${token}'`, 'the token goes to install.sh in its environment');
  const argv = runcmd[1] as string[];
  assert.equal(argv[0], 'sh');
  assert.equal(argv[4], hub.gatewayUrl);
  assert.equal(argv[5].trim(), hub.caPem().trim());
  assert.deepEqual(argv.slice(6), [
    '--pool',
    'edge',
    '--label',
    'role=web',
    '--label',
    'zone=fr-par-1',
    '--node-name-prefix',
    'web',
    '--k3s',
    'off',
  ]);
  // A second document has another token.
  assert.notEqual(tokenOf((await cloudInit('')).body), token);
});

test(
  'the document passes cloud-init schema',
  { skip: commandExists('cloud-init') ? false : 'cloud-init is not installed (apt-get install cloud-init)' },
  async () => {
    const file = join(work, 'user-data.yaml');
    writeFileSync(file, (await cloudInit('?labels=a=b&namePrefix=x')).body);
    const r = spawnSync('cloud-init', ['schema', '--config-file', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Valid cloud-config/);
  },
);

test('bad settings are refused: labels, name prefix, ttl, unknown pool, no admin token', async () => {
  const bad = async (q: string, status: number, msg: RegExp, pool = 'edge'): Promise<void> => {
    const r = await hub.api<{ error: { message: string } }>('GET', `/v1/pools/${pool}/cloud-init${q}`);
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.match(r.body.error.message, msg);
  };
  await bad('?labels=nokv', 400, /not key=value/);
  await bad("?labels=a=b'c", 400, /not a valid Kubernetes label value/);
  await bad('?namePrefix=Bad_Name', 400, /namePrefix must be/);
  await bad('?ttl=forever', 400, /ttl/);
  await bad('?ttl=100d', 400, /between 1s and 90d/);
  await bad('', 404, /pool "nope" does not exist/, 'nope');
  const anon = await hub.api('GET', '/v1/pools/edge/cloud-init', undefined, 'wrong-token');
  assert.equal(anon.status, 401);
});

test('atoll-hub join-command --pool P --cloud-init prints the document', async () => {
  const r = await runCli(HUB_BIN, [
    'join-command',
    '--pool',
    'edge',
    '--cloud-init',
    '--label',
    'rack=r1',
    '--name-prefix',
    'cli',
    '--ttl',
    '10m',
    '--data-dir',
    hub.dataDir,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split('\n')[0], '#cloud-config');
  assert.match(r.stdout, /"--label"\n\s+- "rack=r1"/);
  assert.match(r.stdout, /"--node-name-prefix"\n\s+- "cli"/);
  tokenOf(r.stdout);
  const plain = await runCli(HUB_BIN, ['join-command', '--pool', 'edge', '--data-dir', hub.dataDir]);
  assert.match(
    plain.stdout,
    /^curl -sSfL --pinnedpubkey 'sha256\/\/[A-Za-z0-9+/]{43}=' --insecure https:\/\/127\.0\.0\.1:\d+\/install\.sh \| sudo sh -s - --token AT1/,
  );
});

test(
  'the runcmd, run as cloud-init runs it, joins a node to the pool, the token on no command line',
  { timeout: 45_000 },
  async () => {
    const doc = (await cloudInit('?labels=zone=z1&namePrefix=ci&k3s=off')).body;
    const runcmd = runcmdOf(doc);
    const secret = tokenOf(doc).split('.')[1];
    const script = join(work, 'runcmd');
    writeFileSync(script, cloudInitRuncmdScript(runcmd));
    chmodSync(script, 0o700);
    const root = join(work, 'root-ci');
    // cloud-init runs the script as root with its own environment; the install root keeps it off /etc.
    const watch = watchCommandLines(secret);
    const r = await run([script], {
      env: cleanEnv({ ATOLL_INSTALL_ROOT: root, ATOLL_SERVICE: 'none' }),
      timeoutMs: 40_000,
    });
    const leaked = watch.stop();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(leaked, [], 'no process had the token on its command line');
    const agent = startAsUnit({
      envFile: join(root, 'etc/atoll-agent/atoll-agent.env'),
      execStart: [join(root, 'usr/local/bin/atoll-agent'), 'run'],
    });
    procs.push(agent);
    const node = await waitFor(
      'the cloud-init node to be ready',
      async () =>
        (await hub.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items.find((n) => n.state === 'ready'),
      20_000,
    );
    assert.equal(node.pool, 'edge');
    assert.match(node.name, /^ci-[0-9a-f]{8}$/);
    assert.equal(node.labels.zone, 'z1');
    const un = await run(['sh', join(root, 'usr/local/bin/atoll-agent-uninstall.sh')], {
      env: cleanEnv(),
      timeoutMs: 30_000,
    });
    assert.equal(un.code, 0, un.stderr);
    await agent.exited;
    assert.deepEqual(filesUnder(root), []);
    assert.deepEqual((await hub.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items, []);
  },
);
