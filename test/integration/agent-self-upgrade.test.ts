// Agent self-upgrade, end to end on loopback: an agent installed by install.sh (its wrapper, its
// bundle, its systemd unit) runs under a restart loop that stands in for systemd's Restart=always.
// The hub serves a newer bundle (atoll-hub artifact import agent); `atoll-hub agent-upgrade start`
// has the agent fetch it, check it, restart into it and reach the hub: same node id, new version,
// the old bundle kept. A broken bundle (it says the right version but cannot run) is put back by the
// wrapper once its deadline passes: the agent comes back on the old version by itself, the rollout
// halts. An agent run from a source tree refuses (nothing changed), which shows as version skew.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
  removeTree,
  runCli,
  HUB_BIN,
  ROOT,
  type HubHandle,
  type AgentHandle,
} from '../helpers/processes.js';
import { run, cleanEnv, fetchInstallScript, startAsUnit, type UnitProc } from '../helpers/installer.js';

interface NodeView {
  id: string;
  name: string;
  state: string;
  agentVersion: string;
}
interface RolloutView {
  id: string;
  kind: string;
  version: string;
  state: string;
  message: string;
  nodes: Array<{ id: string; name: string; from: string; phase: string; message: string }>;
}
interface AgentVersions {
  latest: string;
  available: string[];
  running: Array<{ version: string; nodes: number }>;
  skew: boolean;
  behind: number;
}

let hub: HubHandle;
let work: string;
let root: string;
let plain: AgentHandle | undefined;
let supervisor: Supervisor | undefined;
const PKG_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const NEXT = '0.99.1';
const BROKEN = '0.99.2';

/** Restart=always, RestartSec=1s, for the unit's ExecStart: what systemd would do, bounded. */
interface Supervisor {
  starts: () => number;
  exits: Array<number | null>;
  stderr: () => string;
  stop(): Promise<void>;
}
function supervise(unitFile: string): Supervisor {
  let stopped = false;
  let current: UnitProc | undefined;
  let log = '';
  const exits: Array<number | null> = [];
  let starts = 0;
  const loop = (async () => {
    while (!stopped && starts < 40) {
      current = startAsUnit({ unitFile });
      starts++;
      const code = await current.exited;
      log = (log + current.stderr()).slice(-20_000);
      exits.push(code);
      if (stopped || code === 3) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return {
    starts: () => starts,
    exits,
    stderr: () => log + (current?.stderr() ?? ''),
    async stop() {
      stopped = true;
      await current?.kill('SIGKILL');
      await loop;
    },
  };
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'atoll-self-upgrade-'));
  root = join(work, 'root');
  hub = await startHub();
  const b = spawnSync(
    process.execPath,
    [join(ROOT, 'scripts/build-agent-bundle.mjs'), '--out', join(work, 'next'), '--version', NEXT],
    { encoding: 'utf8' },
  );
  assert.equal(b.status, 0, b.stderr);
  // Says the right version (so the agent's own check passes) but cannot run.
  writeFileSync(
    join(work, 'broken.mjs'),
    `#!/usr/bin/env node\nif (process.argv.includes('--version')) { console.log('${BROKEN}'); process.exit(0); }\nconsole.error('this bundle is broken on purpose');\nprocess.exit(1);\n`,
    { mode: 0o755 },
  );
});

after(async () => {
  await supervisor?.stop();
  await plain?.proc.kill('SIGKILL');
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
  if (plain) removeDir(plain.dataDir);
  if (work) removeTree(work);
});

