// An admin token rotation when a hub cannot write its admin-token file (a full disk, a broken mount):
// the old token is refused all the same on every hub (security first); the rotation says the file is
// missing; the file is written at the next reload once it can be. A single SQLite hub, whose file is
// the only copy, changes nothing when the file cannot be written. A rotation whose store answer is lost
// after the commit holds (what is stored decides). Real sealing, a real file system.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminToken } from '../../../hub/cluster/admin-token.js';
import { createLogger } from '../../../hub/logger.js';
import type { SecretStore } from '../../../hub/store/secret-types.js';
import { removeTree } from '../../helpers/processes.js';

function memoryStore(): SecretStore {
  const m = new Map<string, Buffer>();
  return {
    getSecret: async (n) => m.get(n),
    putSecretIfAbsent: async (n, b) => {
      if (!m.has(n)) m.set(n, b);
      return m.get(n) as Buffer;
    },
    replaceSecret: async (n, b) => void m.set(n, b),
    replaceK3sTokenSecret: async () => false,
  };
}

test('a hub that cannot write its file still refuses the old token, and writes the file once it can', async () => {
  const work = mkdtempSync(join(tmpdir(), 'atoll-admin-file-'));
  try {
    const logger = createLogger('silent');
    const key = { secret: randomBytes(32), source: 'test' };
    const store = memoryStore();
    const old = 'old-admin-token-'.padEnd(40, 'x');
    const aDir = join(work, 'a');
    mkdirSync(aDir);
    const a = new AdminToken(join(aDir, 'admin-token'), old, true, store, key, logger);
    // Hub B's data dir is unusable: its parent is a file, so no file can be written under it.
    const bDir = join(work, 'b');
    writeFileSync(bDir, 'not a folder');
    const b = new AdminToken(join(bDir, 'admin-token'), old, true, store, key, logger);

    const r = await a.rotate();
    assert.equal(r.fileError, undefined);
    const fresh = readFileSync(join(aDir, 'admin-token'), 'utf8').trim();
    assert.ok(a.matches(fresh) && !a.matches(old));

    assert.equal(await b.reload(), true);
    assert.ok(!b.matches(old), 'B refuses the old token though it could not write its file');
    assert.ok(b.matches(fresh));

    // B's disk is fixed: the next reload writes the file, though the token did not change again.
    rmSync(bDir);
    mkdirSync(bDir);
    await b.reload();
    assert.equal(readFileSync(join(bDir, 'admin-token'), 'utf8').trim(), fresh);

    // A rotation through a hub that cannot write its file: done all the same, and it says so.
    rmSync(bDir, { recursive: true });
    writeFileSync(bDir, 'not a folder');
    const viaB = await b.rotate();
    assert.equal(viaB.scope, 'cluster');
    assert.match(viaB.fileError ?? '', /ENOTDIR|EEXIST|not a directory/);
    assert.ok(!b.matches(fresh), 'the token before is refused on the hub that rotated');
    await a.reload();
    const newest = readFileSync(join(aDir, 'admin-token'), 'utf8').trim();
    assert.ok(b.matches(newest) && !a.matches(fresh));
  } finally {
    removeTree(work);
  }
});

test('one SQLite hub whose file cannot be written: the rotation fails and the old token still works', async () => {
  const work = mkdtempSync(join(tmpdir(), 'atoll-admin-file-'));
  try {
    const old = 'sqlite-admin-token-'.padEnd(40, 'y');
    writeFileSync(join(work, 'data'), 'not a folder');
    const t = new AdminToken(
      join(work, 'data', 'admin-token'),
      old,
      false,
      memoryStore(),
      {
        secret: randomBytes(32),
        source: 'test',
      },
      createLogger('silent'),
    );
    await assert.rejects(t.rotate());
    assert.ok(t.matches(old), 'the file is the only copy: without it nothing changed');
  } finally {
    removeTree(work);
  }
});

test('a rotation whose store answer is lost: it holds when the new token was stored, else nothing changed', async () => {
  const work = mkdtempSync(join(tmpdir(), 'atoll-admin-lost-'));
  try {
    const logger = createLogger('silent');
    const key = { secret: randomBytes(32), source: 'test' };
    const old = 'lost-reply-admin-token-'.padEnd(40, 'z');
    const store = memoryStore();
    const replace = store.replaceSecret;
    let commitFirst = true;
    store.replaceSecret = async (n, b) => {
      if (commitFirst) await replace(n, b);
      throw new Error('Connection terminated unexpectedly');
    };
    const t = new AdminToken(join(work, 'admin-token'), old, true, store, key, logger);
    const r = await t.rotate();
    const fresh = readFileSync(join(work, 'admin-token'), 'utf8').trim();
    assert.equal(r.scope, 'cluster');
    assert.ok(t.matches(fresh) && !t.matches(old), 'the stored token is the one in force');

    commitFirst = false; // the statement never reached the database
    await assert.rejects(t.rotate(), /Connection terminated/);
    assert.ok(t.matches(fresh), 'nothing changed');
    assert.equal(readFileSync(join(work, 'admin-token'), 'utf8').trim(), fresh);
  } finally {
    removeTree(work);
  }
});
