// What a restore reads is bounded: a file larger than any atoll backup is refused before it is read,
// and a member that unpacks to more than an archive holds (a gzip bomb) is refused once it passes the
// bound, not unpacked whole. One line, exit 1, nothing written.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { ARCHIVE_LIMITS, MAGIC, writeArchive } from '../../hub/backup/archive.js';
import { HUB_BIN, removeTree, runCli } from '../helpers/processes.js';
import { forgeArchive } from '../helpers/forge-archive.js';

let work: string;
let good: string;

/** gzip of `bytes` zeros, streamed (the zeros are never held whole). */
async function gzipZeros(bytes: number): Promise<Buffer> {
  const gz = createGzip({ level: 1 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((resolve, reject) => gz.on('end', resolve).on('error', reject));
  const chunk = Buffer.alloc(1 << 20);
  for (let left = bytes; left > 0; left -= chunk.length) {
    const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
    if (!gz.write(part)) await new Promise((resolve) => gz.once('drain', resolve));
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'atoll-backup-bounds-'));
  good = join(work, 'good.atoll-backup');
  writeArchive(
    good,
    {
      atollVersion: '0.1.0',
      createdAt: new Date().toISOString(),
      datastore: 'sqlite',
      caPin: null,
      secrets: 'none',
      k3s: { kind: 'none', note: '' },
    },
    new Map([['hub.db', Buffer.from('small')]]),
    randomBytes(32),
  );
});
after(() => removeTree(work));

function refused(r: { code: number | null; stderr: string }, re: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, re);
}

test('a gzip bomb in an archive is refused without unpacking it whole', async () => {
  const bomb = join(work, 'bomb.atoll-backup');
  forgeArchive(good, bomb, { rawStored: new Map([['hub.db', await gzipZeros(ARCHIVE_LIMITS.unpackedBytes + 1)]]) });
  const target = join(work, 'from-bomb');
  const r = await runCli(HUB_BIN, ['restore', bomb, '--data-dir', target, '--accept-unsigned'], {}, 60_000);
  refused(
    r,
    /^error: BACKUP_TOO_LARGE: .*member hub\.db unpacks to more than an atoll backup holds.*nothing was changed/,
  );
  assert.equal(existsSync(target), false);
});

test('a file larger than any archive is refused before it is read', async () => {
  const huge = join(work, 'huge.atoll-backup');
  const fd = openSync(huge, 'w');
  writeSync(fd, readFileSync(good).subarray(0, MAGIC.length + 4));
  writeSync(fd, Buffer.from([0]), 0, 1, ARCHIVE_LIMITS.fileBytes); // sparse: no disk used
  closeSync(fd);
  const target = join(work, 'from-huge');
  const r = await runCli(HUB_BIN, ['restore', huge, '--data-dir', target, '--accept-unsigned']);
  refused(r, /^error: BACKUP_TOO_LARGE: .*huge\.atoll-backup is 1024 MiB, more than an atoll backup can be/);
  assert.equal(existsSync(target), false);
});
