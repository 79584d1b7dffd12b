// End to end with k3s (the stand-in): a foreign server installed by install.sh (k3s auto) gets its
// k3s agent from the hub and becomes a Ready Kubernetes node; the uninstall script stops the agent
// and the k3s agent it runs, removes their files, and the hub removes the node from the cluster.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, netnsAvailable, type Lab } from '../helpers/netns.js';
import { HUB_BIN, ROOT, apiCall, waitFor, removeTree } from '../helpers/processes.js';
import { run, cleanEnv, curlPipeInstall, filesUnder, startAsUnit, type UnitProc } from '../helpers/installer.js';

interface NodeView {
  id: string;
  name: string;
  state: string;
  k3s: { state: string; version: string; ready: boolean | null };
}

const avail = netnsAvailable();
let lab: Lab;
let work: string;
const procs: UnitProc[] = [];

before(() => {
  if (!avail.ok) return;
  work = mkdtempSync(join(tmpdir(), 'atoll-e2e-installer-k3s-'));
  lab = createLab();
});

/** Stops a process: SIGTERM, then SIGKILL after timeoutMs. */
async function stop(p: UnitProc, timeoutMs = 15_000): Promise<void> {
  const t = setTimeout(() => void p.kill('SIGKILL'), timeoutMs);
  await p.kill('SIGTERM');
  clearTimeout(t);
}

after(async () => {
  // The hub stops its k3s server on SIGTERM; a SIGKILL would leave that child behind.
  for (const p of procs.reverse()) await stop(p);
  // Safety net: anything still running from this test's own work dir (the k3s stand-in) by pid.
  if (work) {
    for (const pid of pidsMentioning(work)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  lab?.cleanup();
  if (work) removeTree(work);
});

/** Pids whose command line names a path under dir. */
function pidsMentioning(dir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(`${dir}/`)) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

/** Pids whose executable (or, for a script like the stand-in, whose program file) lives under dir. */
function pidsRunningFrom(dir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').slice(0, 2);
      if ([readlinkSync(`/proc/${name}/exe`), ...argv].some((p) => p.startsWith(`${dir}/`))) out.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

test(
  "install.sh with k3s: the node runs the hub's k3s and is Ready; uninstall stops and removes both",
  { skip: avail.ok ? false : avail.why, timeout: 90_000 },
  async () => {
    const standin = join(work, 'k3s');
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts/build-standin.mjs'), '--out', standin], {
      encoding: 'utf8',
    });
    assert.equal(b.status, 0, b.stderr);
    const hubHost = lab.addHost('hub');
    const srv = lab.addHost('srv');
    const dataDir = join(work, 'hub');
    const hubUrl = `https://${hubHost.ip}:9444`;
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
        standin,
        '--k3s-arg=--disable-agent',
        '--heartbeat-interval',
        '1s',
        '--unreachable-after',
        '5s',
      ],
      { env: { ...process.env, ATOLL_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let hubErr = '';
    child.stderr.on('data', (d: Buffer) => {
      hubErr = (hubErr + d.toString()).slice(-5000);
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    procs.push({
      pid: child.pid ?? -1,
      stderr: () => hubErr,
      exited,
      async kill(sig: NodeJS.Signals = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(sig);
        return exited;
      },
    });
    const api = <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> =>
      apiCall<T>(
        `https://${hubHost.ip}:9443`,
        readFileSync(join(dataDir, 'ca.crt'), 'utf8'),
        readFileSync(join(dataDir, 'admin-token'), 'utf8').trim(),
        method,
        path,
        body,
      );
    await waitFor(
      'the control plane to run',
      async () =>
        existsSync(join(dataDir, 'admin-token')) &&
        (await api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running',
      45_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${hubErr}`);
    });

    const root = join(work, 'root');
    const t = await api<{ token: string }>('POST', '/v1/join-command', { pool: 'default', ttl: '10m' });
    const inst = await curlPipeInstall(
      hubUrl,
      ['--token', t.body.token, '--no-service', '--install-root', root, '--node-name', 'kube-1'],
      { ns: srv.ns },
    );
    assert.equal(inst.code, 0, inst.stderr);
    const agentData = join(root, 'var/lib/atoll-agent');
    const agent = startAsUnit(
      {
        envFile: join(root, 'etc/atoll-agent/atoll-agent.env'),
        execStart: [join(root, 'usr/local/bin/atoll-agent'), 'run'],
      },
      { ns: srv.ns },
    );
    procs.push(agent);
    const node = await waitFor(
      'kube-1 Ready with k3s running',
      async () => {
        const n = (await api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items.find((x) => x.name === 'kube-1');
        return n && n.state === 'ready' && n.k3s.state === 'running' && n.k3s.ready === true ? n : undefined;
      },
      45_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nagent: ${agent.stderr().slice(-2000)}`);
    });
    assert.ok(pidsRunningFrom(agentData).length > 0, "the k3s agent runs from the agent's data dir");

    const un = await run(['ip', 'netns', 'exec', srv.ns, 'sh', join(root, 'usr/local/bin/atoll-agent-uninstall.sh')], {
      env: cleanEnv(),
      timeoutMs: 60_000,
    });
    assert.equal(un.code, 0, un.stderr);
    await agent.exited;
    assert.deepEqual(pidsRunningFrom(agentData), [], 'no k3s process is left');
    assert.deepEqual(filesUnder(root), [], 'no file is left');
    await waitFor(
      'the hub to remove kube-1',
      async () => !(await api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items.some((x) => x.id === node.id),
      20_000,
    );
    await stop(procs[0]);
    assert.deepEqual(pidsMentioning(work), [], 'the hub stopped its k3s server');
  },
);
