// The autoheal pool cap: its share of the pool, and always at least one node (a pool of 2 at 40 %
// is repaired); 0 % repairs nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedUnhealthy } from '../../../hub/autoheal/settings.js';

test('the cap allows its share of the pool, and at least one node', () => {
  const cases: Array<[size: number, percent: number, allowed: number]> = [
    [1, 40, 1],
    [2, 40, 1],
    [3, 40, 1],
    [5, 40, 2],
    [10, 40, 4],
    [11, 40, 4],
    [100, 40, 40],
    [2, 50, 1],
    [4, 50, 2],
    [3, 100, 3],
    [10, 5, 1],
    [10, 0, 0],
    [0, 40, 0],
  ];
  for (const [size, percent, allowed] of cases)
    assert.equal(allowedUnhealthy(size, percent), allowed, `${size} nodes at ${percent}%`);
});
