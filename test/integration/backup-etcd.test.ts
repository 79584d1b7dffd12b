// A hub whose k3s server runs embedded etcd (--k3s-arg=--cluster-init): `atoll-hub backup create`
// takes a `k3s etcd-snapshot save` of the running server into the archive; `atoll-hub restore` leaves
// it for k3s, and the hub's first start has k3s restore it (--cluster-reset --cluster-reset-restore-path)
// before serving, so Kubernetes objects made before the backup are back and later ones are not. The
// same through `atoll-hub cluster reset --from`. A backup while k3s is down is written without the
// Kubernetes objects and says so; a damaged snapshot at start fails the control plane with k3s's
// reason, and the marker stays.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_BIN, removeTree, runCli, startHub, waitFor, type HubHandle } from '../helpers/processes.js';
import { freePort } from '../helpers/ports.js';
import { sqliteOnly } from '../helpers/test-datastore.js';
import { buildStandin, kubeCore } from '../helpers/k3s-standin.js';

const skip = sqliteOnly('the hub runs k3s on embedded etcd in its own data dir');
let work: string | undefined;
let hub: HubHandle | undefined;
after(async () => {
  await hub?.stop('SIGKILL').catch(() => undefined);
  if (work) removeTree(work);
});

const cluster = async (h: HubHandle): Promise<{ state: string; message: string }> =>
  (await h.api<{ state: string; message: string }>('GET', '/v1/cluster')).body;

async function configMaps(h: HubHandle): Promise<string[]> {
  const list = await (await kubeCore(h)).listNamespacedConfigMap({ namespace: 'default' });
  return list.items.map((c) => c.metadata?.name ?? '').filter((n) => n.startsWith('cm-'));
}

async function makeConfigMap(h: HubHandle, name: string): Promise<void> {
  await (await kubeCore(h)).createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });
}

test(
  'embedded etcd: backup takes a k3s snapshot; restore and cluster reset bring back what it held',
  { skip },
  async () => {
    work = mkdtempSync(join(tmpdir(), 'atoll-backup-etcd-'));
    const standin = join(work, 'k3s');
    buildStandin(standin);
    const dataDir = join(work, 'data');
    const k3sPort = await freePort();
    hub = await startHub({
      dataDir,
      k3s: standin,
      extraArgs: ['--k3s-https-port', String(k3sPort), '--k3s-arg=--cluster-init'],
    });
    const h = hub;
    await waitFor('control plane running', async () => (await cluster(h)).state === 'running', 60_000);
    assert.ok(existsSync(join(dataDir, 'k3s', 'server', 'db', 'etcd')), 'k3s runs embedded etcd');
    await makeConfigMap(h, 'cm-before-backup');

    const pass = join(work, 'passphrase');
    writeFileSync(pass, 'etcd passphrase\n', { mode: 0o600 });
    const archive = join(work, 'etcd.atoll-backup');
    const made = await runCli(HUB_BIN, [
      'backup',
      'create',
      '--data-dir',
      dataDir,
      '--passphrase-file',
      pass,
      '--out',
      archive,
      '--k3s',
      standin,
    ]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /k3s datastore: embedded etcd: k3s etcd-snapshot save \(atoll-backup-\S+-\d+\)/);
    const snapshots = join(dataDir, 'k3s', 'server', 'db', 'snapshots');
    assert.ok(!existsSync(snapshots) || readdirSync(snapshots).length === 0, 'the snapshot went into the archive only');
    await makeConfigMap(h, 'cm-after-backup');

    // Restore on a new data dir: k3s restores the snapshot at the hub's first start.
    await h.stop();
    rmSync(dataDir, { recursive: true, force: true });
    const r = await runCli(HUB_BIN, ['restore', archive, '--data-dir', dataDir, '--passphrase-file', pass]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /k3s datastore: restored/);
    const marker = join(dataDir, 'k3s', 'atoll-etcd-restore.json');
    assert.ok(existsSync(marker), 'the snapshot waits for the next start of k3s');
    await h.restart();
    await waitFor(
      'control plane running after the restore',
      async () => (await cluster(h)).state === 'running',
      60_000,
    );
    assert.deepEqual(await configMaps(h), ['cm-before-backup']);
    assert.ok(!existsSync(marker), 'restored once: the marker is gone');
    assert.ok(!existsSync(join(dataDir, 'k3s', 'server', 'db', 'reset-flag')), 'k3s started normally after its reset');

    // With k3s down the snapshot cannot be taken: the hub's store and keys are still backed up, and it says so.
    await makeConfigMap(h, 'cm-after-restore');
    await h.stop();
    const partial = join(work, 'partial.atoll-backup');
    const noK3s = await runCli(HUB_BIN, [
      'backup',
      'create',
      '--data-dir',
      dataDir,
      '--out',
      partial,
      '--k3s',
      standin,
    ]);
    assert.equal(noK3s.code, 0, noK3s.stderr);
    assert.match(
      noK3s.stderr,
      /warning: no embedded etcd snapshot: k3s etcd-snapshot save failed .*the hub's k3s server must be running: this archive has the hub's store and keys but NOT the Kubernetes objects/,
    );
    assert.match(noK3s.stdout, /k3s datastore: no embedded etcd snapshot/);
    const unusable = await runCli(HUB_BIN, ['cluster', 'reset', '--data-dir', dataDir, '--from', partial, '--yes']);
    assert.equal(unusable.code, 1);
    assert.match(unusable.stderr, /holds no k3s datastore; nothing was changed/);

    // Cluster reset from the archive: the same path through the hub's next start.
    const reset = await runCli(HUB_BIN, ['cluster', 'reset', '--data-dir', dataDir, '--from', archive, '--yes']);
    assert.equal(reset.code, 0, reset.stderr);
    await h.restart();
    await waitFor('control plane running after the reset', async () => (await cluster(h)).state === 'running', 60_000);
    assert.deepEqual(await configMaps(h), ['cm-before-backup'], 'the reset went back to the snapshot');

    // A damaged snapshot: k3s refuses it, the control plane fails with the reason, and the marker stays.
    await h.stop();
    const again = await runCli(HUB_BIN, ['cluster', 'reset', '--data-dir', dataDir, '--from', archive, '--yes']);
    assert.equal(again.code, 0, again.stderr);
    writeFileSync(join(dataDir, 'k3s', 'server', 'db', 'snapshots', 'atoll-backup-etcd-snapshot'), 'damaged');
    await h.restart();
    const failed = await waitFor(
      'control plane failed',
      async () => {
        const c = await cluster(h);
        return c.state === 'failed' ? c : undefined;
      },
      60_000,
    );
    assert.match(
      failed.message,
      /k3s could not restore the etcd snapshot .* \(exit 1\): .*integrity check failed|invalid database/,
    );
    assert.ok(existsSync(marker), 'the restore is tried again at the next start');
  },
);
