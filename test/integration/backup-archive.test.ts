// What `atoll-hub restore` refuses, changing nothing: a truncated archive, one with a byte changed, one
// written by a newer atoll (a higher format version), a wrong passphrase, a data dir that is not empty,
// an archive altered by someone without the cluster secret (its HMAC), an older unsigned one unless accepted.
// And a backup taken during a join storm is consistent: every node in it has its certificate.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { HUB_BIN, removeDir, runCli, startHub, type HubHandle } from '../helpers/processes.js';
import { createToken, rawJoin, stopProc } from '../helpers/bad-input.js';
import { sqliteOnly } from '../helpers/test-datastore.js';
import { FORMAT_VERSION, readArchive } from '../../hub/backup/archive.js';
import { forgeArchive } from '../helpers/forge-archive.js';

const skip = sqliteOnly('it reads the hub.db inside the archives');
let hub: HubHandle;
let work: string;
let archive: string;
const pass = (): string => join(work, 'passphrase');

before(async () => {
  if (skip) return;
  hub = await startHub();
  work = dirname(hub.dataDir);
  await rawJoin(hub, (await createToken(hub)).token, 'before-backup');
  writeFileSync(pass(), 'a passphrase of some length\n', { mode: 0o600 });
  archive = join(work, 'good.atoll-backup');
  const r = await runCli(HUB_BIN, [
    'backup',
    'create',
    '--data-dir',
    hub.dataDir,
    '--passphrase-file',
    pass(),
    '--out',
    archive,
  ]);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  if (skip) return;
  await stopProc(hub.proc);
  removeDir(hub.dataDir);
});

/** Restores `file` into a fresh path under the test dir; the result and whether anything appeared. */
async function restoreInto(
  file: string,
  target: string,
  extra: string[] = ['--passphrase-file', pass()],
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const before = readdirSync(work).sort();
  const r = await runCli(HUB_BIN, ['restore', file, '--data-dir', target, ...extra]);
  if (r.code !== 0) assert.deepEqual(readdirSync(work).sort(), before, 'a refused restore leaves nothing behind');
  return r;
}

function refusedOneLine(r: { code: number | null; stderr: string }, code: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0], code);
  assert.match(lines[0], /nothing was changed/);
}

test('a truncated archive is refused and nothing is written', { skip }, async () => {
  const bytes = readFileSync(archive);
  for (const cut of [bytes.length - 1, Math.floor(bytes.length / 2), 10]) {
    const f = join(work, `cut-${cut}.atoll-backup`);
    writeFileSync(f, bytes.subarray(0, cut));
    const target = join(work, `restored-cut-${cut}`);
    const r = await restoreInto(f, target);
    refusedOneLine(r, /^error: BACKUP_CORRUPT: .* is not a complete atoll backup .*truncated or damaged/);
    assert.equal(existsSync(target), false);
  }
});

test('an archive with one byte changed is refused and nothing is written', { skip }, async () => {
  const bytes = Buffer.from(readFileSync(archive));
  bytes[bytes.length - 200] ^= 0xff; // inside the last member
  const f = join(work, 'flipped.atoll-backup');
  writeFileSync(f, bytes);
  const target = join(work, 'restored-flipped');
  refusedOneLine(await restoreInto(f, target), /^error: BACKUP_CORRUPT: .*checksum does not match/);
  assert.equal(existsSync(target), false);
});

test('an archive written by a newer atoll (a higher format) is refused', { skip }, async () => {
  const f = join(work, 'newer.atoll-backup');
  forgeArchive(archive, f, { format: FORMAT_VERSION + 1 }); // well-formed: its checksum is right
  const target = join(work, 'restored-newer');
  refusedOneLine(
    await restoreInto(f, target),
    new RegExp(
      `^error: BACKUP_TOO_NEW: .* backup format ${FORMAT_VERSION + 1}; this atoll reads format ${FORMAT_VERSION} at most`,
    ),
  );
  assert.equal(existsSync(target), false);
});

/** The archive's hub.db with an API token of the attacker's choosing added. */
function withPlantedToken(): Buffer {
  const file = join(work, 'planted.db');
  writeFileSync(file, readArchive(archive).members.get('hub.db')!);
  const db = new Database(file);
  db.prepare(
    "INSERT INTO api_tokens (id, role, description, secret_hash, created_at, created_by) VALUES ('planted', 'admin', '', ?, ?, 'x')",
  ).run(createHash('sha256').update('chosen').digest('hex'), new Date().toISOString());
  db.pragma('journal_mode = DELETE');
  db.close();
  return readFileSync(file);
}

