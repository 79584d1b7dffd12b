// Hosts without systemd or OpenRC: `install.sh --service supervised` (what cloud-init documents pick
// there) installs `atoll-agent supervise`, a small sh loop that restarts the agent after a crash,
// at once after exit 10 (self-upgrade), never after exit 3 (removed), and stops it on TERM. The loop
// is run here as installed, first around a stand-in agent with scripted exits, then around the real
// agent against a real hub on loopback; the uninstaller stops it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, waitFor, removeDir, removeTree, type HubHandle } from '../helpers/processes.js';
import {
  run,
  cleanEnv,
  fetchInstallScript,
  filesUnder,
  runcmdOf,
  cloudInitRuncmdScript,
  commandExists,
  type UnitProc,
} from '../helpers/installer.js';

interface NodeView {
  id: string;
  name: string;
  state: string;
}

let hub: HubHandle;
let work: string;
let script: string;
const procs: UnitProc[] = [];
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

before(async () => {
  hub = await startHub();
  work = mkdtempSync(join(tmpdir(), 'atoll-supervised-'));
  script = await fetchInstallScript(hub.gatewayUrl);
});

after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  await hub?.stop('SIGKILL');
  if (hub) removeDir(hub.dataDir);
  if (work) removeTree(work);
});

/** Starts argv as the installer starts the supervisor: a clean environment, its own session. */
function start(argv: string[], env: NodeJS.ProcessEnv = {}): UnitProc & { log(): string } {
  const child = spawn(argv[0], argv.slice(1), {
    env: { PATH, HOME: '/', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: '/',
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
  });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const p = {
    pid: child.pid ?? -1,
    stderr: () => err,
    log: () => err,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  procs.push(p);
  return p;
}

async function install(root: string, extra: string[] = []): Promise<{ code: number | null; stderr: string }> {
  const t = await hub.api<{ token: string }>('POST', '/v1/tokens', { pool: 'default', ttl: '10m' });
  const r = await run(
    [
      'sh',
      '-s',
      '-',
      '--token',
      t.body.token,
      '--service',
      'supervised',
      '--install-root',
      root,
      '--k3s',
      'off',
      ...extra,
    ],
    { input: script, env: cleanEnv(), timeoutMs: 45_000 },
  );
  return { code: r.code, stderr: r.stderr };
}

/** Pids of processes that have `arg` as one of their arguments. */
function pidsWithArg(arg: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(arg)) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

test(
  'the supervisor restarts after a crash (after the delay) and after exit 10 (at once), stops on exit 3, and stops its agent on TERM',
  { timeout: 60_000 },
  async () => {
    const root = join(work, 'root-loop');
    const r = await install(root, ['--node-name', 'loop']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /wrote the supervised service files; not enabling or starting them/);
    const supervise = join(root, 'usr/local/lib/atoll-agent/supervise.sh');
    // The installed loop around a stand-in agent: exits 1, then 10, then 3; a fourth run would be a bug.
    const runs = join(work, 'runs');
    const fake = join(work, 'fake-agent');
    writeFileSync(
      fake,
      `#!/bin/sh\necho "$1 $(date +%s%N)" >>'${runs}'\nn=$(wc -l <'${runs}')\ncase $n in 1) exit 1 ;; 2) exit 10 ;; 3) exit 3 ;; *) trap 'echo term >>'"'${runs}'"'; exit 0' TERM; while :; do sleep 0.1; done ;; esac\n`,
    );
    chmodSync(fake, 0o755);
    const loop = join(work, 'supervise-fake.sh');
    writeFileSync(loop, readFileSync(supervise, 'utf8').replace(/^ATOLL_BIN=.*$/m, `ATOLL_BIN='${fake}'`));
    const pidFile = join(root, 'run/atoll-agent-supervise.pid');

    const sup = start(['/bin/sh', loop], { ATOLL_SUPERVISE_RESTART_SEC: '2' });
    assert.equal(await sup.exited, 3, sup.log());
    const lines = readFileSync(runs, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    assert.deepEqual(
      lines.map((l) => l[0]),
      ['run', 'run', 'run'],
      'three runs of `atoll-agent run`, then no more',
    );
    const t = lines.map((l) => Number(l[1]) / 1e6);
    assert.ok(t[1] - t[0] >= 1900, `restarted ${t[1] - t[0]} ms after the crash (2 s asked)`);
    assert.ok(t[2] - t[1] < 1900, `restarted ${t[2] - t[1]} ms after exit 10 (at once)`);
    assert.match(sup.log(), /the agent stopped \(exit 1\): restarting in 2s/);
    assert.match(sup.log(), /the agent swapped its bundle \(exit 10\): starting the new one/);
    assert.match(sup.log(), /the hub removed this node \(exit 3\): not restarting/);
    assert.equal(existsSync(pidFile), false, 'the pid file goes with the supervisor');

    // TERM: the agent is stopped first, then the loop ends without a restart.
    const sup2 = start(['/bin/sh', loop], { ATOLL_SUPERVISE_RESTART_SEC: '2' });
    await waitFor('the fourth run', () => readFileSync(runs, 'utf8').trim().split('\n').length === 4, 10_000);
    assert.equal(readFileSync(pidFile, 'utf8').trim(), String(sup2.pid));
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(await sup2.kill('SIGTERM'), 0);
    assert.deepEqual(
      readFileSync(runs, 'utf8').trim().split('\n').slice(4),
      ['term'],
      'the agent got TERM; nothing ran after',
    );
  },
);

test(
  'a real agent under `atoll-agent supervise`: back after a crash, ends on removal; the uninstaller stops the supervisor',
  { timeout: 90_000 },
  async () => {
    const root = join(work, 'root-real');
    const r = await install(root, ['--node-name', 'sup-real']);
    assert.equal(r.code, 0, r.stderr);
    const wrapper = join(root, 'usr/local/bin/atoll-agent');
    const bundle = join(root, 'usr/local/lib/atoll-agent/atoll-agent.mjs');
    const nodes = async (): Promise<NodeView[]> =>
      (await hub.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
    const ready = (): Promise<NodeView> =>
      waitFor(
        'sup-real ready',
        async () => (await nodes()).find((n) => n.name === 'sup-real' && n.state === 'ready'),
        20_000,
      );

    const sup = start([wrapper, 'supervise'], {
      ATOLL_SUPERVISE_RESTART_SEC: '1',
      ATOLL_AGENT_RECONNECT_MAX_MS: '2000',
    });
    const node = await ready().catch((e: Error) => {
      throw new Error(`${e.message}\n${sup.log()}`);
    });
    const [agentPid] = pidsWithArg(bundle);
    assert.ok(agentPid, 'the agent runs');
    process.kill(agentPid, 'SIGKILL');
    await waitFor('a new agent', () => pidsWithArg(bundle).some((p) => p !== agentPid), 15_000);
    assert.match(sup.log(), /the agent stopped \(exit 137\): restarting in 1s/);
    await waitFor(
      'connected again',
      async () => (await hub.api<{ connected: boolean }>('GET', `/v1/nodes/${node.id}`)).body.connected,
      20_000,
    );

    // Uninstall while it runs: the supervisor goes first (it would start the agent again), then all.
    const un = await run(['sh', join(root, 'usr/local/bin/atoll-agent-uninstall.sh')], {
      env: cleanEnv(),
      timeoutMs: 40_000,
    });
    assert.equal(un.code, 0, un.stderr);
    assert.match(un.stderr, /stopping the agent's supervisor/);
    assert.equal(await sup.exited, 0);
    assert.deepEqual(pidsWithArg(bundle), []);
    assert.deepEqual(filesUnder(root), []);
    assert.ok(!(await nodes()).some((n) => n.id === node.id));

    // Removal: exit 3 ends the supervisor too.
    const root2 = join(work, 'root-removed');
    assert.equal((await install(root2, ['--node-name', 'sup-gone'])).code, 0);
    const sup2 = start([join(root2, 'usr/local/bin/atoll-agent'), 'supervise'], {
      ATOLL_AGENT_RECONNECT_MAX_MS: '2000',
    });
    const gone = await waitFor(
      'sup-gone ready',
      async () => (await nodes()).find((n) => n.name === 'sup-gone' && n.state === 'ready'),
      20_000,
    );
    assert.equal((await hub.api('DELETE', `/v1/nodes/${gone.id}`)).status, 204);
    assert.equal(await sup2.exited, 3, sup2.log());
    assert.match(sup2.log(), /not restarting/);
  },
);

const hasInit = existsSync('/run/systemd/system') || existsSync('/sbin/openrc-run') || commandExists('openrc-run');

test(
  'a cloud-init document on a host without systemd or OpenRC installs the supervised agent',
  { skip: hasInit ? 'this host has an init system' : false, timeout: 60_000 },
  async () => {
    const doc = (await hub.api<string>('GET', '/v1/pools/default/cloud-init?k3s=off&namePrefix=ci')).body;
    const file = join(work, 'runcmd');
    writeFileSync(file, cloudInitRuncmdScript(runcmdOf(doc)));
    chmodSync(file, 0o700);
    const root = join(work, 'root-ci');
    const r = await run([file], { env: cleanEnv({ ATOLL_INSTALL_ROOT: root }), timeoutMs: 45_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /wrote the supervised service files/);
    assert.match(
      readFileSync(join(root, 'usr/local/bin/atoll-agent-uninstall.sh'), 'utf8'),
      /^ATOLL_SERVICE='supervised'$/m,
    );
    const un = await run(['sh', join(root, 'usr/local/bin/atoll-agent-uninstall.sh')], {
      env: cleanEnv(),
      timeoutMs: 40_000,
    });
    assert.equal(un.code, 0, un.stderr);
  },
);

const canNamespace =
  process.getuid?.() === 0 && commandExists('unshare') && commandExists('nsenter')
    ? false
    : 'needs root, unshare and nsenter';

/** Pids whose mount namespace is `ns` (readlink of /proc/PID/ns/mnt). */
function pidsInMountNs(ns: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/ns/mnt`) === ns) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

test(
  'on the real root (a private mount namespace over /etc, /usr/local, /var/lib, /var/log, /run): the installer starts the supervisor, a re-run leaves it, uninstall stops it',
  { skip: canNamespace, timeout: 120_000 },
  async () => {
    const t = await hub.api<{ token: string }>('POST', '/v1/tokens', { pool: 'default', ttl: '10m', uses: 2 });
    const layers = join(work, 'layers');
    const served = join(work, 'install.sh');
    writeFileSync(served, script);
    const inside = [
      'set -eu',
      'layers=$1; served=$2; token=$3',
      'for d in etc usr/local var/lib var/log; do',
      '  mkdir -p "$layers/$d/up" "$layers/$d/wk"',
      '  mount -t overlay ov -o "lowerdir=/$d,upperdir=$layers/$d/up,workdir=$layers/$d/wk" "/$d"',
      'done',
      'mount -t tmpfs run /run',
      'echo "ns=$(readlink /proc/self/ns/mnt)"',
      'sh "$served" --token "$token" --service supervised --k3s off --node-name ns-sup',
    ].join('\n');
    const first = await run(
      ['unshare', '-m', '--propagation', 'private', 'sh', '-c', inside, 'ns', layers, served, t.body.token],
      { env: cleanEnv({ PATH }), timeoutMs: 60_000 },
    );
    const ns = /ns=(\S+)/.exec(first.stdout)?.[1];
    assert.ok(ns, first.stdout + first.stderr);
    try {
      assert.equal(first.code, 0, first.stderr);
      assert.match(
        first.stderr,
        /the agent runs under 'atoll-agent supervise' \(log: \/var\/log\/atoll-agent\.log\); .* does not start at boot/,
      );
      // The installer has exited; the supervisor it started lives on, in its own session.
      const supPid = await waitFor(
        'the supervisor',
        () =>
          pidsInMountNs(ns).find((p) =>
            readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes('/usr/local/lib/atoll-agent/supervise.sh'),
          ),
        10_000,
      );
      assert.equal(
        readFileSync(`/proc/${supPid}/stat`, 'utf8').split(') ')[1].split(' ')[3],
        String(supPid),
        'it leads a session of its own (setsid)',
      );
      await waitFor(
        'ns-sup ready',
        async () =>
          (await hub.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items.some(
            (n) => n.name === 'ns-sup' && n.state === 'ready',
          ),
        20_000,
      );

      const again = await run(
        [
          'nsenter',
          `--mount=/proc/${supPid}/ns/mnt`,
          'sh',
          served,
          '--token',
          t.body.token,
          '--service',
          'supervised',
          '--k3s',
          'off',
          '--node-name',
          'ns-sup',
        ],
        { env: cleanEnv({ PATH }), timeoutMs: 60_000 },
      );
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /nothing changed/);
      assert.ok(pidsInMountNs(ns).includes(supPid), 'the same supervisor runs on');

      const un = await run(
        ['nsenter', `--mount=/proc/${supPid}/ns/mnt`, 'sh', '/usr/local/bin/atoll-agent-uninstall.sh'],
        { env: cleanEnv({ PATH }), timeoutMs: 60_000 },
      );
      assert.equal(un.code, 0, un.stderr);
      assert.match(un.stderr, /stopping the agent's supervisor/);
      await waitFor('nothing left in the namespace', () => pidsInMountNs(ns).length === 0, 15_000);
      assert.ok(
        !(await hub.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items.some((n) => n.name === 'ns-sup'),
      );
      // In an upper layer a removed path is absent or a whiteout (a character device).
      for (const [layer, rel] of [
        ['etc', 'atoll-agent'],
        ['usr/local', 'bin/atoll-agent'],
        ['usr/local', 'lib/atoll-agent'],
        ['var/lib', 'atoll-agent'],
      ]) {
        const p = join(layers, layer, 'up', rel);
        assert.ok(!existsSync(p) || statSync(p).isCharacterDevice(), `/${layer}/${rel} is gone`);
      }
    } finally {
      for (const pid of pidsInMountNs(ns)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  },
);
