// The installer's fast, clear failures against a real hub on loopback, each leaving nothing
// installed: no or a bad token, not root without sudo, an unsupported arch, no init system, an
// unreachable hub (named), a CA that does not match the pin (both hashes shown), an expired token,
// and a script cut short anywhere (it runs nothing at all).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caPin } from '../../certs/pin.js';
import { startHub, removeDir, type HubHandle, removeTree } from '../helpers/processes.js';
import { freePort } from '../helpers/ports.js';
import { run, cleanEnv, curlPipeInstall, fetchInstallScript, shimPath, commandExists } from '../helpers/installer.js';

interface TokenView {
  id: string;
  uses: number;
}
interface EventView {
  type: string;
  actor: string;
}

let hub: HubHandle;
let work: string;
let script: string;
let n = 0;
const cleanups: Array<() => void> = [];

before(async () => {
  hub = await startHub();
  work = mkdtempSync(join(tmpdir(), 'atoll-installer-fail-'));
  script = await fetchInstallScript(hub.gatewayUrl);
});

after(async () => {
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
  for (const c of cleanups) c();
  if (work) removeTree(work);
});

async function token(ttl = '10m'): Promise<{ token: string; id: string }> {
  const r = await hub.api<{ token: string; id: string }>('POST', '/v1/tokens', { pool: 'default', ttl });
  assert.equal(r.status, 201);
  return r.body;
}

/** A fresh install root that does not exist yet: after a failure it must still not exist. */
function newRoot(): string {
  return join(work, `root-${++n}`);
}

async function runScript(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  input = script,
): Promise<{ code: number | null; stderr: string }> {
  const r = await run(['sh', '-s', '-', ...args], { input, env: cleanEnv(env), timeoutMs: 30_000 });
  return { code: r.code, stderr: r.stderr + r.stdout };
}

const FAKE = `AT1${'a'.repeat(64)}::abcd1234.${'b'.repeat(32)}`;

test('no token, or a malformed one: a clear message, exit 1, nothing installed', async () => {
  const root = newRoot();
  const none = await runScript(['--no-service', '--install-root', root]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no join token: pass --token TOKEN or --token-file FILE, or set ATOLL_TOKEN/);
  const short = await runScript(['--token', 'AT1abc::abcd1234.x', '--no-service', '--install-root', root]);
  assert.equal(short.code, 1);
  assert.match(short.stderr, /invalid CA hash length \(3, want 64/);
  const k3s = await runScript(['--token', 'K10abc::server:secret', '--no-service', '--install-root', root]);
  assert.match(k3s.stderr, /not an atoll token/);
  const env = await runScript(['--no-service', '--install-root', root], {
    ATOLL_TOKEN: `AT1${'a'.repeat(64)}::ABC.def`,
  });
  assert.match(env.stderr, /the join token is malformed/);
  const usage = await runScript(['--token', FAKE, '--frobnicate']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /unknown option: --frobnicate/);
  assert.equal(existsSync(root), false);
});

test(
  'not root and no sudo: it says so before doing anything',
  { skip: process.getuid?.() === 0 && commandExists('setpriv') ? false : 'needs root and setpriv' },
  async () => {
    const root = newRoot();
    const shim = shimPath(['sudo']);
    cleanups.push(shim.cleanup);
    const r = await run(
      [
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'sh',
        '-s',
        '-',
        '--token',
        FAKE,
        '--no-service',
        '--install-root',
        root,
      ],
      { input: script, env: cleanEnv({ PATH: shim.path, HOME: '/' }), timeoutMs: 20_000 },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /needs root: run it as root, or install sudo/);
    assert.equal(existsSync(root), false);
  },
);

test(
  'not root, and sudo wants a password: one clear line, at once, nothing installed',
  { skip: process.getuid?.() === 0 && commandExists('setpriv') ? false : 'needs root and setpriv' },
  async () => {
    const root = newRoot();
    // A sudo that behaves like the real one without a password or a terminal.
    const shim = shimPath(['sudo'], { sudo: '#!/bin/sh\necho "sudo: a password is required" >&2\nexit 1\n' });
    cleanups.push(shim.cleanup);
    const started = Date.now();
    const r = await run(
      [
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'sh',
        '-s',
        '-',
        '--token',
        FAKE,
        '--no-service',
        '--install-root',
        root,
      ],
      { input: script, env: cleanEnv({ PATH: shim.path, HOME: '/' }), timeoutMs: 20_000 },
    );
    assert.equal(r.code, 1, `exits 1 (stderr: ${r.stderr.slice(0, 500)})`);
    assert.ok(Date.now() - started < 10_000, 'at once');
    assert.deepEqual(r.stderr.trim().split('\n'), [
      '[atoll] error: this installer needs root, and sudo wants a password it cannot ask for here: run it as root (curl ... | sudo sh -s - --token ...)',
    ]);
    assert.equal(existsSync(root), false);
  },
);

test('an unsupported architecture is refused by name', async () => {
  const root = newRoot();
  const shim = shimPath(['uname'], {
    uname: '#!/bin/sh\nif [ "${1:-}" = -m ]; then echo s390x; else /bin/uname "$@"; fi\n',
  });
  cleanups.push(shim.cleanup);
  const r = await runScript(['--token', FAKE, '--no-service', '--install-root', root], { PATH: shim.path });
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /unsupported architecture 's390x': atoll agents run on amd64 \(x86_64\) and arm64 \(aarch64\)/,
  );
  assert.equal(existsSync(root), false);
});

