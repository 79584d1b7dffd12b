// The Prometheus alerting rules in deploy/prometheus pass `promtool check rules` and their unit
// tests (`promtool test rules`), and every atoll metric they name is one a hub exports.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/processes.js';
import { startInProcessHub, type InProcessHub } from '../helpers/in-process-hub.js';

const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
const SKIP = promtool ? false : 'promtool is not installed (apt-get install prometheus)';
const DIR = join(ROOT, 'deploy', 'prometheus');
let hub: InProcessHub | undefined;
after(() => hub?.stop());

test('promtool check rules and promtool test rules pass', { skip: SKIP }, () => {
  const check = spawnSync(promtool, ['check', 'rules', 'atoll-rules.yml'], {
    cwd: DIR,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  assert.match(check.stdout, /SUCCESS: \d+ rules found/);
  const unit = spawnSync(promtool, ['test', 'rules', 'atoll-rules.test.yml'], {
    cwd: DIR,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(unit.status, 0, `${unit.stdout}${unit.stderr}`);
  assert.match(unit.stdout, /SUCCESS/);
});

test('every metric the rules name is exported by the hub', async () => {
  const rules = readFileSync(join(DIR, 'atoll-rules.yml'), 'utf8');
  const named = [...new Set([...rules.matchAll(/\b(atoll_[a-z0-9_]+)/g)].map((m) => m[1]))];
  assert.ok(named.length >= 8, named.join(' '));
  hub = await startInProcessHub();
  const r = await hub.call<string>('GET', '/metrics');
  assert.equal(r.status, 200);
  const exported = new Set([...String(r.body).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
  assert.deepEqual(
    named.filter((n) => !exported.has(n)),
    [],
    'metrics named by the rules but not exported',
  );
});
