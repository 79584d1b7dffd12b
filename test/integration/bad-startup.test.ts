// Bad local state at start-up (issue 2): a hub data dir others may write to, secret files others may
// read, an agent with no identity and no token, and `atoll-agent join` without its required flags.
// Each refuses with the fix in the message and changes nothing on disk. (Tests run as root: these
// check modes, not ownership.)
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_BIN, HUB_BIN, agentDataDir, removeDir, runCli, startHub, type HubHandle } from '../helpers/processes.js';
import { createToken, stopProc } from '../helpers/bad-input.js';

const dirs: string[] = [];
let hub: HubHandle | undefined;

after(async () => {
  await stopProc(hub?.proc);
  for (const d of dirs) removeDir(d);
});

const NO_AGENT_ENV = { ATOLL_TOKEN: undefined, ATOLL_HUB_URL: undefined, ATOLL_AGENT_DATA_DIR: undefined };

/** `atoll-hub run` on `dataDir`; refusals happen before it listens, so ports do not matter. */
function hubRun(dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(
    HUB_BIN,
    [
      'run',
      '--data-dir',
      dataDir,
      '--api-listen',
      '127.0.0.1:0',
      '--gateway-listen',
      '127.0.0.1:0',
      '--public-url',
      'https://127.0.0.1:9444',
      '--k3s',
      'off',
    ],
    { ATOLL_DATA_DIR: undefined },
    15_000,
  );
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

test('a hub data dir others may write to (0777): exit 1 naming the dir and chmod 700; nothing written', async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'atoll-hub-')), 'data');
  dirs.push(dataDir);
  mkdirSync(dataDir);
  chmodSync(dataDir, 0o777);
  const r = await hubRun(dataDir);
  assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
  assert.ok(r.stderr.includes(dataDir), `stderr names ${dataDir}: ${r.stderr}`);
  assert.ok(r.stderr.includes(`chmod 700 ${dataDir}`), `stderr gives the fix: ${r.stderr}`);
  assert.doesNotMatch(r.stdout, /is running/);
  assert.deepEqual(readdirSync(dataDir), [], 'nothing was created in the refused dir');
  assert.equal(mode(dataDir), 0o777, 'the hub does not quietly change the mode');
});

test('secret files others may read (cluster-secret, admin-token at 0644): exit 1 naming the file and chmod 600; nothing lost', async () => {
  hub = await startHub();
  dirs.push(hub.dataDir);
  const t = await createToken(hub, { description: 'must survive' });
  const caPem = hub.caPem();
  await stopProc(hub.proc);

  for (const name of ['cluster-secret', 'admin-token']) {
    const file = join(hub.dataDir, name);
    const before = readFileSync(file, 'utf8');
    chmodSync(file, 0o644);
    const r = await hubRun(hub.dataDir);
    assert.equal(r.code, 1, `${name}: exit code (stderr: ${r.stderr})`);
    assert.ok(r.stderr.includes(file), `${name}: stderr names ${file}: ${r.stderr}`);
    assert.ok(r.stderr.includes(`chmod 600 ${file}`), `${name}: stderr gives the fix: ${r.stderr}`);
    assert.equal(mode(file), 0o644, `${name}: the hub does not quietly change the mode`);
    assert.equal(readFileSync(file, 'utf8'), before, `${name}: unchanged`);
    chmodSync(file, 0o600);
  }

  // Fixed as told: the same hub comes back with its CA and its tokens.
  await hub.restart();
  assert.equal((await hub.api('GET', '/healthz')).status, 200);
  assert.equal(hub.caPem(), caPem, 'the CA is the same');
  const tokens = await hub.api<{ items: { id: string; description: string }[] }>('GET', '/v1/tokens');
  assert.ok(
    tokens.body.items.some((x) => x.id === t.id && x.description === 'must survive'),
    'the token is still there',
  );
  await stopProc(hub.proc);
});

test('atoll-agent run with no identity and no token: exit 1, says to join first', async () => {
  const missing = agentDataDir();
  const empty = agentDataDir();
  dirs.push(missing, empty);
  mkdirSync(empty, { mode: 0o700 });
  for (const dataDir of [missing, empty]) {
    const r = await runCli(AGENT_BIN, ['run', '--data-dir', dataDir, '--k3s', 'off'], NO_AGENT_ENV, 15_000);
    assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
    assert.match(r.stderr, /no identity in .*join first/);
    assert.match(r.stderr, /atoll-agent join --hub URL --token TOKEN/);
  }
  assert.equal(existsSync(missing), false, 'run does not create a data dir');
  assert.deepEqual(readdirSync(empty), []);
});

test('atoll-agent join without --token or --hub: usage error, exit 2, no identity', async () => {
  const dataDir = agentDataDir();
  dirs.push(dataDir);
  const noToken = await runCli(
    AGENT_BIN,
    ['join', '--hub', 'https://127.0.0.1:9444', '--data-dir', dataDir, '--k3s', 'off'],
    NO_AGENT_ENV,
    15_000,
  );
  assert.equal(noToken.code, 2, `exit code (stderr: ${noToken.stderr})`);
  assert.match(noToken.stderr, /join needs --token/);
  const noHub = await runCli(
    AGENT_BIN,
    ['join', '--token', 'AT1x', '--data-dir', dataDir, '--k3s', 'off'],
    NO_AGENT_ENV,
    15_000,
  );
  assert.equal(noHub.code, 2, `exit code (stderr: ${noHub.stderr})`);
  assert.match(noHub.stderr, /join needs --hub/);
  assert.equal(existsSync(join(dataDir, 'identity.json')), false);
});
