// Version support: the bundled data as upstream publishes it, a version's status on any date (a
// fake "now"), the checks an imported document must pass, and what auto-upgrade picks for a
// cluster past its end of life.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BUNDLED_SUPPORT,
  SupportDataError,
  mergeSupport,
  parseSupportDocument,
} from '../../../hub/versions/support-data.js';
import { minorOfVersion, supportOf } from '../../../hub/versions/support-status.js';
import { chooseAutoTarget } from '../../../hub/upgrades/auto-target.js';

const DAY = 86_400_000;
const at = (iso: string): number => Date.parse(iso);
const rows = BUNDLED_SUPPORT.minors;

test('the bundled data lists 1.28 to 1.34 at least, each with about 14 months of support (12 + 2)', () => {
  const minors = rows.map((r) => r.minor);
  for (const m of ['1.28', '1.29', '1.30', '1.31', '1.32', '1.33', '1.34']) assert.ok(minors.includes(m), m);
  for (const r of rows) {
    const months = (at(r.endOfLife) - at(r.released)) / (30.44 * DAY);
    assert.ok(months > 13 && months < 16, `${r.minor}: ${months.toFixed(1)} months from release to end of life`);
    const maintenance = (at(r.endOfLife) - at(r.endOfMaintenance)) / DAY;
    assert.ok(maintenance >= 55 && maintenance <= 80, `${r.minor}: ${maintenance} days of maintenance mode`);
  }
  // As kubernetes.io/releases publishes them.
  assert.deepEqual(
    rows.find((r) => r.minor === '1.31'),
    { minor: '1.31', released: '2024-08-13', endOfMaintenance: '2025-08-28', endOfLife: '2025-10-28' },
  );
  assert.equal(rows.find((r) => r.minor === '1.34')?.endOfLife, '2026-10-27');
});

test('status on a date: supported, deprecated within 60 days of the end of life, end-of-life from that day, unknown', () => {
  const v = 'v1.31.4+k3s1';
  assert.equal(minorOfVersion(v), '1.31');
  assert.deepEqual(supportOf(rows, v, at('2025-01-01T00:00:00Z')), {
    status: 'supported',
    minor: '1.31',
    released: '2024-08-13',
    endOfMaintenance: '2025-08-28',
    endOfLife: '2025-10-28',
    daysLeft: 300,
  });
  // Up to 60 days before the end of life: supported; from then on: deprecated.
  assert.equal(supportOf(rows, v, at('2025-08-28T23:59:59Z')).status, 'supported');
  const deprecated = supportOf(rows, v, at('2025-08-29T00:00:00Z'));
  assert.deepEqual([deprecated.status, deprecated.daysLeft], ['deprecated', 60]);
  const lastDay = supportOf(rows, v, at('2025-10-27T12:00:00Z'));
  assert.deepEqual([lastDay.status, lastDay.daysLeft], ['deprecated', 1]);
  const eol = supportOf(rows, v, at('2025-10-28T00:00:00Z'));
  assert.deepEqual([eol.status, eol.daysLeft], ['end-of-life', 0]);
  const later = supportOf(rows, v, at('2025-11-07T06:00:00Z'));
  assert.deepEqual([later.status, later.daysLeft], ['end-of-life', -10]);
  // A minor the data does not list, and a version that is none.
  assert.deepEqual(supportOf(rows, 'v1.99.0+k3s1', at('2025-01-01T00:00:00Z')), {
    status: 'unknown',
    minor: '1.99',
    released: null,
    endOfMaintenance: null,
    endOfLife: null,
    daysLeft: null,
  });
  assert.equal(supportOf(rows, 'banana', at('2025-01-01T00:00:00Z')).minor, null);
});

const good = (minors: unknown[]): unknown => ({ source: 'test', minors });
const row = (minor: string, released: string, endOfMaintenance: string, endOfLife: string) => ({
  minor,
  released,
  endOfMaintenance,
  endOfLife,
});
const problems = (doc: unknown): string[] => {
  try {
    parseSupportDocument(doc);
  } catch (err) {
    assert.ok(err instanceof SupportDataError);
    return err.problems;
  }
  assert.fail('the document was accepted');
};