test(
  'an archive altered by someone without the cluster secret is refused before anything is restored',
  { skip },
  async () => {
    const forged = join(work, 'forged.atoll-backup');
    forgeArchive(archive, forged, { replace: new Map([['hub.db', withPlantedToken()]]) });
    const target = join(work, 'restored-forged');
    refusedOneLine(await restoreInto(forged, target), /^error: BACKUP_SIGNATURE: .*does not carry a valid signature/);
    assert.equal(existsSync(target), false);
    // Written as the older, unsigned format: refused too, unless the operator accepts it unsigned.
    const downgraded = join(work, 'downgraded.atoll-backup');
    forgeArchive(archive, downgraded, { format: 1, replace: new Map([['hub.db', withPlantedToken()]]) });
    refusedOneLine(await restoreInto(downgraded, target), /^error: BACKUP_UNSIGNED: .*no signature.*--accept-unsigned/);
    assert.equal(existsSync(target), false);
    const accepted = await restoreInto(downgraded, target, ['--passphrase-file', pass(), '--accept-unsigned']);
    assert.equal(accepted.code, 0, accepted.stderr);
    // A bare archive (no secrets in it) is checked with the cluster secret given; another one is refused.
    const bare = join(work, 'bare.atoll-backup');
    const made = await runCli(HUB_BIN, ['backup', 'create', '--data-dir', hub.dataDir, '--out', bare]);
    assert.equal(made.code, 0, made.stderr);
    const other = join(work, 'other-secret');
    writeFileSync(other, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const t2 = join(work, 'restored-bare');
    refusedOneLine(await restoreInto(bare, t2, ['--cluster-secret-file', other]), /^error: BACKUP_SIGNATURE: /);
    refusedOneLine(await restoreInto(bare, t2, []), /^error: BACKUP_NEEDS_SECRET: .*--cluster-secret-file/);
    const ok = await restoreInto(bare, t2, ['--cluster-secret-file', join(hub.dataDir, 'cluster-secret')]);
    assert.equal(ok.code, 0, ok.stderr);
  },
);

test('a wrong passphrase, a missing one, and a non-empty data dir are refused', { skip }, async () => {
  const wrong = join(work, 'wrong-pass');
  writeFileSync(wrong, 'not the right passphrase\n', { mode: 0o600 });
  const target = join(work, 'restored-pass');
  refusedOneLine(
    await restoreInto(archive, target, ['--passphrase-file', wrong]),
    /^error: BACKUP_PASSPHRASE: the passphrase does not open/,
  );
  refusedOneLine(await restoreInto(archive, target, []), /^error: BACKUP_NEEDS_SECRET: .*--passphrase-file/);
  assert.equal(existsSync(target), false);
  const full = join(work, 'full-dir');
  mkdirSync(full);
  writeFileSync(join(full, 'keep-me'), 'x');
  refusedOneLine(await restoreInto(archive, full), /^error: RESTORE_TARGET_NOT_EMPTY: .*is not empty/);
  assert.deepEqual(readdirSync(full), ['keep-me']);
  // The good archive restores into an empty one.
  const empty = join(work, 'empty-dir');
  mkdirSync(empty);
  const ok = await restoreInto(archive, empty);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(existsSync(join(empty, 'hub.db')) && existsSync(join(empty, 'cluster-secret')));
});

test('a backup during a join storm is consistent: every node in it has its certificate', { skip }, async () => {
  const token = (await createToken(hub, { reusable: true })).token;
  const JOINS = 60;
  const joins = Promise.all(Array.from({ length: JOINS }, (_, i) => rawJoin(hub, token, `storm-${i}`)));
  const archives: string[] = [];
  const backups = (async () => {
    for (let i = 0; i < 4; i++) {
      const out = join(work, `storm-${i}.atoll-backup`);
      const r = await runCli(HUB_BIN, ['backup', 'create', '--data-dir', hub.dataDir, '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      archives.push(out);
    }
  })();
  await Promise.all([joins, backups]);
  const counts: number[] = [];
  for (const f of archives) {
    const { members } = readArchive(f);
    const file = join(work, 'check.db');
    writeFileSync(file, members.get('hub.db')!);
    const db = new Database(file, { readonly: true });
    try {
      const orphans = db
        .prepare<[], { name: string }>('SELECT name FROM nodes WHERE id NOT IN (SELECT node_id FROM certs)')
        .all();
      assert.deepEqual(orphans, [], `${f}: nodes without a certificate`);
      counts.push(db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM nodes').get()!.n);
    } finally {
      db.close();
    }
  }
  assert.ok(
    counts.every((n) => n >= 1),
    `${counts}`,
  );
  assert.ok(
    counts.some((n) => n > 1),
    `the backups saw the storm: nodes per archive ${counts}`,
  );
});
