import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { checkSecretFileMode, FileModeError, writePublicFile, writeSecretFile } from '../../../certs/index.js';

let dir: string;
let oldUmask: number;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'atoll-certs-files-'));
  oldUmask = process.umask(0);
});

after(() => {
  process.umask(oldUmask);
  rmSync(dir, { recursive: true, force: true });
});

const modeOf = (p: string): number => statSync(p).mode & 0o777;

test('writeSecretFile makes a 0600 file even with umask 0, and a 0700 parent', () => {
  const p = join(dir, 'agent', 'node.key');
  writeSecretFile(p, 'secret-1');
  assert.equal(modeOf(p), 0o600);
  assert.equal(modeOf(join(dir, 'agent')), 0o700);
  assert.equal(readFileSync(p, 'utf8'), 'secret-1');
  checkSecretFileMode(p);
});

test('writeSecretFile replaces an existing world-readable file atomically and leaves no temp file', () => {
  const p = join(dir, 'admin-token');
  writeFileSync(p, 'old', { mode: 0o644 });
  writeSecretFile(p, new Uint8Array([1, 2, 3]));
  assert.equal(modeOf(p), 0o600);
  assert.deepEqual([...readFileSync(p)], [1, 2, 3]);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.endsWith('.tmp')),
    [],
  );
});

test('writePublicFile makes a 0644 file', () => {
  const p = join(dir, 'ca.crt');
  writePublicFile(p, 'cert');
  assert.equal(modeOf(p), 0o644);
  assert.equal(readFileSync(p, 'utf8'), 'cert');
});

test('checkSecretFileMode rejects 0644 with the file, its mode and the fix', () => {
  const p = join(dir, 'loose.key');
  writeFileSync(p, 'x');
  chmodSync(p, 0o644);
  assert.throws(
    () => checkSecretFileMode(p),
    (err: unknown) => {
      assert.ok(err instanceof FileModeError);
      assert.equal(err.code, 'INSECURE_PERMISSIONS');
      assert.match(err.message, new RegExp(`${p}.*0644`));
      assert.ok(err.message.includes(`chmod 600 ${p}`));
      return true;
    },
  );
  chmodSync(p, 0o640);
  assert.throws(() => checkSecretFileMode(p), FileModeError);
  chmodSync(p, 0o400);
  checkSecretFileMode(p);
});
