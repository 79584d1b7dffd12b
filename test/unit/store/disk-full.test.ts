import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteStore, StoreError } from '../../../hub/store/index.js';
import { tempDir } from './helpers.js';

// A database capped at its current size (max_page_count) fails like a full disk, without root or tmpfs.
test('a full database gives DISK_FULL, loses nothing acknowledged, and still serves reads', async (t) => {
  const path = join(tempDir(t), 'hub.db');
  const store = await openSqliteStore({ path, maxSizeBytes: 1 });
  t.after(() => store.close());
  const blob = 'x'.repeat(4096);
  const written: number[] = [];
  let failure: unknown;
  for (let i = 0; i < 200 && failure === undefined; i++) {
    try {
      written.push((await store.appendEvent({ type: 'fill', actor: 'test', message: String(i), data: { blob } })).id);
    } catch (err) {
      failure = err;
    }
  }
  assert.ok(failure instanceof StoreError, `expected a StoreError, got ${String(failure)}`);
  assert.equal(failure.code, 'DISK_FULL');
  assert.match(failure.message, /^the hub data disk is full: /);

  assert.deepEqual(
    (await store.listEvents({ limit: 1000 })).map((e) => e.id),
    written,
  );
  assert.ok(await store.getPool('default'));
  await assert.rejects(
    store.setSetting('big', blob.repeat(10)),
    (e: unknown) => e instanceof StoreError && e.code === 'DISK_FULL',
  );
  assert.equal(await store.getSetting('big'), undefined);
});
