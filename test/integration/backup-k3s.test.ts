// The k3s datastore is in the backup: a ConfigMap created through the Kubernetes API before the
// backup is there after the data dir is lost and restored (the k3s stand-in keeps its objects in
// server/db/standin-state.json, as real k3s keeps them in server/db/state.db; both are in the archive),
// and the restored k3s server signs with the CA it had (its token and CAs are in the archive, sealed).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_BIN, removeTree, runCli, startHub, waitFor, type HubHandle } from '../helpers/processes.js';
import { freePort } from '../helpers/ports.js';
import { sqliteOnly } from '../helpers/test-datastore.js';
import { buildStandin, kubeCore } from '../helpers/k3s-standin.js';

const skip = sqliteOnly('the restored hub runs on the hub.db of the archive');
let work: string | undefined;
let hub: HubHandle | undefined;
after(async () => {
  await hub?.stop('SIGKILL').catch(() => undefined);
  if (work) removeTree(work);
});

const running = async (h: HubHandle): Promise<boolean> =>
  (await h.api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running';

test('objects created through the Kubernetes API before the backup are there after a restore', { skip }, async () => {
  work = mkdtempSync(join(tmpdir(), 'atoll-backup-k3s-'));
  const standin = join(work, 'k3s');
  buildStandin(standin);
  const dataDir = join(work, 'data');
  hub = await startHub({
    dataDir,
    k3s: standin,
    extraArgs: ['--k3s-https-port', String(await freePort())],
    env: { ATOLL_STANDIN_HEARTBEAT_MS: '1000' },
  });
  const h = hub;
  await waitFor('control plane running', () => running(h), 30_000);
  await (
    await kubeCore(h)
  ).createNamespacedConfigMap({
    namespace: 'default',
    body: { metadata: { name: 'kept-config' }, data: { color: 'teal' } },
  });
  const stateFile = join(dataDir, 'k3s', 'server', 'db', 'standin-state.json');
  await waitFor(
    'the object in the k3s datastore',
    () => existsSync(stateFile) && readFileSync(stateFile, 'utf8').includes('kept-config'),
    10_000,
  );
  const k3sCa = async (): Promise<string> =>
    /certificate-authority-data: (\S+)/.exec((await h.api<string>('GET', '/v1/cluster/kubeconfig')).body)?.[1] ?? '';
  const caBefore = await k3sCa();
  assert.ok(caBefore, 'the kubeconfig carries the k3s server CA');
  const pass = join(work, 'passphrase');
  writeFileSync(pass, 'k3s objects passphrase\n', { mode: 0o600 });
  const archive = join(work, 'with-k3s.atoll-backup');
  const made = await runCli(HUB_BIN, [
    'backup',
    'create',
    '--data-dir',
    dataDir,
    '--passphrase-file',
    pass,
    '--out',
    archive,
  ]);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /k3s datastore: the k3s stand-in's state file/);
  assert.match(made.stdout, /the k3s server's token and CAs \(\d+ files, sealed with the cluster secret\)/);

  // Without a passphrase the cluster secret stays out: a restore not given it cannot open the k3s keys, and says so.
  const bare = join(work, 'bare.atoll-backup');
  const madeBare = await runCli(HUB_BIN, ['backup', 'create', '--data-dir', dataDir, '--out', bare]);
  assert.equal(madeBare.code, 0, madeBare.stderr);
  const unchecked = await runCli(HUB_BIN, ['restore', bare, '--data-dir', join(work, 'no-secret')]);
  assert.match(unchecked.stderr, /BACKUP_NEEDS_SECRET: .* is signed with the cluster secret/);
  const noSecret = await runCli(HUB_BIN, ['restore', bare, '--data-dir', join(work, 'no-secret'), '--accept-unsigned']);
  assert.equal(noSecret.code, 0, noSecret.stderr);
  assert.match(noSecret.stdout, /k3s server token and CAs: NOT restored \(they open with the cluster secret/);
  const withSecret = await runCli(HUB_BIN, [
    'restore',
    bare,
    '--data-dir',
    join(work, 'with-secret'),
    '--cluster-secret-file',
    join(dataDir, 'cluster-secret'),
  ]);
  assert.equal(withSecret.code, 0, withSecret.stderr);
  assert.match(withSecret.stdout, /k3s server token and CAs: restored \(\d+ files\)/);
  assert.equal(
    readFileSync(join(work, 'with-secret', 'k3s', 'server', 'tls', 'server-ca.key'), 'utf8'),
    readFileSync(join(dataDir, 'k3s', 'server', 'tls', 'server-ca.key'), 'utf8'),
  );

  await h.stop();
  rmSync(dataDir, { recursive: true, force: true });
  const r = await runCli(HUB_BIN, ['restore', archive, '--data-dir', dataDir, '--passphrase-file', pass]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /k3s datastore: restored/);
  assert.match(r.stdout, /k3s server token and CAs: restored \(\d+ files\)/);
  await h.restart();
  await waitFor('control plane running again', () => running(h), 30_000);
  const cm = await (await kubeCore(h)).readNamespacedConfigMap({ name: 'kept-config', namespace: 'default' });
  assert.equal(cm.data?.color, 'teal');
  // The same k3s CA: kubelet certificates, node tokens and kubeconfigs made before the backup still work.
  assert.equal(await k3sCa(), caBefore, 'the restored k3s server has the CA it had');
});
