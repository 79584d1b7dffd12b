// waitAtMost (certs/wait-at-most.ts): true when the promise settles in time, fulfilled or rejected
// (the rejection is not thrown here), false when the time runs out first.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitAtMost } from '../../../certs/wait-at-most.js';

test('settled in time, fulfilled or rejected: true; still pending at the limit: false', async () => {
  assert.equal(await waitAtMost(sleep(5), 1_000), true);
  assert.equal(await waitAtMost(Promise.reject(new Error('failed')), 1_000), true);
  const started = Date.now();
  assert.equal(await waitAtMost(new Promise(() => undefined), 50), false);
  assert.ok(Date.now() - started < 1_000);
});
