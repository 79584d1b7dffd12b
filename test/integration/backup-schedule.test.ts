// Scheduled backups in `atoll-hub run`: an archive per --backup-interval into <data-dir>/backups, the
// newest --backup-keep kept, a backup.created event each; the age of the last good one as a metric;
// when backups fail for longer than two intervals, the backup-too-old alert.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { removeDir, scrapeMetrics, startHub, waitFor, type HubHandle } from '../helpers/processes.js';
import { stopProc } from '../helpers/bad-input.js';
import { readArchive } from '../../hub/backup/archive.js';

let hub: HubHandle | undefined;
after(async () => {
  if (!hub) return;
  await stopProc(hub.proc);
  removeDir(hub.dataDir);
});

interface Alert {
  id: string;
  severity: string;
  message: string;
}

test('every interval a backup, the newest --backup-keep kept, the age metric; failing backups raise backup-too-old', async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'atoll-backup-schedule-')), 'data');
  const passFile = join(dirname(dataDir), 'passphrase');
  writeFileSync(passFile, 'scheduled passphrase\n', { mode: 0o600 });
  hub = await startHub({
    dataDir,
    extraArgs: ['--backup-interval', '1s', '--backup-keep', '2', '--backup-passphrase-file', passFile],
    env: { ATOLL_TEST_MIN_BACKUP_INTERVAL_MS: '1000' },
  });
  const h = hub;
  const backups = join(dataDir, 'backups');
  const archives = (): string[] => readdirSync(backups).filter((f) => f.endsWith('.atoll-backup'));
  const eventsOf = async (type: string): Promise<{ type: string; message: string }[]> =>
    (await h.api<{ items: { type: string; message: string }[] }>('GET', `/v1/events?type=${type}&limit=100`)).body
      .items;
  await waitFor(
    'three scheduled backups, two kept',
    async () => (await eventsOf('backup.created')).length >= 3 && archives().length === 2,
    20_000,
  );
  const { manifest } = readArchive(join(backups, archives()[0]));
  assert.equal(manifest.secrets, 'passphrase', 'the cluster secret is sealed in with --backup-passphrase-file');
  const metrics = (await scrapeMetrics(h)).body;
  const age = /^atoll_hub_backup_last_success_age_seconds (\S+)$/m.exec(metrics);
  assert.ok(age, 'the age metric is exported');
  assert.ok(Number(age[1]) >= 0 && Number(age[1]) < 10, `age ${age[1]}`);
  const alerts = async (): Promise<Alert[]> => (await h.api<{ items: Alert[] }>('GET', '/v1/alerts')).body.items;
  assert.equal((await alerts()).filter((a) => a.id === 'backup-too-old').length, 0);

  // The passphrase file goes away: every scheduled backup fails from now on.
  rmSync(passFile);
  await waitFor('a backup.failed event', async () => (await eventsOf('backup.failed')).length >= 1, 10_000);
  const alert = await waitFor(
    'the backup-too-old alert',
    async () => (await alerts()).find((a) => a.id === 'backup-too-old'),
    20_000,
  );
  assert.equal(alert.severity, 'warning');
  assert.match(alert.message, /the last good backup is from .*more than two backup intervals/);
  assert.ok(archives().length <= 2, 'a failed backup leaves no archive behind');
  assert.deepEqual(
    readdirSync(backups).filter((f) => f.startsWith('.')),
    [],
    'no temp files left',
  );
});
