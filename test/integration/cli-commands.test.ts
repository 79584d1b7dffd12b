// The admin CLI, built (dist/hub/main.js), against a real hub: unknown commands, nodes by name,
// output formats, events (newest first, paging, --follow across a hub restart, bounded retries),
// upgrade status --watch on a terminal and into a pipe, a remote CLI with a CA and named contexts,
// and shell completion.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startHub,
  startProcess,
  runCli,
  waitFor,
  removeDir,
  removeTree,
  HUB_BIN,
  type HubHandle,
  type Proc,
} from '../helpers/processes.js';
import { Puppet } from '../helpers/puppet.js';
import { rawJoin } from '../helpers/bad-input.js';

type Run = { code: number | null; stdout: string; stderr: string };
interface Ev {
  id: number;
  type: string;
  pool: string | null;
  message: string;
}

let hub: HubHandle;
let home: string;
const procs: Proc[] = [];
const puppets: Puppet[] = [];
before(async () => {
  home = mkdtempSync(join(tmpdir(), 'atoll-cli-home-'));
  hub = await startHub();
});
after(async () => {
  for (const p of puppets) p.stop();
  for (const p of procs) await p.kill('SIGKILL');
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
  if (home) removeTree(home);
});

/** Any program to completion (killed after 60 s), with `cwd` and stdin. */
function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { cwd?: string; input?: string } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...env } });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input);
  });
}