test('an import must be well formed: real dates, in order, monotonic across minors, each minor once', () => {
  const ok = parseSupportDocument(
    good([
      row('1.41', '2028-01-10', '2029-01-28', '2029-03-28'),
      row('1.40', '2027-09-01', '2028-09-28', '2028-11-28'),
    ]),
  );
  assert.deepEqual(
    ok.minors.map((m) => m.minor),
    ['1.40', '1.41'],
    'sorted by minor',
  );
  assert.match(
    problems(good([row('1.40', '2027-09-01', '2028-02-30', '2028-11-28')]))[0],
    /endOfMaintenance must be a date/,
  );
  assert.match(
    problems(good([row('1.40', '2027-09-01', '2028-11-28', '2028-09-28')]))[0],
    /must not be before endOfMaintenance/,
  );
  assert.match(problems(good([row('1.40', '2027-09-01', '2027-08-01', '2028-09-28')]))[0], /must be after released/);
  assert.match(
    problems(
      good([
        row('1.40', '2027-09-01', '2028-09-28', '2028-11-28'),
        row('1.41', '2027-08-01', '2028-10-28', '2028-12-28'),
      ]),
    )[0],
    /1.41 is released 2027-08-01, not after 1.40/,
  );
  assert.match(
    problems(
      good([
        row('1.40', '2027-09-01', '2028-09-28', '2028-11-28'),
        row('1.41', '2028-01-01', '2028-10-28', '2028-10-30'),
      ]),
    )[0],
    /1.41 reaches end of life 2028-10-30, before 1.40/,
  );
  assert.match(
    problems(
      good([
        row('1.40', '2027-09-01', '2028-09-28', '2028-11-28'),
        row('1.40', '2027-09-01', '2028-09-28', '2028-11-28'),
      ]),
    )[0],
    /listed twice/,
  );
  // A minor as a number (1.30 would read 1.3), unknown fields, the wrong shape: all named.
  const many = problems({
    minors: [{ ...row('1.40', '2027-09-01', '2028-09-28', '2028-11-28'), minor: 1.3, eol: 'x' }],
    extra: 1,
  });
  assert.ok(many.some((p) => /unknown field "extra"/.test(p)));
  assert.ok(many.some((p) => /minors\[0\]: unknown field "eol"/.test(p)));
  assert.ok(many.some((p) => /minors\[0\]: minor must be a string like "1.31" \(got 1.3\)/.test(p)));
  assert.deepEqual(problems({ minors: [] }), ['minors must be an array of 1 to 200 entries']);
  assert.deepEqual(problems([1, 2]), ['the document must be a JSON object with a "minors" array']);
});

test('an import overrides the bundled data minor by minor', () => {
  const merged = mergeSupport(rows, [
    row('1.31', '2024-08-13', '2026-08-28', '2026-10-28'),
    row('1.99', '2030-01-01', '2031-01-01', '2031-03-01'),
  ]);
  assert.equal(merged.find((r) => r.minor === '1.31')?.endOfLife, '2026-10-28');
  assert.equal(merged.find((r) => r.minor === '1.32')?.endOfLife, '2026-02-28', 'the others stay');
  assert.equal(merged.at(-1)?.minor, '1.99');
});

test('auto-upgrade past end of life: the next minor, never one more, its newest artifact', () => {
  const available = ['v1.31.5+k3s1', 'v1.32.1+k3s1', 'v1.32.3+k3s1', 'v1.32.2+k3s2', 'v1.33.0+k3s1'];
  const base = { current: 'v1.31.4+k3s1', lowest: 'v1.31.4+k3s1', scope: 'patch' as const, available };
  // Supported: patch releases only, as before.
  assert.deepEqual(chooseAutoTarget({ ...base, status: 'supported' }), { version: 'v1.31.5+k3s1', reason: 'patch' });
  assert.deepEqual(chooseAutoTarget({ ...base, status: 'deprecated' }), { version: 'v1.31.5+k3s1', reason: 'patch' });
  // Past its end of life: 1.32's newest, not 1.33.
  assert.deepEqual(chooseAutoTarget({ ...base, status: 'end-of-life' }), {
    version: 'v1.32.3+k3s1',
    reason: 'end-of-life',
    endOfLife: { nextMinor: 'v1.32', version: 'v1.32.3+k3s1' },
  });
  // No artifact of the next minor (only one two minors on): patch as before, and say why.
  assert.deepEqual(chooseAutoTarget({ ...base, status: 'end-of-life', available: ['v1.31.5+k3s1', 'v1.33.0+k3s1'] }), {
    version: 'v1.31.5+k3s1',
    reason: 'patch',
    endOfLife: { nextMinor: 'v1.32', version: null, blockedBy: 'no-artifact' },
  });
  // Nodes still on 1.30: they catch up on the control plane's version first.
  assert.deepEqual(
    chooseAutoTarget({
      ...base,
      status: 'end-of-life',
      lowest: 'v1.30.9+k3s1',
      available: ['v1.31.4+k3s1', 'v1.32.1+k3s1'],
    }),
    {
      version: 'v1.31.4+k3s1',
      reason: 'catch-up',
      endOfLife: { nextMinor: 'v1.32', version: null, blockedBy: 'nodes-behind' },
    },
  );
  // Nothing newer at all.
  assert.deepEqual(chooseAutoTarget({ ...base, status: 'supported', available: [] }), {});
});
