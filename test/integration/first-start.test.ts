// The first screen of `atoll-hub run`: a port in use names the flag that changes it and leaves
// nothing behind (the next start works); a user who cannot write the data dir is told what to do;
// the banner says where the dashboard is and how to log in; logs are readable lines on a terminal.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_BIN, removeTree, runCli, startHub, waitFor, type HubHandle } from '../helpers/processes.js';
import { freePort } from '../helpers/ports.js';
import { stopProc } from '../helpers/bad-input.js';
import { prettyLine } from '../../certs/log-format.js';

const work = mkdtempSync(join(tmpdir(), 'atoll-first-start-'));
chmodSync(work, 0o755);
const hubs: HubHandle[] = [];
const servers: Server[] = [];
after(async () => {
  for (const h of hubs) await stopProc(h.proc);
  for (const s of servers) s.close();
  removeTree(work);
});

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port }, () => resolve(s));
    servers.push(s);
  });
}

function hubRun(
  dataDir: string,
  api: string,
  gateway: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(
    HUB_BIN,
    [
      'run',
      '--data-dir',
      dataDir,
      '--api-listen',
      api,
      '--gateway-listen',
      gateway,
      '--public-url',
      'https://127.0.0.1:9444',
      '--k3s',
      'off',
    ],
    { ATOLL_DATA_DIR: undefined },
    20_000,
  );
}

function listing(dir: string): string[] {
  return readdirSync(dir)
    .map((f) => `${f}:${statSync(join(dir, f)).mtimeMs}`)
    .sort();
}

test('a port in use: exit 1 naming the address and the flag to change; a new data dir is not even created', async () => {
  const busy = await freePort();
  const free = await freePort();
  const s = await occupy(busy);
  const dataDir = join(work, 'never-made');
  const api = await hubRun(dataDir, `127.0.0.1:${busy}`, `127.0.0.1:${free}`);
  assert.equal(api.code, 1, `exit code (stderr: ${api.stderr})`);
  assert.match(
    api.stderr,
    new RegExp(
      `cannot listen on 127\\.0\\.0\\.1:${busy} for the dashboard API: the port is in use by another process; pick another with --api-listen HOST:PORT`,
    ),
  );
  const gw = await hubRun(dataDir, `127.0.0.1:${free}`, `127.0.0.1:${busy}`);
  assert.equal(gw.code, 1, `exit code (stderr: ${gw.stderr})`);
  assert.match(
    gw.stderr,
    new RegExp(`cannot listen on 127\\.0\\.0\\.1:${busy} for the agent gateway: .*--gateway-listen HOST:PORT`),
  );
  assert.equal(existsSync(dataDir), false, 'no data dir was made');
  const same = await hubRun(dataDir, `127.0.0.1:${free}`, `0.0.0.0:${free}`);
  assert.equal(same.code, 1);
  assert.match(same.stderr, /--api-listen 127\.0\.0\.1:\d+ and --gateway-listen 0\.0\.0\.0:\d+ would share a port/);
  s.close();
});

test('a port in use on a hub that ran before: nothing in its data dir changes, and the next start works', async () => {
  const hub = await startHub({ dataDir: join(work, 'ran-before') });
  hubs.push(hub);
  // The same hub started again on its own ports: its lock speaks, not the port.
  const twice = await hubRun(hub.dataDir, `127.0.0.1:${hub.apiPort}`, `127.0.0.1:${hub.gatewayPort}`);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, new RegExp(`in use by another process \\(pid ${hub.proc.child.pid}`));
  await stopProc(hub.proc);
  const before = listing(hub.dataDir);
  await occupy(hub.apiPort);
  const r = await hubRun(hub.dataDir, `127.0.0.1:${hub.apiPort}`, `127.0.0.1:${hub.gatewayPort}`);
  assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
  assert.match(r.stderr, /--api-listen/);
  assert.deepEqual(listing(hub.dataDir), before, 'the data dir is untouched');
  servers.pop()!.close();
  await hub.restart();
  assert.equal((await hub.api('GET', '/healthz')).status, 200);
  assert.match(
    hub.proc.stdout(),
    new RegExp(
      `dashboard: +${hub.apiUrl.replace(/[.]/g, '\\.')}/\\n +log in with: +the admin token \\(sudo cat ${hub.dataDir}/admin-token\\)`,
    ),
  );
  assert.match(hub.proc.stdout(), /from another machine: ssh -L \d+:127\.0\.0\.1:\d+ /);
});

