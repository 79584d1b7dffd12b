// Pool, autoheal and auto-upgrade settings against a real hub: a misspelled key is named in the
// refusal, PATCH moves updatedAt, the CLI sets every one of them, and the README's curl examples
// work when pasted (the hub of `npm start`: ./.atoll, with the port of this test's hub).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, runCli, removeDir, removeTree, HUB_BIN, ROOT, type HubHandle } from '../helpers/processes.js';

type Err = { error: { code: string; message: string } };
interface Pool {
  name: string;
  updatedAt: string;
  autoheal: Record<string, unknown>;
}

let hub: HubHandle;
let home: string;
before(async () => {
  home = mkdtempSync(join(tmpdir(), 'atoll-cli-home-'));
  hub = await startHub();
});
after(async () => {
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
  if (home) removeTree(home);
});

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(HUB_BIN, [...args, '--data-dir', hub.dataDir], { XDG_CONFIG_HOME: home });
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.equal(r.code, 0, `atoll-hub ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('a misspelled key is named in the VALIDATION error, at the top and inside autoheal', async () => {
  const top = await hub.api<Err>('PATCH', '/v1/pools/default', { autoheel: { enabled: false } });
  assert.equal(top.status, 400);
  assert.equal(top.body.error.code, 'VALIDATION');
  assert.equal(
    top.body.error.message,
    'unknown property "autoheel" in body (known: description, labels, taints, maxNodeAge, autoheal, minSize, maxSize, autoscale)',
  );
  const nested = await hub.api<Err>('PATCH', '/v1/pools/default', { autoheal: { maxUnhealthy: 50 } });
  assert.equal(nested.status, 400);
  assert.match(
    nested.body.error.message,
    /^unknown property "maxUnhealthy" in body\.autoheal \(known: enabled, paused, maxUnhealthyPercent, hook, /,
  );
  const created = await hub.api<Err>('POST', '/v1/pools', { name: 'typo', autoheal: { afterRestrat: '1m' } });
  assert.equal(created.status, 400);
  assert.match(created.body.error.message, /"afterRestrat" in body\.autoheal/);
  const upgrade = await hub.api<Err>('PUT', '/v1/cluster/auto-upgrade', { window: { startHours: 3 } });
  assert.match(upgrade.body.error.message, /^unknown property "startHours" in body\.window/);
  // The CLI shows the same words.
  const r = await runCli(HUB_BIN, ['pool', 'update', 'default', '--after-restart', 'soon', '--data-dir', hub.dataDir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: autoheal\.afterRestart: .* \(VALIDATION, HTTP 400\)$/m);
});

test('PATCH of a pool moves updatedAt, also when only its autoheal settings change', async () => {
  const before = (await hub.api<Pool>('GET', '/v1/pools/default')).body;
  await new Promise((r) => setTimeout(r, 20));
  const patched = await hub.api<Pool>('PATCH', '/v1/pools/default', { autoheal: { afterRestart: '4m' } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.ok(patched.body.updatedAt > before.updatedAt, `${patched.body.updatedAt} > ${before.updatedAt}`);
  assert.equal((await hub.api<Pool>('GET', '/v1/pools/default')).body.updatedAt, patched.body.updatedAt);
});

test('the CLI sets pool autoheal settings, the cluster switch, a node switch and the auto-upgrade policy', async () => {
  await ok(['pool', 'create', 'edge', '--label', 'tier=edge', '--autoheal-enabled', 'false', '--after-restart', '2m']);
  let p = (await hub.api<Pool>('GET', '/v1/pools/edge')).body;
  assert.equal(p.autoheal.enabled, false);
  assert.equal(p.autoheal.afterRestart, '2m');
  await ok([
    'pool',
    'update',
    'edge',
    '--autoheal-enabled',
    'true',
    '--autoheal-paused',
    'true',
    '--max-unhealthy-percent',
    '60',
    '--after-reboot',
    '20m',
    '--cooldown-max',
    '15m',
  ]);
  p = (await hub.api<Pool>('GET', '/v1/pools/edge')).body;
  assert.deepEqual(
    [
      p.autoheal.enabled,
      p.autoheal.paused,
      p.autoheal.maxUnhealthyPercent,
      p.autoheal.afterReboot,
      p.autoheal.cooldownMax,
    ],
    [true, true, 60, '20m', '15m'],
  );
  const shown = await ok(['pool', 'show', 'edge']);
  assert.match(shown, /^autoheal:\s+on, paused$/m);
  assert.match(shown, /^ {2}cap:\s+60% of the pool unhealthy \(at least one node\)$/m);
  assert.equal((JSON.parse(await ok(['pool', 'show', 'edge', '-o', 'json'])) as Pool).autoheal.afterReboot, '20m');
  const bad = await cli(['pool', 'update', 'edge', '--autoheal-enabled', 'maybe']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--autoheal-enabled must be true or false, not "maybe"/);

  assert.match(await ok(['autoheal', 'set', '--paused', 'true']), /^cluster autoheal: on, paused$/m);
  assert.match(await ok(['autoheal', 'show']), /^autoheal: on, paused; partition guard: not frozen$/m);
  await ok(['autoheal', 'set', '--paused', 'false']);
  assert.equal((await hub.api<{ autoheal: { paused: boolean } }>('GET', '/v1/cluster')).body.autoheal.paused, false);
  const none = await cli(['node', 'autoheal', 'nope', '--enabled', 'false']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^error: no node nope /);

  const policy = await ok([
    'upgrade',
    'policy',
    'set',
    '--enabled',
    'true',
    '--day',
    'sun',
    '--start-hour',
    '3',
    '--time-zone',
    'Europe/Paris',
    '--scope',
    'minor',
    '--max-unavailable',
    '2',
  ]);
  assert.match(policy, /^auto-upgrade: on, scope minor$/m);
  assert.match(policy, /^window:\s+sun 3:00 for \d+h \(Europe\/Paris\)/m);
  const doc = JSON.parse(await ok(['upgrade', 'policy', 'show', '-o', 'json'])) as {
    enabled: boolean;
    window: { day: string };
    rollout: { maxUnavailable: number };
  };
  assert.deepEqual([doc.enabled, doc.window.day, doc.rollout.maxUnavailable], [true, 'sun', 2]);
  assert.equal((await cli(['upgrade', 'policy', 'set'])).code, 2);
});

test("the README's curl examples work when pasted (hub of npm start: ./.atoll)", async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const lines = readme.split('\n').filter((l) => /^(API=|curl -sS )/.test(l));
  const setup = lines.filter((l) => l.startsWith('API='));
  const curls = lines.filter((l) => l.startsWith('curl '));
  assert.equal(setup.length, 1, 'one line sets $API and $AUTH');
  assert.ok(curls.length >= 6, `only ${curls.length} curl examples`);
  assert.ok(
    curls.every((l) => l.includes('--cacert .atoll/ca.crt') && l.includes('-H "$AUTH"')),
    'every example trusts the CA and sends the token',
  );
  assert.ok(
    curls.filter((l) => l.includes(' -d ')).every((l) => l.includes("-H 'Content-Type: application/json'")),
    'every example with a body says it is JSON',
  );
  const cwd = mkdtempSync(join(home, 'repo-'));
  symlinkSync(hub.dataDir, join(cwd, '.atoll'));
  const port = new URL(hub.apiUrl).port;
  for (const line of curls) {
    const script = `set -e\n${setup[0].replace('127.0.0.1:9443', `127.0.0.1:${port}`)}\nNODE=no-such-node\n${line}\n`;
    const r = spawnSync('bash', ['-c', script], { cwd, encoding: 'utf8', timeout: 20_000 });
    if (line.includes('$NODE')) {
      // No node in this hub: the request got through TLS, auth and routing to the node lookup.
      assert.match(
        r.stdout,
        /"code":"NOT_FOUND","message":"node no-such-node does not exist"/,
        `${line}\n${r.stdout}${r.stderr}`,
      );
      continue;
    }
    assert.equal(r.status, 0, `${line}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
});
