// The agent's side of a self-upgrade, on files: a new version on trial that does not reach the hub
// by its deadline puts the previous bundle back itself; one that does confirms and clears the
// marker; an old version started after the wrapper's rollback records it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  checkAtStartup,
  installedBundle,
  readLastResult,
  PENDING_FILE,
  ROLLED_BACK_FILE,
} from '../../../agent/self-upgrade.js';

const logger = pino({ level: 'silent' });

function layout(t: { after(fn: () => void): void }, deadlineSec: number): { dir: string; bundle: string } {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-selfup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'atoll-agent.mjs');
  writeFileSync(bundle, 'new');
  writeFileSync(`${bundle}.previous`, 'old');
  writeFileSync(
    join(dir, PENDING_FILE),
    `ATOLL_UPGRADE_FROM=0.1.0\nATOLL_UPGRADE_TO=0.2.0\nATOLL_UPGRADE_DEADLINE=${deadlineSec}\n`,
  );
  return { dir, bundle };
}

test('a trial past its deadline rolls back to the previous bundle and asks for a restart', async (t) => {
  const { dir, bundle } = layout(t, Math.floor(Date.now() / 1000) + 1);
  let restarted = false;
  const s = checkAtStartup(bundle, '0.2.0', logger, () => {
    restarted = true;
  });
  assert.ok(s.trial, 'the new version is on trial');
  await new Promise((r) => setTimeout(r, 2200));
  assert.equal(restarted, true);
  assert.equal(readFileSync(bundle, 'utf8'), 'old');
  assert.equal(existsSync(join(dir, PENDING_FILE)), false);
  const last = readLastResult(dir)!;
  assert.deepEqual([last.result, last.from, last.to], ['rolled-back', '0.1.0', '0.2.0']);
  s.trial.confirm(); // too late: changes nothing
  assert.equal(readLastResult(dir)!.result, 'rolled-back');
});

test('a trial that reaches the hub confirms: marker gone, new bundle kept, previous kept', (t) => {
  const { dir, bundle } = layout(t, Math.floor(Date.now() / 1000) + 60);
  let restarted = false;
  const s = checkAtStartup(bundle, '0.2.0', logger, () => {
    restarted = true;
  });
  s.trial!.confirm();
  assert.equal(restarted, false);
  assert.equal(readFileSync(bundle, 'utf8'), 'new');
  assert.equal(readFileSync(`${bundle}.previous`, 'utf8'), 'old');
  assert.equal(existsSync(join(dir, PENDING_FILE)), false);
  assert.equal(readLastResult(dir)!.result, 'upgraded');
});

test('the old version after the wrapper rolled back records why; a stale marker of another version is cleared', (t) => {
  const { dir, bundle } = layout(t, 1);
  writeFileSync(join(dir, ROLLED_BACK_FILE), readFileSync(join(dir, PENDING_FILE)));
  rmSync(join(dir, PENDING_FILE));
  const s = checkAtStartup(bundle, '0.1.0', logger, () => assert.fail('no restart'));
  assert.equal(s.trial, undefined);
  assert.match(
    s.last!.reason!,
    /agent 0\.2\.0 did not reach the hub before its deadline; the wrapper put 0\.1\.0 back/,
  );
  assert.equal(existsSync(join(dir, ROLLED_BACK_FILE)), false);
  writeFileSync(
    join(dir, PENDING_FILE),
    'ATOLL_UPGRADE_FROM=0.0.9\nATOLL_UPGRADE_TO=0.3.0\nATOLL_UPGRADE_DEADLINE=1\n',
  );
  assert.equal(checkAtStartup(bundle, '0.1.0', logger, () => assert.fail('no restart')).trial, undefined);
  assert.equal(existsSync(join(dir, PENDING_FILE)), false);
});

test('only an installed bundle upgrades itself: not a source tree, not a build output with its manifest', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-selfup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'atoll-agent.mjs'), '');
  assert.equal(installedBundle(join(dir, 'atoll-agent.mjs')), join(dir, 'atoll-agent.mjs'));
  assert.equal(installedBundle(join(dir, 'main.js')), undefined);
  writeFileSync(join(dir, 'manifest.json'), '{}');
  assert.equal(installedBundle(join(dir, 'atoll-agent.mjs')), undefined);
});
