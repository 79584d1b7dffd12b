// atoll-hub cluster reset on a full disk: the new k3s datastore cannot be written, so the old one stays
// where k3s finds it (k3s does not start empty), nothing is left half-made beside it, and the command
// says so in one line with exit 1. Needs root (a small tmpfs holds the data dir).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveMacKey, writeArchive } from '../../hub/backup/archive.js';
import { K3S_SQLITE_MEMBER } from '../../hub/backup/create.js';
import { readClusterSecret } from '../../hub/pki/cluster-secret.js';
import { HUB_BIN, removeTree, runCli, startHub, type HubHandle } from '../helpers/processes.js';
import { fill, mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';
import { sqliteOnly } from '../helpers/test-datastore.js';

const skip = process.getuid?.() !== 0 ? 'needs root (tmpfs)' : sqliteOnly('cluster reset works on a SQLite data dir');
let fs: Tmpfs | undefined;
let work: string | undefined;
let hub: HubHandle | undefined;
after(async () => {
  await hub?.stop('SIGKILL').catch(() => undefined);
  fs?.unmount();
  if (fs) removeTree(fs.work);
  if (work) removeTree(work);
});

test('a full disk during cluster reset leaves the old k3s datastore in place', { skip }, async () => {
  fs = mountTmpfs('24m', 'atoll-reset-full-');
  work = mkdtempSync(join(tmpdir(), 'atoll-reset-full-archive-'));
  const dataDir = join(fs.mnt, 'data');
  hub = await startHub({ dataDir });
  await hub.stop();
  const db = join(dataDir, 'k3s', 'server', 'db');
  mkdirSync(db, { recursive: true });
  const old = randomBytes(64 * 1024);
  writeFileSync(join(db, 'state.db'), old, { mode: 0o600 });
  // A backup (outside the full disk) whose k3s datastore is larger than the room left.
  const archive = join(work, 'big-k3s.atoll-backup');
  writeArchive(
    archive,
    {
      atollVersion: '0.1.0',
      createdAt: new Date().toISOString(),
      datastore: 'sqlite',
      caPin: null,
      secrets: 'none',
      k3s: { kind: 'sqlite', note: '' },
    },
    new Map([
      ['hub.db', Buffer.from('unused')],
      [K3S_SQLITE_MEMBER, randomBytes(4 << 20)],
    ]),
    archiveMacKey(readClusterSecret(join(dataDir, 'cluster-secret')).secret),
  );
  const filler = join(fs.mnt, 'filler');
  const written = fill(filler, 64 << 20);
  truncateSync(filler, written - (512 << 10)); // room for the lock and small files, not the datastore
  const before = readdirSync(join(dataDir, 'k3s', 'server')).sort();

  const r = await runCli(HUB_BIN, ['cluster', 'reset', '--data-dir', dataDir, '--from', archive, '--yes']);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(
    r.stderr,
    /^error: BACKUP_FAILED: cannot write the new k3s datastore .*the old k3s datastore is in place/,
  );
  assert.deepEqual(readFileSync(join(db, 'state.db')), old, 'the old datastore is where k3s looks');
  assert.deepEqual(readdirSync(join(dataDir, 'k3s', 'server')).sort(), before, 'nothing half-made beside it');
});
