// Scheduled backups' flags, parsed once in hub/config.ts: --backup-interval is taken on PostgreSQL as
// on SQLite (there one hub, the `backups` leader, writes them), --backup-dir / ATOLL_BACKUP_DIR names
// the folder (default <data-dir>/backups), and bad values are refused naming the flag.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { parseHubConfig, type HubFlags } from '../../../hub/config.js';
import { ConfigError } from '../../../hub/errors.js';
import { removeTree } from '../../helpers/processes.js';

const base: HubFlags = { dataDir: '/var/lib/atoll-test', publicUrl: 'https://hub.example:9444' };
const pg = { ATOLL_DATASTORE: 'postgres://atoll:pw@db.internal:5432/atoll' };
const tmp = mkdtempSync(join(tmpdir(), 'atoll-config-backup-'));
after(() => removeTree(tmp));

test('--backup-interval is accepted on PostgreSQL, into <data-dir>/backups by default', () => {
  const c = parseHubConfig({ ...base, backupInterval: '6h', backupKeep: '3' }, pg, false);
  assert.equal(c.datastore.kind, 'postgres');
  assert.deepEqual(c.backup, {
    intervalMs: 6 * 3_600_000,
    keep: 3,
    passphraseFile: null,
    dir: '/var/lib/atoll-test/backups',
  });
  const sqlite = parseHubConfig({ ...base, backupInterval: '6h' }, {}, false);
  assert.equal(sqlite.backup.intervalMs, 6 * 3_600_000);
  assert.equal(sqlite.backup.dir, join(base.dataDir!, 'backups'));
  assert.equal(parseHubConfig(base, pg, false).backup.intervalMs, 0, 'off unless given');
});

test('--backup-dir or ATOLL_BACKUP_DIR (the flag wins), resolved; a file there is refused', () => {
  const shared = join(tmp, 'nfs', 'atoll-backups');
  assert.equal(
    parseHubConfig({ ...base, backupDir: shared }, pg, false).backup.dir,
    shared,
    'made at the first backup',
  );
  assert.equal(parseHubConfig(base, { ...pg, ATOLL_BACKUP_DIR: tmp }, false).backup.dir, tmp);
  assert.equal(parseHubConfig({ ...base, backupDir: shared }, { ATOLL_BACKUP_DIR: tmp }, false).backup.dir, shared);
  assert.equal(parseHubConfig({ ...base, backupDir: 'rel/dir' }, {}, false).backup.dir, resolve('rel/dir'));
  const file = join(tmp, 'a-file');
  writeFileSync(file, 'x');
  const refuses = (flags: HubFlags, re: RegExp) =>
    assert.throws(
      () => parseHubConfig({ ...base, ...flags }, pg, false),
      (err: unknown) => err instanceof ConfigError && re.test(err.message),
    );
  refuses({ backupDir: file }, /^--backup-dir: .*a-file is not a folder/);
  refuses({ backupDir: ' ' }, /^--backup-dir: give a folder path/);
  refuses({ backupInterval: '10s' }, /^--backup-interval must be off or at least 1m/);
});
