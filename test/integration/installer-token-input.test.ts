// The join token off the command line: `atoll-agent join` and install.sh take it from a file
// (--token-file, e.g. 0600) or the environment (ATOLL_TOKEN), and then no process on the server
// shows it in its command line (ps, /proc/PID/cmdline, sudo's log). Against a real hub on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, runCli, removeDir, removeTree, AGENT_BIN, type HubHandle } from '../helpers/processes.js';
import { run, cleanEnv, fetchInstallScript, watchCommandLines } from '../helpers/installer.js';

let hub: HubHandle;
let work: string;
let script: string;
let n = 0;

before(async () => {
  hub = await startHub();
  work = mkdtempSync(join(tmpdir(), 'atoll-token-input-'));
  script = await fetchInstallScript(hub.gatewayUrl);
});

after(async () => {
  await hub?.stop('SIGKILL');
  if (hub) removeDir(hub.dataDir);
  if (work) removeTree(work);
});

async function token(): Promise<string> {
  const r = await hub.api<{ token: string }>('POST', '/v1/tokens', { pool: 'default', ttl: '10m' });
  assert.equal(r.status, 201);
  return r.body.token;
}

function tokenFile(t: string): string {
  const f = join(work, `token-${++n}`);
  writeFileSync(f, `${t}\n`, { mode: 0o600 });
  return f;
}

const secretOf = (t: string): string => t.split('.')[1];
const NO_ENV = {
  ATOLL_TOKEN: '',
  ATOLL_TOKEN_FILE: '',
  ATOLL_HUB_URL: '',
  ATOLL_AGENT_DATA_DIR: '',
  ATOLL_LOG_LEVEL: 'warn',
};

test(
  'atoll-agent join takes the token from --token-file or ATOLL_TOKEN, never needing it in argv',
  { timeout: 60_000 },
  async () => {
    const byFile = await token();
    const dirFile = join(work, `agent-${++n}`);
    const watch = watchCommandLines(secretOf(byFile));
    const f = await runCli(
      AGENT_BIN,
      [
        'join',
        '--no-run',
        '--hub',
        hub.gatewayUrl,
        '--token-file',
        tokenFile(byFile),
        '--data-dir',
        dirFile,
        '--k3s',
        'off',
      ],
      NO_ENV,
    );
    assert.deepEqual(watch.stop(), []);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stderr, /joined as .* in pool default/);

    const byEnv = await token();
    const dirEnv = join(work, `agent-${++n}`);
    const e = await runCli(
      AGENT_BIN,
      ['join', '--no-run', '--hub', hub.gatewayUrl, '--data-dir', dirEnv, '--k3s', 'off'],
      { ...NO_ENV, ATOLL_TOKEN: byEnv },
    );
    assert.equal(e.code, 0, e.stderr);

    const byEnvFile = await token();
    const dirEnvFile = join(work, `agent-${++n}`);
    const ef = await runCli(
      AGENT_BIN,
      ['join', '--no-run', '--hub', hub.gatewayUrl, '--data-dir', dirEnvFile, '--k3s', 'off'],
      { ...NO_ENV, ATOLL_TOKEN_FILE: tokenFile(byEnvFile) },
    );
    assert.equal(ef.code, 0, ef.stderr);
    const nodes = (await hub.api<{ items: unknown[] }>('GET', '/v1/nodes')).body.items;
    assert.equal(nodes.length, 3);
  },
);

test('atoll-agent join: a missing, empty or huge token file, or --token with --token-file, is a usage error', async () => {
  const dir = join(work, `agent-${++n}`);
  const base = ['join', '--no-run', '--hub', hub.gatewayUrl, '--data-dir', dir, '--k3s', 'off'];
  const missing = await runCli(AGENT_BIN, [...base, '--token-file', join(work, 'nope')], NO_ENV);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read the token file .*nope: ENOENT/);
  const emptyFile = join(work, 'empty');
  writeFileSync(emptyFile, '\n\n', { mode: 0o600 });
  const empty = await runCli(AGENT_BIN, [...base, '--token-file', emptyFile], NO_ENV);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /the token file .*empty is empty/);
  const hugeFile = join(work, 'huge');
  writeFileSync(hugeFile, 'x'.repeat(10_000), { mode: 0o600 });
  const huge = await runCli(AGENT_BIN, [...base, '--token-file', hugeFile], NO_ENV);
  assert.equal(huge.code, 2);
  assert.match(huge.stderr, /too large for a join token file/);
  const both = await runCli(AGENT_BIN, [...base, '--token', 'AT1x', '--token-file', emptyFile], NO_ENV);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give --token or --token-file, not both/);
  assert.equal(existsSync(join(dir, 'identity.json')), false);
});

async function install(
  args: string[],
  env: NodeJS.ProcessEnv,
  secret: string,
): Promise<{ code: number | null; stderr: string; leaked: string[] }> {
  const watch = watchCommandLines(secret);
  const r = await run(['sh', '-s', '-', ...args], { input: script, env: cleanEnv(env), timeoutMs: 45_000 });
  return { code: r.code, stderr: r.stderr, leaked: watch.stop() };
}

test(
  'install.sh takes the token from --token-file or ATOLL_TOKEN, and no process shows it',
  { timeout: 90_000 },
  async () => {
    const t1 = await token();
    const root1 = join(work, `root-${++n}`);
    const a = await install(
      [
        '--token-file',
        tokenFile(t1),
        '--no-service',
        '--install-root',
        root1,
        '--k3s',
        'off',
        '--node-name',
        'by-file',
      ],
      {},
      secretOf(t1),
    );
    assert.equal(a.code, 0, a.stderr);
    assert.deepEqual(a.leaked, [], 'the token was on no command line');
    assert.ok(existsSync(join(root1, 'var/lib/atoll-agent/identity.json')));

    const t2 = await token();
    const root2 = join(work, `root-${++n}`);
    const b = await install(
      ['--no-service', '--install-root', root2, '--k3s', 'off', '--node-name', 'by-env'],
      { ATOLL_TOKEN: t2 },
      secretOf(t2),
    );
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(b.leaked, []);
    const names = (await hub.api<{ items: Array<{ name: string }> }>('GET', '/v1/nodes')).body.items.map((x) => x.name);
    assert.ok(names.includes('by-file') && names.includes('by-env'), names.join(','));
  },
);

test('install.sh: an unreadable or empty token file, or --token with --token-file, stops with a clear message', async () => {
  const root = join(work, `root-${++n}`);
  const missing = await install(['--token-file', join(work, 'nope'), '--no-service', '--install-root', root], {}, 'x');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read the token file '.*nope': it must be a file this user can read/);
  const emptyFile = join(work, 'empty-2');
  writeFileSync(emptyFile, ' \n', { mode: 0o600 });
  const empty = await install(['--token-file', emptyFile, '--no-service', '--install-root', root], {}, 'x');
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /the token file '.*empty-2' is empty/);
  const both = await install(
    ['--token', 'AT1x', '--token-file', emptyFile, '--no-service', '--install-root', root],
    {},
    'x',
  );
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give --token or --token-file, not both/);
  assert.equal(existsSync(root), false);
});
