// Pruning and the backup age do not trust the manifest alone: an archive dated in the future or cut
// short is listed as damaged and never counts as the newest good one, and pruning keeps the newest
// archive that reads back whole and carries the hub's signature, whatever sorts before it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeArchive } from '../../hub/backup/archive.js';
import { listBackups, pruneBackups } from '../../hub/backup/list.js';
import { HUB_BIN, removeTree, runCli } from '../helpers/processes.js';
import { forgeArchive } from '../helpers/forge-archive.js';

let work: string;
let dir: string;
const key = randomBytes(32);
const HOUR = 3_600_000;

function archive(name: string, createdMs: number, incomplete?: string, folder = dir): string {
  const path = join(folder, `${name}.atoll-backup`);
  writeArchive(
    path,
    {
      atollVersion: '0.1.0',
      createdAt: new Date(createdMs).toISOString(),
      datastore: 'sqlite',
      caPin: null,
      secrets: 'none',
      k3s: { kind: 'none', note: '' },
      ...(incomplete ? { incomplete } : {}),
    },
    new Map([['hub.db', randomBytes(4096)]]),
    key,
  );
  utimesSync(path, createdMs / 1000, createdMs / 1000);
  return path;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'atoll-backup-prune-'));
  dir = join(work, 'data', 'backups');
  mkdirSync(dir, { recursive: true });
});
after(() => removeTree(work));

test('a future-dated, a truncated and a forged archive do not get the real ones pruned', async () => {
  const now = Date.now();
  const older = archive('real-older', now - 2 * HOUR);
  const newest = archive('real-newest', now - HOUR);
  forgeArchive(newest, join(dir, 'future.atoll-backup'), {
    manifest: { createdAt: new Date(now + 365 * 24 * HOUR).toISOString() },
  });
  const cut = archive('truncated', now - 60_000);
  writeFileSync(cut, readFileSync(cut).subarray(0, 2000));
  // Right size, right date, but not signed with the hub's key.
  forgeArchive(newest, join(dir, 'forged.atoll-backup'), {
    manifest: { createdAt: new Date(now - 30_000).toISOString() },
  });

  const rows = await listBackups(dir, now);
  const problem = (n: string): string | null | undefined => rows.find((r) => r.name === n)?.problem;
  assert.match(problem('future.atoll-backup') ?? '', /in the future/);
  assert.match(problem('truncated.atoll-backup') ?? '', /bytes, the manifest makes it \d+: truncated/);
  const firstGood = rows.find((r) => r.problem === null);
  assert.ok(firstGood && Date.parse(firstGood.createdAt) <= now, 'the newest good archive is not in the future');

  const listed = await runCli(HUB_BIN, ['backup', 'list', '--data-dir', join(work, 'data')]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /future\.atoll-backup .*DAMAGED: the manifest dates it in the future/);

  const removed = await pruneBackups(dir, 1, key);
  assert.deepEqual(removed, ['real-older.atoll-backup']);
  assert.ok(existsSync(newest), 'the newest archive that checks out is kept');
  assert.ok(existsSync(older) === false);
  assert.ok(existsSync(cut) && existsSync(join(dir, 'future.atoll-backup')), 'damaged ones are left to the operator');
});

test('archives made while k3s was down do not get the last complete one pruned, and are listed as incomplete', async () => {
  const now = Date.now();
  const folder = join(work, 'k3s-down');
  mkdirSync(folder);
  const complete = archive('complete', now - 5 * HOUR, undefined, folder);
  const down = [1, 2, 3].map((i) =>
    archive(`k3s-down-${i}`, now - (4 - i) * HOUR, 'no Kubernetes objects: k3s is not running', folder),
  );
  const rows = await listBackups(folder, now);
  assert.deepEqual(
    rows.map((r) => [r.name, r.problem, r.incomplete]),
    [
      ['k3s-down-3.atoll-backup', null, 'no Kubernetes objects: k3s is not running'],
      ['k3s-down-2.atoll-backup', null, 'no Kubernetes objects: k3s is not running'],
      ['k3s-down-1.atoll-backup', null, 'no Kubernetes objects: k3s is not running'],
      ['complete.atoll-backup', null, null],
    ],
  );
  const removed = await pruneBackups(folder, 2, key);
  assert.deepEqual(removed, ['k3s-down-1.atoll-backup'], 'the older incomplete one goes, the complete one stays');
  assert.ok(existsSync(complete) && existsSync(down[1]) && existsSync(down[2]));

  const listed = await runCli(HUB_BIN, ['backup', 'list', '--data-dir', join(work, 'data'), '--backup-dir', folder]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /k3s-down-3\.atoll-backup .*INCOMPLETE: no Kubernetes objects: k3s is not running/);
  assert.doesNotMatch(listed.stdout.split('\n').find((l) => l.includes('complete.atoll-backup')) ?? 'x', /INCOMPLETE/);
});
