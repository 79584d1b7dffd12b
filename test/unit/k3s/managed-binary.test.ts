// The control plane's managed k3s binary: install checks the SHA-256 and --version before changing
// anything, keeps what ran for a rollback, survives a restart (preferManaged), and restores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  installManaged,
  preferManaged,
  restorePrevious,
  readManagedState,
  ManagedBinaryError,
} from '../../../hub/k3s/managed-binary.js';
import { dataDirBinary, probeBinary } from '../../../hub/k3s/binary.js';

function fakeK3s(path: string, version: string): string {
  writeFileSync(path, `#!/bin/sh\necho "k3s version ${version} (0123abcd)"\n`, { mode: 0o755 });
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

test('install from an external binary, prefer it at start, restore the external one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-managed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ext = join(dir, 'k3s-old');
  fakeK3s(ext, 'v1.31.4+k3s1');
  const art = join(dir, 'artifact');
  const sha = fakeK3s(art, 'v1.31.5+k3s1');
  const configured = await probeBinary(ext);
  assert.equal((await preferManaged(configured, dir)).binary, configured, 'nothing installed: the configured one runs');

  await assert.rejects(
    installManaged(dir, { path: ext, version: 'v1.31.4+k3s1' }, art, 'f'.repeat(64), 'v1.31.5+k3s1'),
    (e: ManagedBinaryError) => e.code === 'CP_ARTIFACT_INVALID' && /nothing was changed/.test(e.message),
  );
  await assert.rejects(
    installManaged(dir, { path: ext, version: 'v1.31.4+k3s1' }, art, sha, 'v1.31.6+k3s1'),
    /says it is v1\.31\.5\+k3s1/,
  );
  assert.equal(existsSync(dataDirBinary(dir)), false);
  assert.equal(readManagedState(dir), undefined);

  await installManaged(dir, { path: ext, version: 'v1.31.4+k3s1' }, art, sha, 'v1.31.5+k3s1');
  const chosen = await preferManaged(configured, dir);
  assert.deepEqual(chosen.binary.kind === 'found' && [chosen.binary.path, chosen.binary.version], [
    dataDirBinary(dir),
    'v1.31.5+k3s1',
  ]);
  assert.match(chosen.note!, /installed by a control-plane upgrade \(newer than v1\.31\.4\+k3s1/);
  // An operator who points --k3s at something newer gets that.
  const newer = join(dir, 'k3s-newer');
  fakeK3s(newer, 'v1.32.0+k3s1');
  assert.equal(
    (await preferManaged(await probeBinary(newer), dir)).binary.kind === 'found' &&
      ((await preferManaged(await probeBinary(newer), dir)).binary as { path: string }).path,
    newer,
  );

  assert.deepEqual(restorePrevious(dir), { path: ext, version: 'v1.31.4+k3s1' });
  assert.equal(existsSync(dataDirBinary(dir)), false);
  assert.equal((await preferManaged(configured, dir)).binary, configured);
  assert.throws(() => restorePrevious(dir), /no previous k3s binary/);
});

test('install over a managed binary keeps it as k3s.previous and restores it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-managed-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'k3s', 'bin'), { recursive: true });
  const cur = dataDirBinary(dir);
  fakeK3s(cur, 'v1.31.5+k3s1');
  const art = join(dir, 'artifact');
  const sha = fakeK3s(art, 'v1.32.1+k3s1');
  await installManaged(dir, { path: cur, version: 'v1.31.5+k3s1' }, art, sha, 'v1.32.1+k3s1');
  assert.match(readFileSync(cur, 'utf8'), /v1\.32\.1/);
  assert.match(readFileSync(`${cur}.previous`, 'utf8'), /v1\.31\.5/);
  assert.deepEqual(restorePrevious(dir), { path: cur, version: 'v1.31.5+k3s1' });
  assert.match(readFileSync(cur, 'utf8'), /v1\.31\.5/);
  assert.equal(existsSync(`${cur}.previous`), false);
});
