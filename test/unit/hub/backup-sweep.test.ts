// What a backup killed midway leaves in the backups folder (its work folder, its half-written archive)
// is swept once a day old; younger leftovers may be another hub's backup in flight and stay, and
// nothing of another shape is touched (archives, the operator's own files, other dot-files).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STALE_TEMP_MS, sweepStaleTemps } from '../../../hub/backup/list.js';
import { removeTree } from '../../helpers/processes.js';

test('stale leftovers of a cut-off backup are swept; young ones and everything else stay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-sweep-'));
  try {
    const now = Date.now();
    const old = (now - STALE_TEMP_MS - 60_000) / 1000;
    const make = (name: string, ageSec: number, folder = false): void => {
      const p = join(dir, name);
      if (folder) {
        mkdirSync(p);
        writeFileSync(join(p, 'hub.db'), 'x');
      } else writeFileSync(p, 'x');
      utimesSync(p, ageSec, ageSec);
    };
    make('.backup-work-AbC123', old, true); // a killed backup's work folder
    make('.atoll-2026-01-01T00-00-00-000Z.atoll-backup.4242.tmp', old); // its half-written archive
    make('.backup-work-Young1', now / 1000, true); // another hub's backup in flight
    make('.atoll-2026-01-02T00-00-00-000Z.atoll-backup.7.tmp', now / 1000);
    make('atoll-2026-01-01T00-00-00-000Z.atoll-backup', old); // an archive: pruning's job, not this
    make('.operator-notes.tmp', old);
    make('.backup-work-not_mkdtemp', old); // not a name mkdtemp makes
    const removed = sweepStaleTemps(dir, Date.now());
    assert.deepEqual(removed.sort(), ['.atoll-2026-01-01T00-00-00-000Z.atoll-backup.4242.tmp', '.backup-work-AbC123']);
    assert.deepEqual(readdirSync(dir).sort(), [
      '.atoll-2026-01-02T00-00-00-000Z.atoll-backup.7.tmp',
      '.backup-work-Young1',
      '.backup-work-not_mkdtemp',
      '.operator-notes.tmp',
      'atoll-2026-01-01T00-00-00-000Z.atoll-backup',
    ]);
    assert.deepEqual(sweepStaleTemps(join(dir, 'missing')), [], 'a missing folder is nothing to sweep');

    // On the folder's own clock (what the schedule uses): a hub whose clock runs a day ahead would
    // have swept the young ones; here only the day-old one goes, and the clock probe is not left.
    make('.backup-work-Old2', old, true);
    assert.deepEqual(sweepStaleTemps(dir), ['.backup-work-Old2']);
    assert.deepEqual(
      sweepStaleTemps(dir, now + STALE_TEMP_MS + 60_000).sort(),
      ['.atoll-2026-01-02T00-00-00-000Z.atoll-backup.7.tmp', '.backup-work-Young1'],
      'what a clock a day ahead would have swept',
    );
    assert.ok(!readdirSync(dir).some((n) => n.startsWith('.atoll-clock-')));
  } finally {
    removeTree(dir);
  }
});