/** The CLI as an operator on the hub machine runs it (its data dir), with its own config dir. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runCli(HUB_BIN, [...args, '--data-dir', hub.dataDir], { XDG_CONFIG_HOME: home, ...env });
}

async function ok(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await cli(args, env);
  assert.equal(r.code, 0, `atoll-hub ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('an unknown command says so, with exit 2 and the closest command', async () => {
  const r = await runCli(HUB_BIN, ['tokn'], { XDG_CONFIG_HOME: home });
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), 'error: unknown command "tokn" (did you mean token?); see atoll-hub --help');
  const far = await runCli(HUB_BIN, ['--data-dir', hub.dataDir, 'frobnicate']);
  assert.equal(far.code, 2);
  assert.equal(far.stderr.trim(), 'error: unknown command "frobnicate"; see atoll-hub --help');
  const sub = await cli(['pool', 'frob']);
  assert.notEqual(sub.code, 0);
  assert.match(sub.stderr, /unknown command 'frob'/);
  const help = await runCli(HUB_BIN, ['--help']);
  assert.equal(help.code, 0);
  for (const c of ['token', 'nodes', 'node', 'pool', 'autoheal', 'events', 'context', 'completion', 'upgrade'])
    assert.match(help.stdout, new RegExp(`^  ${c}\\b.* {2,}\\S`, 'm'), `${c} is listed with a description`);
  const poolHelp = await runCli(HUB_BIN, ['pool', 'update', '--help']);
  assert.match(poolHelp.stdout, /--hook <path>\s+provider hook/);
});

test('nodes are named by name or id; a missing pool is an error; -o yaml and -o wide work, others are refused', async () => {
  const tok = await hub.api<{ token: string }>('POST', '/v1/tokens', { uses: 2 });
  const web = await rawJoin(hub, tok.body.token, 'web-1');
  const shown = JSON.parse(await ok(['node', 'show', 'web-1'])) as { id: string; name: string };
  assert.deepEqual([shown.id, shown.name], [web.nodeId, 'web-1']);
  assert.equal((JSON.parse(await ok(['node', 'show', web.nodeId])) as { name: string }).name, 'web-1');
  assert.match(
    await ok(['node', 'autoheal', 'web-1', '--paused', 'true']),
    new RegExp(`^node web-1 \\(${web.nodeId}\\) autoheal: on, paused$`, 'm'),
  );
  const missing = await cli(['node', 'show', 'web-9']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim(), 'error: no node web-9 (neither an id nor a name; see atoll-hub nodes)');

  const nope = await cli(['nodes', '--pool', 'nope']);
  assert.equal(nope.code, 1);
  assert.equal(nope.stderr.trim(), 'error: no pool nope (see atoll-hub pool list)');
  assert.match(await ok(['nodes', '--pool', 'default']), /web-1/);

  const yaml = await ok(['nodes', '-o', 'yaml']);
  assert.match(yaml, new RegExp(`^items:\\n {2}- id: "?${web.nodeId}"?\\n {4}name: web-1\\n {4}pool: default\\n`));
  assert.match(await ok(['node', 'show', 'web-1', '-o', 'yaml']), /^id: .*\nname: web-1\n/);
  const wide = await ok(['nodes', '-o', 'wide']);
  assert.match(wide.split('\n')[0], /^ID\s+NAME\s+POOL\s+STATE.*ARCH\s+OS\s+REASONS\s+LABELS\s+ADDRESSES$/);
  assert.doesNotMatch((await ok(['nodes'])).split('\n')[0], /ARCH/);
  const bad = await cli(['nodes', '-o', 'xml']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim(), 'error: -o must be one of table, wide, json, yaml, not "xml"');
});

test('events: newest first, paged with --limit/--before, --since a cursor or a duration', async () => {
  for (const name of ['ev-a', 'ev-b', 'ev-c']) await ok(['pool', 'create', name]);
  const all = (await hub.api<{ items: Ev[] }>('GET', '/v1/events?type=pool.created&limit=1000')).body.items;
  const [a, b, c] = ['ev-a', 'ev-b', 'ev-c'].map((n) => all.find((e) => e.pool === n)!);
  const page = await cli(['events', '--type', 'pool.created', '--limit', '2']);
  assert.equal(page.code, 0, page.stderr);
  const rows = page.stdout.trim().split('\n');
  assert.match(rows[0], /^ID\s+AT\s+TYPE\s+ACTOR\s+MESSAGE$/);
  assert.match(rows[1], new RegExp(`^${c.id}\\s.*pool ev-c created$`));
  assert.match(rows[2], new RegExp(`^${b.id}\\s.*pool ev-b created$`));
  assert.equal(rows.length, 3);
  assert.equal(page.stderr.trim(), `(older events: add --before ${b.id})`);
  const older = JSON.parse(
    await ok(['events', '--type', 'pool.created', '--limit', '2', '--before', String(b.id), '-o', 'json']),
  ) as { items: Ev[]; cursor: number | null };
  assert.deepEqual(
    older.items.map((e) => e.pool),
    ['ev-a'],
  );
  assert.equal(older.cursor, null);
  const since = JSON.parse(await ok(['events', '--type', 'pool.created', '--since', String(a.id), '-o', 'json'])) as {
    items: Ev[];
  };
  assert.deepEqual(
    since.items.map((e) => e.pool),
    ['ev-c', 'ev-b'],
  );
  const recent = JSON.parse(await ok(['events', '--type', 'pool.created', '--since', '1h', '-o', 'json'])) as {
    items: Ev[];
  };
  assert.deepEqual(
    recent.items.slice(0, 3).map((e) => e.pool),
    ['ev-c', 'ev-b', 'ev-a'],
  );
  assert.equal((await cli(['events', '--since', 'yesterday'])).code, 2);
  // The API under it.
  const desc = await hub.api<{ items: Ev[]; cursor: number }>(
    'GET',
    `/v1/events?type=pool.created&order=desc&limit=1&before=${c.id}`,
  );
  assert.deepEqual([desc.body.items[0].id, desc.body.cursor], [b.id, b.id]);
});

test('events --follow survives a hub restart: nothing missed, nothing twice; it gives up when the hub stays away', async () => {
  const follow = startProcess(
    HUB_BIN,
    ['events', '--follow', '-o', 'json', '--type', 'pool.created', '--limit', '1', '--data-dir', hub.dataDir],
    { XDG_CONFIG_HOME: home },
  );
  procs.push(follow);
  const seen = (): string[] =>
    follow
      .stdout()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => String((JSON.parse(l) as Ev).pool));
  await waitFor('the tail', () => seen().length >= 1, 15_000);
  await ok(['pool', 'create', 'fol-1']);
  await waitFor('fol-1', () => seen().includes('fol-1'), 15_000);
  await hub.stop();
  await hub.restart();
  await ok(['pool', 'create', 'fol-2']);
  await waitFor('fol-2 after the restart', () => seen().includes('fol-2'), 30_000).catch((err: Error) => {
    throw new Error(`${err.message}\nstdout: ${follow.stdout()}\nstderr: ${follow.stderr()}`);
  });
  assert.deepEqual(
    seen().filter((p) => p.startsWith('fol-')),
    ['fol-1', 'fol-2'],
  );
  assert.equal(new Set(seen()).size, seen().length, 'no event twice');
  assert.match(follow.stderr(), /event stream lost .*; reconnecting in \d+\.\ds/);
  assert.match(follow.stderr(), /reconnected; resuming after event \d+/);
  await follow.kill();

  // Bounded: with the hub gone, it stops after --reconnect-for and says where to resume.
  const bounded = startProcess(
    HUB_BIN,
    ['events', '--follow', '--limit', '1', '--reconnect-for', '3s', '--data-dir', hub.dataDir],
    { XDG_CONFIG_HOME: home },
  );
  procs.push(bounded);
  await waitFor('the tail', () => bounded.stdout().trim().length > 0, 15_000);
  await hub.stop();
  const started = Date.now();
  const code = await Promise.race([
    bounded.exited,
    new Promise<string>((r) => setTimeout(() => r('still running'), 20_000)),
  ]);
  await hub.restart();
  assert.equal(code, 1, bounded.stderr());
  assert.ok(Date.now() - started < 15_000);
  assert.match(
    bounded.stderr(),
    /^error: gave up: no event stream for [3-9]s \(.*\); continue with: atoll-hub events --follow --since \d+$/m,
  );
});

test('upgrade status --watch redraws in place on a terminal and appends changes into a pipe', async () => {
  // A rollout that waits for a maintenance window three days away.
  const day = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][(new Date().getUTCDay() + 3) % 7];
  await ok([
    'upgrade',
    'policy',
    'set',
    '--day',
    day,
    '--start-hour',
    '3',
    '--duration-hours',
    '1',
    '--time-zone',
    'UTC',
  ]);
  const tok = await hub.api<{ token: string }>('POST', '/v1/tokens', { uses: 1 });
  const p = await Puppet.join(hub, tok.body.token, 'watched');
  puppets.push(p);
  const started = JSON.parse(
    await ok(['agent-upgrade', 'start', '--version', '0.1.0', '--pool', 'default', '-o', 'json']),
  ) as { id: string; state: string };
  assert.equal(started.state, 'waiting-window');
  const watchArgs = [
    HUB_BIN,
    'upgrade',
    'status',
    started.id,
    '--watch',
    '--interval',
    '0.3',
    '--data-dir',
    hub.dataDir,
  ];

  const piped = startProcess(HUB_BIN, watchArgs.slice(1), { XDG_CONFIG_HOME: home });
  procs.push(piped);
  // A terminal: script(1) gives the CLI a pty.
  const tty = existsSync('/usr/bin/script')
    ? run('/usr/bin/script', ['-qfec', [process.execPath, ...watchArgs].map((a) => `'${a}'`).join(' '), '/dev/null'], {
        XDG_CONFIG_HOME: home,
      })
    : undefined;
  // Cancel the rollout while both watch.
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal((await hub.api('POST', `/v1/upgrades/${started.id}/cancel`)).status, 200);
  assert.equal(await piped.exited, 0, piped.stderr());
  const out = piped.stdout();
  assert.ok(!out.includes('\x1b'), 'no escape codes into a pipe');
  const views = out.split(/\n--- \S+\n/);
  assert.equal(views.length, 2, `one view per change:\n${out}`);
  assert.match(views[0], /waiting-window/);
  assert.match(views[1], /cancelled/);
  if (tty) {
    const t = await tty;
    assert.equal(t.code, 0, t.stderr);
    const screen = t.stdout;
    const redraws = screen.split('\x1b[H\x1b[2J').length - 1;
    assert.ok(redraws >= 3, `redrawn in place ${redraws} times`);
    assert.match(screen, /every 0\.3s, Ctrl-C to stop/);
  }
});

test('a remote CLI: --ca / ATOLL_CA_FILE with ATOLL_API_URL, and named contexts stored 0600', async () => {
  // Another directory, no data dir: only flags, env and contexts say where the hub is.
  const cwd = mkdtempSync(join(home, 'elsewhere-'));
  const cfg = join(home, 'remote-config');
  const env = { XDG_CONFIG_HOME: cfg };
  const remote = (args: string[], extra: NodeJS.ProcessEnv = {}, input?: string): Promise<Run> =>
    run(process.execPath, [HUB_BIN, ...args], { ...env, ...extra }, { cwd, input });
  const ca = join(hub.dataDir, 'ca.crt');
  const tokenFile = join(hub.dataDir, 'admin-token');
  const viaUrl = { ATOLL_API_URL: hub.apiUrl, ATOLL_ADMIN_TOKEN: hub.adminToken() };
  // No CA: refused by TLS, and told what to do.
  const untrusted = await remote(['pool', 'list'], viaUrl);
  assert.equal(untrusted.code, 1);
  assert.match(
    untrusted.stderr,
    /the hub's certificate is not trusted: give the hub CA .* with --ca FILE or ATOLL_CA_FILE/,
  );
  assert.equal((await remote(['pool', 'list', '--ca', ca], viaUrl)).code, 0);
  assert.equal((await remote(['pool', 'list'], { ...viaUrl, ATOLL_CA_FILE: ca })).code, 0);

  const added = await remote(['context', 'add', 'lab', '--url', hub.apiUrl, '--token-file', tokenFile, '--ca', ca]);
  assert.equal(added.code, 0, added.stderr);
  const file = join(cfg, 'atoll', 'contexts.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(!readFileSync(file, 'utf8').includes(hub.adminToken()), 'a token file is referenced, not copied');
  // The first context becomes the current one: plain commands go to it.
  const listed = await remote(['pool', 'list']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^default\s/m);

  const stdin = await remote(
    ['context', 'add', 'other', '--url', 'https://127.0.0.1:1', '--token-stdin', '--ca', ca],
    {},
    'atoll_api_dummy\n',
  );
  assert.equal(stdin.code, 0, stdin.stderr);
  const list = await remote(['context', 'list']);
  assert.match(list.stdout, /^\*\s+lab\s+https:\/\/127\.0\.0\.1:\d+\s+file \S+admin-token\s+\S+ca\.crt$/m);
  assert.match(list.stdout, /^-\s+other\s+https:\/\/127\.0\.0\.1:1\s+stored \(0600\)/m);
  assert.ok(!list.stdout.includes('atoll_api_dummy'), 'list never prints a token');
  const other = await remote(['--context', 'other', 'nodes']);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /cannot reach the hub API at https:\/\/127\.0\.0\.1:1 \(context other\)/);
  assert.equal((await remote(['context', 'use', 'other'])).code, 0);
  assert.match((await remote(['nodes'])).stderr, /\(context other\)/);
  assert.equal((await remote(['--context', 'lab', 'nodes'])).code, 0);
  assert.equal((await remote(['context', 'use', 'nope'])).code, 1);
  assert.equal((await remote(['context', 'add', 'bad', '--url', 'http://x', '--token-file', tokenFile])).code, 2);
  assert.equal((await remote(['context', 'remove', 'other'])).code, 0);
  assert.match((await remote(['context', 'show'])).stderr, /no current context/);
});

test('atoll-hub completion bash completes commands, subcommands and options', async () => {
  const script = (await runCli(HUB_BIN, ['completion', 'bash'])).stdout;
  assert.match(script, /complete -F _atoll_hub atoll-hub/);
  const probe = `${script}
t() { COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _atoll_hub; echo "\${COMPREPLY[*]}"; }
t atoll-hub to
t atoll-hub pool up
t atoll-hub pool update default --hoo
t atoll-hub -o y
t atoll-hub --context lab node re
`;
  const r = spawnSync('bash', ['-c', probe], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'token',
    'update',
    '--hook',
    'yaml',
    'remove restart-k3s reboot remediate',
  ]);
  assert.equal((await runCli(HUB_BIN, ['completion', 'fish'])).code, 2);
});