test(
  'no init system and no --no-service: it says what to do',
  {
    skip: existsSync('/run/systemd/system') || commandExists('openrc-run') ? 'this machine has an init system' : false,
  },
  async () => {
    const root = newRoot();
    const r = await runScript(['--token', FAKE, '--install-root', root]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /no init system found .* pass --service supervised .*, or --no-service and start '.*atoll-agent run' yourself/,
    );
    assert.equal(existsSync(root), false);
  },
);

test('an unreachable hub is named in the message', async () => {
  const root = newRoot();
  const port = await freePort();
  const r = await runScript([
    '--token',
    FAKE,
    '--hub',
    `https://127.0.0.1:${port}`,
    '--no-service',
    '--install-root',
    root,
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`cannot reach the hub at https://127\\.0\\.0\\.1:${port}/cacerts`));
  assert.equal(existsSync(root), false);
});

test('a CA that does not match the pin: refused with both hashes (curl and wget), token never used, nothing installed', async () => {
  const real = await token();
  const actual = caPin(hub.caPem());
  const wrongPin = actual.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  const forged = real.token.replace(actual, wrongPin);
  const noCurl = shimPath(['curl']);
  cleanups.push(noCurl.cleanup);
  for (const env of commandExists('wget') ? [{}, { PATH: noCurl.path }] : [{}]) {
    const root = newRoot();
    const r = env.PATH
      ? await runScript(['--token', forged, '--no-service', '--install-root', root], env)
      : await curlPipeInstall(hub.gatewayUrl, ['--token', forged, '--no-service', '--install-root', root]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the hub CA does not match the pin in the join token; refusing to go on/);
    assert.match(r.stderr, new RegExp(`sha256 of ${hub.gatewayUrl.replace(/\./g, '\\.')}/cacerts: ${actual}`));
    assert.match(r.stderr, new RegExp(`pin in the token: +${wrongPin}`));
    assert.equal(existsSync(root), false);
  }
  const tokens = (await hub.api<{ items: TokenView[] }>('GET', '/v1/tokens')).body.items;
  assert.equal(tokens.find((t) => t.id === real.id)?.uses, 0);
  const evs = (await hub.api<{ items: EventView[] }>('GET', '/v1/events?limit=1000')).body.items;
  assert.ok(!evs.some((e) => e.type === 'artifact.downloaded'), 'nothing was downloaded after the pin check failed');
});

test("an expired token: the hub's own message, and nothing installed (not even the data dir)", async () => {
  const t = await token('1s');
  await new Promise((r) => setTimeout(r, 1500));
  const root = newRoot();
  const r = await curlPipeInstall(hub.gatewayUrl, [
    '--token',
    t.token,
    '--no-service',
    '--install-root',
    root,
    '--k3s',
    'off',
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /TOKEN_EXPIRED.*token [a-z0-9]{8} expired at/);
  assert.match(r.stderr, /the join failed .* nothing was installed/);
  assert.equal(existsSync(root), false, 'the install root was never made');
});

test('a script cut short anywhere runs nothing: not a download, not a file', async () => {
  const t = await token();
  const cuts = new Set<number>();
  for (let i = 1; i < 16; i++) cuts.add(Math.floor((script.length * i) / 16));
  const end = script.lastIndexOf('main "$@"');
  for (const c of [end, end + 4, script.length - 2]) cuts.add(c);
  const root = newRoot();
  const results = await Promise.all(
    [...cuts].map((c) =>
      runScript(
        ['--token', t.token, '--no-service', '--install-root', root, '--k3s', 'off'],
        {},
        script.slice(0, c),
      ).then((r) => ({ c, ...r })),
    ),
  );
  for (const r of results) {
    assert.notEqual(r.code, 0, `cut at ${r.c}/${script.length} must fail`);
    assert.match(r.stderr, /Syntax error|unexpected|end of file/i, `cut at ${r.c}: sh reports the cut`);
    assert.doesNotMatch(r.stderr, /\[atoll\]/, `cut at ${r.c}: no step ran`);
  }
  assert.equal(existsSync(root), false);
  const tokens = (await hub.api<{ items: TokenView[] }>('GET', '/v1/tokens')).body.items;
  assert.equal(tokens.find((x) => x.id === t.id)?.uses, 0, 'the token was not used');
});
