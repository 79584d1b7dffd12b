// atoll-hub cluster reset without --from does not fall back to an empty k3s datastore when the backups
// it finds cannot be used: an unsigned (format 1) archive is refused with how to go on, and nothing
// changes; with --accept-unsigned that archive's datastore is used.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { archiveMacKey, writeArchive } from '../../hub/backup/archive.js';
import { K3S_SQLITE_MEMBER } from '../../hub/backup/create.js';
import { readClusterSecret } from '../../hub/pki/cluster-secret.js';
import { HUB_BIN, removeDir, runCli, startHub, type HubHandle } from '../helpers/processes.js';
import { forgeArchive } from '../helpers/forge-archive.js';
import { sqliteOnly } from '../helpers/test-datastore.js';

const skip = sqliteOnly('cluster reset works on a SQLite data dir');
let hub: HubHandle | undefined;
after(async () => {
  await hub?.stop('SIGKILL').catch(() => undefined);
  if (hub) removeDir(hub.dataDir);
});

test('cluster reset refuses an unsigned backup unless accepted, and never starts empty instead', { skip }, async () => {
  hub = await startHub();
  await hub.stop();
  const dataDir = hub.dataDir;
  const db = join(dataDir, 'k3s', 'server', 'db');
  mkdirSync(db, { recursive: true });
  const old = randomBytes(4096);
  writeFileSync(join(db, 'state.db'), old, { mode: 0o600 });
  const backups = join(dataDir, 'backups');
  mkdirSync(backups);
  const signed = join(dataDir, 'signed.tmp');
  const fromBackup = randomBytes(8192);
  writeArchive(
    signed,
    {
      atollVersion: '0.1.0',
      createdAt: new Date(Date.now() - 60_000).toISOString(),
      datastore: 'sqlite',
      caPin: null,
      secrets: 'none',
      k3s: { kind: 'sqlite', note: '' },
    },
    new Map([
      ['hub.db', Buffer.from('unused')],
      [K3S_SQLITE_MEMBER, fromBackup],
    ]),
    archiveMacKey(readClusterSecret(join(dataDir, 'cluster-secret')).secret),
  );
  forgeArchive(signed, join(backups, 'old-format.atoll-backup'), { format: 1 });

  const r = await runCli(HUB_BIN, ['cluster', 'reset', '--data-dir', dataDir, '--yes']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^error: BACKUP_UNSIGNED: no backup in .* can be used: .*--accept-unsigned.*--from FILE or --empty/,
  );
  assert.deepEqual(readFileSync(join(db, 'state.db')), old, 'nothing changed');

  const ok = await runCli(HUB_BIN, ['cluster', 'reset', '--data-dir', dataDir, '--yes', '--accept-unsigned']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /k3s datastore: from .*old-format\.atoll-backup/);
  assert.deepEqual(readFileSync(join(db, 'state.db')), fromBackup);
  assert.ok(readdirSync(join(dataDir, 'k3s', 'server')).some((f) => f.startsWith('db.reset-')));
  assert.ok(existsSync(signed));
});
