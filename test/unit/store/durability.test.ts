import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openSqliteStore } from '../../../hub/store/index.js';
import { tempDir } from './helpers.js';

const fixture = fileURLToPath(new URL('./fixtures/append-events.ts', import.meta.url));

/** Runs the fixture, SIGKILLs it after `killAfter` acknowledged ids, and returns every id it printed. */
function runAndKill(path: string, killAfter: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fixture too slow: ${err}`));
    }, 20_000);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!killed && out.split('\n').length - 2 >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`fixture exited with ${code}: ${err}`));
        return;
      }
      // Only complete lines count: a torn last line was never fully printed.
      const lines = out.split('\n').slice(0, -1);
      assert.equal(lines[0], 'ready');
      resolve(lines.slice(1).map(Number));
    });
  });
}

test('every event acknowledged before a SIGKILL survives it', { timeout: 30_000 }, async (t) => {
  const path = join(tempDir(t), 'hub.db');
  const acknowledged: number[] = [];
  for (const killAfter of [150 + Math.floor(Math.random() * 200), 50 + Math.floor(Math.random() * 100)]) {
    const ids = await runAndKill(path, killAfter);
    assert.ok(ids.length >= killAfter, `only ${ids.length} ids printed`);
    acknowledged.push(...ids);
  }
  const store = await openSqliteStore({ path });
  t.after(() => store.close());
  const present = new Set<number>();
  for (let since = 0; ; ) {
    const page = await store.listEvents({ since, limit: 1000 });
    if (page.length === 0) break;
    for (const e of page) present.add(e.id);
    since = page[page.length - 1].id;
  }
  const missing = acknowledged.filter((id) => !present.has(id));
  assert.deepEqual(missing, [], `${missing.length} of ${acknowledged.length} acknowledged events were lost`);
  assert.equal(new Set(acknowledged).size, acknowledged.length, 'ids are never reused across restarts');
  t.diagnostic(`${acknowledged.length} acknowledged events survived two SIGKILLs`);
});
