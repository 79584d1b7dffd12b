// The provider hook runner (hub/autoheal/hook.ts, hook-process.ts) with real executables: the
// deadline bounds a hook even when it left a background child holding its stdout or ignores SIGTERM,
// and its process group is stopped; a hook that answered and left a child running is not kept waiting
// on; only {"ok": true} is success; the hub's own secrets are not in its environment; join tokens it
// echoes are not kept in its message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runHook } from '../../../hub/autoheal/hook.js';
import { removeTree } from '../../helpers/processes.js';

function hook(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o700);
  return p;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('a hook that answers and leaves a child holding its stdout is read at once, not after the child', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-hook-'));
  t.after(() => removeTree(dir));
  const p = hook(dir, 'h', `(sleep 30) & echo $! > ${dir}/child\necho '{"ok":true,"machineId":"m1"}'`);
  const t0 = Date.now();
  const r = await runHook(p, { action: 'create', pool: 'p', cloudInit: '#cloud-config' }, 5000);
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  assert.deepEqual(r, { ok: true, message: '', machineId: 'm1' });
  process.kill(Number(readFileSync(join(dir, 'child'), 'utf8')), 'SIGKILL');
});

test('the deadline stops a hook that ignores SIGTERM, and its whole process group', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-hook-'));
  t.after(() => removeTree(dir));
  const p = hook(dir, 'h', `trap '' TERM\n(trap '' TERM; sleep 60) & echo $! > ${dir}/child\nsleep 60`);
  const t0 = Date.now();
  const r = await runHook(p, { action: 'capabilities', pool: 'p' }, 800);
  const took = Date.now() - t0;
  assert.equal(r.ok, false);
  assert.match(r.message, /timed out after 800 ms/);
  assert.ok(took < 2000, `answered after ${took} ms`);
  const child = Number(readFileSync(join(dir, 'child'), 'utf8'));
  const deadline = Date.now() + 6000;
  while (alive(child) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
  assert.equal(alive(child), false, 'the background child of the hook was not stopped');
});

test("only an explicit ok: true is success; the hub's ATOLL_/K3S_ variables are not passed; tokens are redacted", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-hook-'));
  t.after(() => removeTree(dir));
  assert.equal((await runHook(hook(dir, 'a', `echo '{}'`), { action: 'capabilities', pool: 'p' })).ok, false);
  assert.equal((await runHook(hook(dir, 'b', `echo '{"ok":"yes"}'`), { action: 'capabilities', pool: 'p' })).ok, false);
  process.env.ATOLL_DATASTORE = 'postgres://atoll:s3cret@db/atoll';
  process.env.K3S_TOKEN = 'K10secret';
  process.env.CLOUD_TEST_CREDENTIAL = 'kept';
  try {
    await runHook(hook(dir, 'env', `env > ${dir}/env.txt; echo '{"ok":true}'`), { action: 'capabilities', pool: 'p' });
  } finally {
    delete process.env.ATOLL_DATASTORE;
    delete process.env.K3S_TOKEN;
    delete process.env.CLOUD_TEST_CREDENTIAL;
  }
  const env = readFileSync(join(dir, 'env.txt'), 'utf8');
  assert.doesNotMatch(env, /s3cret|ATOLL_DATASTORE|K3S_TOKEN/);
  assert.match(env, /CLOUD_TEST_CREDENTIAL=kept/, "the operator's own variables stay");
  const token = `AT1${'a'.repeat(64)}::abcd1234.${'x'.repeat(32)}`;
  const r = await runHook(
    hook(dir, 'echo', `echo '{"ok":false,"message":"cloud said: bad user-data with ${token}"}'`),
    { action: 'create', pool: 'p', cloudInit: token },
  );
  assert.equal(r.ok, false);
  assert.doesNotMatch(r.message, /abcd1234\.x/);
  assert.match(r.message, /\[redacted\]/);
});

test('a hook that prints more than 1 MiB is stopped and refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-hook-'));
  t.after(() => removeTree(dir));
  const r = await runHook(
    hook(dir, 'big', `yes x | head -c 3000000; sleep 30`),
    { action: 'capabilities', pool: 'p' },
    10_000,
  );
  assert.equal(r.ok, false);
  assert.match(r.message, /more than 1 MiB/);
});