async function nodes(): Promise<NodeView[]> {
  return (await hub.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
}

async function agentVersions(): Promise<AgentVersions> {
  return (await hub.api<{ upgrades: { agents: AgentVersions } }>('GET', '/v1/cluster')).body.upgrades.agents;
}

async function waitRollout(id: string, timeoutMs: number): Promise<RolloutView> {
  return waitFor(
    'rollout finished',
    async () => {
      const r = (await hub.api<RolloutView>('GET', `/v1/upgrades/${id}`)).body;
      return ['done', 'halted', 'cancelled'].includes(r.state) ? r : undefined;
    },
    timeoutMs,
    500,
  ).catch(async (err: Error) => {
    throw new Error(
      `${err.message}\nrollout: ${JSON.stringify((await hub.api('GET', `/v1/upgrades/${id}`)).body)}\nagent: ${supervisor?.stderr().slice(-3000)}`,
    );
  });
}

test(
  'an installed agent upgrades itself, keeps its identity and the old bundle; a source-tree agent refuses; skew is shown',
  { timeout: 150_000 },
  async () => {
    const tok = await hub.api<{ token: string }>('POST', '/v1/tokens', { uses: 2 });
    const script = await fetchInstallScript(hub.gatewayUrl);
    const inst = await run(
      [
        'sh',
        '-s',
        '-',
        '--token',
        tok.body.token,
        '--service',
        'systemd',
        '--install-root',
        root,
        '--node',
        'hub',
        '--k3s',
        'off',
        '--node-name-prefix',
        'inst',
      ],
      { input: script, env: cleanEnv(), timeoutMs: 60_000 },
    );
    assert.equal(inst.code, 0, inst.stderr);
    const wrapper = join(root, 'usr/local/bin/atoll-agent');
    assert.match(readFileSync(wrapper, 'utf8'), /upgrade-pending/, 'the wrapper carries the rollback check');
    if (spawnSync('sh', ['-c', 'command -v shellcheck']).status === 0) {
      const sc = spawnSync('shellcheck', ['-s', 'sh', wrapper], { encoding: 'utf8' });
      assert.equal(sc.status, 0, sc.stdout + sc.stderr);
    }
    supervisor = supervise(join(root, 'etc/systemd/system/atoll-agent.service'));
    plain = startAgentJoin(hub, tok.body.token, { k3s: 'off', args: ['--node-name', 'src-tree'] });
    const before = await waitFor(
      'both agents ready',
      async () => {
        const ns = await nodes();
        return ns.length === 2 && ns.every((n) => n.state === 'ready') ? ns : undefined;
      },
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${supervisor?.stderr()}`);
    });
    const installed = before.find((n) => n.name.startsWith('inst-'))!;
    assert.equal(installed.agentVersion, PKG_VERSION);

    const imp = await runCli(HUB_BIN, [
      'artifact',
      'import',
      'agent',
      '--version',
      NEXT,
      '--file',
      join(work, 'next/atoll-agent.mjs'),
      '--data-dir',
      hub.dataDir,
    ]);
    assert.equal(imp.code, 0, imp.stderr);
    // A bundle that is not the version it is imported as is refused.
    const wrong = await runCli(HUB_BIN, [
      'artifact',
      'import',
      'agent',
      '--version',
      '0.99.9',
      '--file',
      join(work, 'next/atoll-agent.mjs'),
      '--data-dir',
      hub.dataDir,
    ]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /--version says "0\.99\.1", not 0\.99\.9/);
    assert.deepEqual((await agentVersions()).available, [PKG_VERSION, NEXT]);

    const start = await runCli(HUB_BIN, [
      'agent-upgrade',
      'start',
      '--version',
      NEXT,
      '--now',
      '--confirm-timeout',
      '30s',
      '-o',
      'json',
      '--data-dir',
      hub.dataDir,
    ]);
    assert.equal(start.code, 0, start.stderr);
    const r = await waitRollout((JSON.parse(start.stdout) as RolloutView).id, 90_000);
    assert.equal(r.kind, 'agent');
    assert.equal(r.state, 'done', JSON.stringify(r));
    const byName = Object.fromEntries(r.nodes.map((n) => [n.name, n]));
    assert.equal(byName[installed.name].phase, 'done', JSON.stringify(byName[installed.name]));
    assert.equal(byName['src-tree'].phase, 'upgrade-blocked');
    assert.match(byName['src-tree'].message, /SELF_UPGRADE_UNSUPPORTED.*nothing was changed/);

    const after = await nodes();
    const up = after.find((n) => n.id === installed.id);
    assert.deepEqual(
      [up?.name, up?.agentVersion, up?.state],
      [installed.name, NEXT, 'ready'],
      'same node, new version',
    );
    const lib = join(root, 'usr/local/lib/atoll-agent');
    assert.equal(sha256(join(lib, 'atoll-agent.mjs')), sha256(join(work, 'next/atoll-agent.mjs')));
    assert.ok(existsSync(join(lib, 'atoll-agent.mjs.previous')), 'the old bundle is kept');
    assert.equal(existsSync(join(lib, 'upgrade-pending')), false, 'the new version confirmed itself');
    assert.equal(
      (JSON.parse(readFileSync(join(lib, 'upgrade-last.json'), 'utf8')) as { result: string }).result,
      'upgraded',
    );
    assert.ok(
      supervisor.exits.includes(10),
      `the agent exited with 10 to restart into the new bundle (exits ${supervisor.exits.join(',')})`,
    );
    const skew = await agentVersions();
    assert.deepEqual(skew.running, [
      { version: PKG_VERSION, nodes: 1 },
      { version: NEXT, nodes: 1 },
    ]);
    assert.equal(skew.skew, true);
    assert.equal(skew.behind, 1);
  },
);

test(
  'a broken agent bundle: the wrapper puts the old one back by itself, the rollout halts, the node stays',
  { timeout: 150_000 },
  async () => {
    const imp = await runCli(HUB_BIN, [
      'artifact',
      'import',
      'agent',
      '--version',
      BROKEN,
      '--file',
      join(work, 'broken.mjs'),
      '--data-dir',
      hub.dataDir,
    ]);
    assert.equal(imp.code, 0, imp.stderr);
    const installed = (await nodes()).find((n) => n.agentVersion === NEXT)!;
    const res = await hub.api<RolloutView>('POST', '/v1/agent-upgrades', {
      version: BROKEN,
      window: 'now',
      confirmTimeout: '10s',
      pools: ['default'],
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const r = await waitRollout(res.body.id, 120_000);
    assert.equal(r.state, 'halted', JSON.stringify(r));
    const n = r.nodes.find((x) => x.id === installed.id)!;
    assert.equal(n.phase, 'upgrade-failed');
    assert.match(n.message, new RegExp(`came back on ${NEXT.replace(/\./g, '\\.')} by itself`));
    const back = (await nodes()).find((x) => x.id === installed.id);
    assert.deepEqual([back?.agentVersion, back?.state], [NEXT, 'ready']);
    const lib = join(root, 'usr/local/lib/atoll-agent');
    assert.equal(
      sha256(join(lib, 'atoll-agent.mjs')),
      sha256(join(work, 'next/atoll-agent.mjs')),
      'the working bundle is back',
    );
    const last = JSON.parse(readFileSync(join(lib, 'upgrade-last.json'), 'utf8')) as {
      result: string;
      to: string;
      from: string;
    };
    assert.deepEqual([last.result, last.from, last.to], ['rolled-back', NEXT, BROKEN]);
    assert.match(supervisor!.stderr(), /this bundle is broken on purpose/);
    assert.match(supervisor!.stderr(), /running the previous bundle/);
    const halted = (
      await hub.api<{ items: Array<{ data: { rolloutId?: string } }> }>(
        'GET',
        '/v1/events?type=upgrade.halted&limit=10',
      )
    ).body.items;
    assert.ok(halted.some((e) => e.data.rolloutId === r.id));
    // A downgrade is refused with nothing changed.
    const down = await hub.api<{ error: { message: string } }>('POST', '/v1/agent-upgrades', {
      version: PKG_VERSION,
      window: 'now',
    });
    assert.equal(down.status, 409);
    assert.match(down.body.error.message, /\[DOWNGRADE\]/);
  },
);
