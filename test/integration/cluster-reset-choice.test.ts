// Which backup atoll-hub cluster reset takes, and that it never starts the k3s datastore empty unless
// told to: with no backup holding a k3s datastore it stops, naming the folder and what it looked at;
// archives made while k3s was down (no Kubernetes objects) are passed over and named; --backup-dir
// (or ATOLL_BACKUP_DIR) points it at the folder scheduled backups write to; --empty starts empty.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { archiveMacKey, writeArchive } from '../../hub/backup/archive.js';
import { K3S_SQLITE_MEMBER } from '../../hub/backup/create.js';
import { readClusterSecret } from '../../hub/pki/cluster-secret.js';
import { HUB_BIN, removeDir, runCli, startHub, type HubHandle } from '../helpers/processes.js';
import { sqliteOnly } from '../helpers/test-datastore.js';

const skip = sqliteOnly('cluster reset works on a SQLite data dir');
let hub: HubHandle | undefined;
after(async () => {
  await hub?.stop('SIGKILL').catch(() => undefined);
  if (hub) removeDir(hub.dataDir);
});

test(
  'cluster reset: no usable backup stops it; k3s-down archives are passed over; --backup-dir; --empty',
  { skip },
  async () => {
    hub = await startHub();
    await hub.stop();
    const dataDir = hub.dataDir;
    const db = join(dataDir, 'k3s', 'server', 'db');
    mkdirSync(db, { recursive: true });
    const old = randomBytes(4096);
    writeFileSync(join(db, 'state.db'), old, { mode: 0o600 });
    const macKey = archiveMacKey(readClusterSecret(join(dataDir, 'cluster-secret')).secret);
    const shared = join(dataDir, '..', 'shared-backups');
    mkdirSync(shared);
    const archive = (name: string, agoMs: number, k3s?: Buffer): void =>
      void writeArchive(
        join(shared, `${name}.atoll-backup`),
        {
          atollVersion: '0.1.0',
          createdAt: new Date(Date.now() - agoMs).toISOString(),
          datastore: 'sqlite',
          caPin: null,
          secrets: 'none',
          k3s: k3s ? { kind: 'sqlite', note: '' } : { kind: 'none', note: 'k3s down' },
          ...(k3s ? {} : { incomplete: 'no Kubernetes objects: k3s is not running' }),
        },
        new Map([['hub.db', Buffer.from('unused')], ...(k3s ? [[K3S_SQLITE_MEMBER, k3s] as [string, Buffer]] : [])]),
        macKey,
      );

    // No backup at all: it stops and says how to go on.
    const none = await runCli(HUB_BIN, ['cluster', 'reset', '--data-dir', dataDir, '--yes']);
    assert.equal(none.code, 1, none.stderr);
    assert.match(
      none.stderr,
      /no backup in .*backups holds a k3s datastore: pass --from FILE, --backup-dir DIR, or --empty/,
    );
    assert.deepEqual(readFileSync(join(db, 'state.db')), old, 'nothing changed');

    // The scheduled backups are in a shared folder: the newest was made while k3s was down.
    const fromBackup = randomBytes(8192);
    archive('complete', 2 * 3_600_000, fromBackup);
    archive('k3s-down', 3_600_000);
    const defaultDir = await runCli(HUB_BIN, ['cluster', 'reset', '--data-dir', dataDir, '--yes']);
    assert.equal(defaultDir.code, 1, 'the data dir has no backups');
    assert.deepEqual(readFileSync(join(db, 'state.db')), old);

    const viaEnv = await runCli(HUB_BIN, ['cluster', 'reset', '--data-dir', dataDir, '--yes'], {
      ATOLL_BACKUP_DIR: shared,
    });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.match(
      viaEnv.stdout,
      /skipped the newer backup k3s-down\.atoll-backup: no Kubernetes objects: k3s is not running/,
    );
    assert.match(viaEnv.stdout, /k3s datastore: from .*complete\.atoll-backup/);
    assert.deepEqual(readFileSync(join(db, 'state.db')), fromBackup);

    // Only k3s-down archives: stopped, and the message names them.
    const onlyDown = join(dataDir, '..', 'only-down');
    mkdirSync(onlyDown);
    writeFileSync(join(onlyDown, 'x.atoll-backup'), readFileSync(join(shared, 'k3s-down.atoll-backup')));
    const refused = await runCli(HUB_BIN, [
      'cluster',
      'reset',
      '--data-dir',
      dataDir,
      '--yes',
      '--backup-dir',
      onlyDown,
    ]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /holds a k3s datastore \(1 looked at: x\.atoll-backup: no Kubernetes objects/);
    assert.deepEqual(readFileSync(join(db, 'state.db')), fromBackup, 'nothing changed');

    // Asked for: empty.
    const empty = await runCli(HUB_BIN, ['cluster', 'reset', '--data-dir', dataDir, '--yes', '--empty']);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /k3s datastore: empty/);
    assert.ok(!existsSync(join(db, 'state.db')));
  },
);
