// One autoscaler per pool: a pool cluster-autoscaler calls about is externally driven (the built-in
// autoscaler asks externallyDriven and steps aside) until 5 minutes after its last call; the marks
// live in the store, so every hub on it sees them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSqliteStore } from '../../../hub/store/index.js';
import {
  EXTERNAL_DRIVE_TTL_MS,
  ExternalDrive,
  externallyDriven,
  externallyDrivenPools,
} from '../../../hub/autoscale/grpc/external-drive.js';
import { tempDir } from '../store/helpers.js';

test('a pool is externally driven from a call until the TTL after the last one, for every hub on the store', async (t) => {
  const store = await openSqliteStore({ path: join(tempDir(t), 'hub.db') });
  t.after(() => store.close());
  let now = Date.parse('2026-11-30T12:00:00Z');
  const drive = new ExternalDrive(store, () => now);
  assert.equal(await externallyDriven(store, 'web', now), false);
  assert.equal(await drive.mark('web'), true, 'the first call marks the pool');
  assert.equal(await externallyDriven(store, 'web', now), true);
  assert.equal(await externallyDriven(store, 'db', now), false);

  now += 60_000;
  assert.equal(await drive.mark('web'), false, 'a later call refreshes the mark');
  // Another hub's view of the same store.
  now += EXTERNAL_DRIVE_TTL_MS - 1_000;
  assert.deepEqual([...(await externallyDrivenPools(store, now))], ['web']);
  now += 2_000;
  assert.equal(await externallyDriven(store, 'web', now), false, 'silent for the TTL: the pool is given back');

  assert.equal(await drive.mark('web'), true);
  await drive.clear('web');
  assert.equal(await externallyDriven(store, 'web', now), false);
});
