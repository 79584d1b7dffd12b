// Contract: embedded etcd snapshots and restore (k3s docs, "etcd-snapshot"), against the stand-in or a
// real k3s (ATOLL_TEST_K3S_BIN, as root): `k3s etcd-snapshot save` asks the running --cluster-init
// server for a snapshot named <name>-<node>-<unix time>; `k3s server --cluster-reset
// --cluster-reset-restore-path FILE` restores it (the old member moved to etcd-old-<time>), writes
// server/db/reset-flag, exits 0, refuses a second reset until a normal start removes the flag, and
// refuses a damaged snapshot. Only loopback and free ports; every process ends in `after`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessRegistry, type Managed } from './helpers/processes.js';
import { freePort } from './helpers/ports.js';
import { call, eventually, insecureGet, readKubeconfig, type Creds } from './helpers/kube-http.js';
import { resolveK3s, type K3sUnderTest } from './helpers/k3s-under-test.js';
import { runCommand } from './helpers/run-command.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('k3s embedded etcd: snapshot save and cluster-reset restore', { timeout: 180_000 }, () => {
  const procs = new ProcessRegistry();
  let tmp = '';
  let k3s: K3sUnderTest;
  let port = 0;
  let dataDir = '';
  let kubeconfig = '';
  let env: NodeJS.ProcessEnv = {};
  let server: Managed | undefined;
  const url = (): string => `https://127.0.0.1:${port}`;
  const db = (): string => join(dataDir, 'server', 'db');
  const serverArgs = (...extra: string[]): string[] => [
    'server',
    '--data-dir',
    dataDir,
    '--https-listen-port',
    String(port),
    '--bind-address',
    '127.0.0.1',
    '--write-kubeconfig',
    kubeconfig,
    '--node-name',
    'etcd-1',
    '--disable-agent',
    '--disable',
    'traefik,servicelb',
    ...extra,
  ];

  /** `k3s etcd-snapshot save` against the running server of dataDir. */
  const snapshotSave = (extra: string[]): ReturnType<typeof runCommand> =>
    runCommand(
      k3s.bin,
      ['etcd-snapshot', 'save', '--data-dir', dataDir, '--etcd-server', url(), ...extra],
      env,
      120_000,
    );

  async function startServer(...extra: string[]): Promise<Creds> {
    server = procs.start('server', k3s.bin, serverArgs(...extra), env);
    await eventually('server answering /ping', 90_000, async () => {
      const r = await insecureGet(`${url()}/ping`);
      return r.body.toString() === 'pong' && existsSync(kubeconfig) ? true : undefined;
    });
    const creds = readKubeconfig(kubeconfig);
    await eventually('the API serving', 60_000, async () =>
      (await call(creds, '/api/v1/namespaces/default')).status === 200 ? true : undefined,
    );
    return creds;
  }

  const configMap = async (creds: Creds, name: string): Promise<number> =>
    (await call(creds, `/api/v1/namespaces/default/configmaps/${name}`)).status;

  async function createConfigMap(creds: Creds, name: string): Promise<void> {
    const r = await call(creds, '/api/v1/namespaces/default/configmaps', {
      method: 'POST',
      body: { metadata: { name }, data: { made: name } },
    });
    assert.equal(r.status, 201, r.text);
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'atoll-k3s-etcd-'));
    k3s = await resolveK3s(tmp, repoRoot);
    if (k3s.skip) return;
    port = await freePort();
    dataDir = join(tmp, 'server');
    kubeconfig = join(tmp, 'kubeconfig.yaml');
    env = { ...process.env, HOME: join(tmp, 'home') };
    for (const k of ['KUBECONFIG', 'K3S_TOKEN', 'K3S_URL', 'K3S_DATASTORE_ENDPOINT']) delete env[k];
    mkdirSync(join(tmp, 'home'), { recursive: true });
  });

  after(async () => {
    await procs.killAll();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('a server on its default datastore has no etcd to snapshot', async (t) => {
    if (k3s.skip) return t.skip(k3s.skip);
    const other = join(tmp, 'plain');
    const plainPort = await freePort();
    const plain = procs.start(
      'plain',
      k3s.bin,
      [
        'server',
        '--data-dir',
        other,
        '--https-listen-port',
        String(plainPort),
        '--bind-address',
        '127.0.0.1',
        '--write-kubeconfig',
        join(tmp, 'plain.yaml'),
        '--disable-agent',
      ],
      env,
    );
    await eventually('plain server answering /ping', 90_000, async () =>
      (await insecureGet(`https://127.0.0.1:${plainPort}/ping`)).body.toString() === 'pong' ? true : undefined,
    );
    const r = await runCommand(
      k3s.bin,
      ['etcd-snapshot', 'save', '--data-dir', other, '--etcd-server', `https://127.0.0.1:${plainPort}`],
      env,
    );
    assert.notEqual(r.code, 0, `saved a snapshot without etcd: ${r.stderr}`);
    assert.ok(
      !existsSync(join(other, 'server', 'db', 'snapshots')) ||
        readdirSync(join(other, 'server', 'db', 'snapshots')).length === 0,
    );
    // The server and token flags are --etcd-server and --etcd-token (k3s >= 1.29): --server is no flag here.
    const wrongFlag = await runCommand(
      k3s.bin,
      ['etcd-snapshot', 'save', '--data-dir', other, '--server', `https://127.0.0.1:${plainPort}`],
      env,
    );
    assert.notEqual(wrongFlag.code, 0);
    assert.match(`${wrongFlag.stdout}${wrongFlag.stderr}`, /flag provided but not defined: -server/);
    await plain.stop();
  });

  it('saves a snapshot of the running server, and a restore brings back what it held', async (t) => {
    if (k3s.skip) return t.skip(k3s.skip);
    const creds = await startServer('--cluster-init');
    assert.ok(existsSync(join(db(), 'etcd')), 'embedded etcd keeps its member in server/db/etcd');
    await createConfigMap(creds, 'before-snapshot');

    const snapDir = join(tmp, 'snaps');
    const save = await snapshotSave(['--name', 'contract', '--etcd-snapshot-dir', snapDir]);
    assert.equal(save.code, 0, save.stderr);
    const name = /Snapshot (contract-etcd-1-\d+) saved\./.exec(save.stderr)?.[1];
    assert.ok(name, `names the snapshot <name>-<node>-<unix time>: ${save.stderr}`);
    const file = join(snapDir, name);
    assert.ok(statSync(file).size > 0);
    assert.equal(statSync(file).mode & 0o077, 0, 'a snapshot holds secrets: not readable by others');

    // The token is checked: another one gets nothing.
    const denied = await snapshotSave(['--etcd-token', 'not-the-token', '--etcd-snapshot-dir', snapDir]);
    assert.notEqual(denied.code, 0);
    assert.doesNotMatch(denied.stderr, /flag provided but not defined/, 'refused for its token, not a flag');
    assert.equal(readdirSync(snapDir).length, 1);

    await createConfigMap(creds, 'after-snapshot');
    await server?.stop();

    // A damaged snapshot is refused and the member is left as it was.
    const bad = join(tmp, 'damaged');
    writeFileSync(bad, 'not a snapshot');
    const refused = await runCommand(
      k3s.bin,
      [...serverArgs('--cluster-reset', `--cluster-reset-restore-path=${bad}`)],
      env,
      120_000,
    );
    assert.notEqual(refused.code, 0, 'a damaged snapshot is refused');
    assert.ok(!existsSync(join(db(), 'reset-flag')));

    const reset = await runCommand(
      k3s.bin,
      [...serverArgs('--cluster-reset', `--cluster-reset-restore-path=${file}`)],
      env,
      120_000,
    );
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(
      reset.stderr,
      /Managed etcd cluster membership has been reset, restart without --cluster-reset flag now/,
    );
    assert.ok(existsSync(join(db(), 'reset-flag')), 'the reset leaves server/db/reset-flag');
    assert.ok(
      readdirSync(db()).some((f) => /^etcd-old-\d+$/.test(f)),
      'the old member is kept as etcd-old-<time>',
    );

    const again = await runCommand(k3s.bin, [...serverArgs('--cluster-reset')], env, 120_000);
    assert.notEqual(again.code, 0, 'a second reset before a normal start is refused');
    assert.match(again.stderr, /cluster-reset was successfully performed/);

    const restored = await startServer();
    assert.equal(await configMap(restored, 'before-snapshot'), 200, 'what the snapshot held is back');
    assert.equal(await configMap(restored, 'after-snapshot'), 404, 'what came after the snapshot is gone');
    assert.ok(!existsSync(join(db(), 'reset-flag')), 'a normal start removes the reset flag');
    await server?.stop();
  });
});