/** `atoll-hub run` as the unprivileged user nobody, in `cwd`. */
function runAsNobody(cwd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    [HUB_BIN, 'run', '--api-listen', '127.0.0.1:0', '--gateway-listen', '127.0.0.1:0', '--k3s', 'off', ...args],
    {
      cwd,
      uid: 65534,
      gid: 65534,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    }),
  );
}

test(
  'a user who cannot write the data dir is told to use --data-dir or run as root',
  { skip: process.getuid?.() !== 0 && 'needs root to run as another user' },
  async () => {
    const cwd = join(work, 'root-owned');
    mkdirSync(cwd, { mode: 0o755 });
    const dflt = await runAsNobody(cwd, []);
    assert.equal(dflt.code, 1, `exit code (stderr: ${dflt.stderr})`);
    assert.match(
      dflt.stderr,
      new RegExp(
        `cannot create the data dir ${cwd}/\\.atoll: permission denied \\(uid 65534\\); pick a directory you can write with --data-dir DIR \\(env ATOLL_DATA_DIR\\), or run as root \\(state then goes to /var/lib/atoll\\)`,
      ),
    );
    const owned = join(work, 'root-data');
    mkdirSync(owned, { mode: 0o700 });
    const existing = await runAsNobody(cwd, ['--data-dir', owned]);
    assert.equal(existing.code, 1, `exit code (stderr: ${existing.stderr})`);
    assert.match(
      existing.stderr,
      new RegExp(
        `data dir ${owned} is not writable by this user \\(uid 65534\\); pick a directory you can write with --data-dir DIR .*or run as root`,
      ),
    );
    assert.deepEqual(readdirSync(owned), []);
  },
);

test('logs: JSON lines when stderr is not a terminal, readable lines on a terminal', async () => {
  assert.equal(
    prettyLine(
      '{"level":50,"time":0,"svc":"atoll-hub","component":"gateway","msg":"agent connection refused","code":"INTERNAL","err":{"type":"Error","message":"boom","stack":"Error: boom\\n    at x (y.js:1:1)"}}',
      false,
    ).replace(/^\S+/, 'T'),
    'T ERROR gateway: agent connection refused err=boom code=INTERNAL\n    at x (y.js:1:1)\n',
  );
  const script = spawnSync('which', ['script'], { encoding: 'utf8' }).stdout.trim();
  if (!script) return;
  const dataDir = join(work, 'tty');
  // `script` gives the hub a terminal; stopped once its first lines are out.
  const child = spawn(
    script,
    [
      '-qfec',
      `${process.execPath} ${HUB_BIN} run --data-dir ${dataDir} --api-listen 127.0.0.1:0 --gateway-listen 127.0.0.1:0 --public-url https://127.0.0.1:9444 --k3s off`,
      '/dev/null',
    ],
    {
      env: { ...process.env, ATOLL_LOG_FORMAT: '', ATOLL_LOG_LEVEL: 'info', NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'ignore'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  try {
    await waitFor('the hub banner on the terminal', () => /is running/.test(out), 30_000);
  } finally {
    child.kill('SIGTERM');
  }
  assert.match(out, /^\d\d:\d\d:\d\d\.\d{3} INFO  pki: created the hub CA caPin=[0-9a-f]{64}\r?$/m, out.slice(0, 2000));
  assert.doesNotMatch(out, /^\{"level"/m);
});
