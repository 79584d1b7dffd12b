// install.sh and the files it writes, without a hub: rendering, shellcheck, systemd-analyze verify,
// and the one-brace-group rule that keeps a truncated download from running.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { renderInstallScript } from '../../../hub/installer/install-script.js';
import { packagePaths } from '../../../hub/installer/package-files.js';
import { commandExists } from '../../helpers/installer.js';

const paths = packagePaths();
const deploy = paths.deployDir;
const work = mkdtempSync(join(tmpdir(), 'atoll-installer-unit-'));
after(() => rmSync(work, { recursive: true, force: true }));
const hasShellcheck = commandExists('shellcheck');
const hasSystemdAnalyze = commandExists('systemd-analyze');

function shellcheck(file: string, shell = 'sh'): { status: number | null; out: string } {
  const r = spawnSync('shellcheck', ['-s', shell, '-S', 'style', file], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('the served script names the hub, its version and embeds the unit, OpenRC and uninstall templates', () => {
  const s = renderInstallScript({ deployDir: deploy, hubUrl: 'https://hub.example.com:9444/', version: '0.1.0' });
  assert.match(s, /^ATOLL_SCRIPT_HUB_URL='https:\/\/hub\.example\.com:9444'$/m);
  assert.match(s, /^ATOLL_SCRIPT_VERSION='0\.1\.0'$/m);
  assert.doesNotMatch(s, /@@ATOLL_/, 'every hub-side marker is filled');
  assert.ok(s.includes(readFileSync(join(deploy, 'atoll-agent.service'), 'utf8').trimEnd()));
  assert.ok(s.includes(readFileSync(join(deploy, 'atoll-agent.openrc'), 'utf8').trimEnd()));
  assert.ok(s.includes(readFileSync(join(deploy, 'uninstall.sh'), 'utf8').trimEnd()));
  assert.ok(s.includes(readFileSync(join(deploy, 'atoll-agent-supervise.sh'), 'utf8').trimEnd()));
  assert.ok(s.startsWith('#!/bin/sh\n'));
});

test('URLs that are not plain https://HOST[:PORT] are never written into the script', () => {
  for (const bad of ["https://x'; rm -rf /;'", 'http://hub:9444', 'https://hub/path', 'https://a|b']) {
    assert.throws(() => renderInstallScript({ deployDir: deploy, hubUrl: bad, version: '0.1.0' }), /cannot be written/);
  }
  assert.doesNotThrow(() =>
    renderInstallScript({ deployDir: deploy, hubUrl: 'https://[2001:db8::1]:9444', version: '0.1.0' }),
  );
});

test('everything after the comments is one brace group that ends with the call to main', () => {
  const s = renderInstallScript({ deployDir: deploy, hubUrl: 'https://hub:9444', version: '0.1.0' });
  const code = s.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  assert.equal(code[0], '{');
  assert.deepEqual(code.slice(-2), ['main "$@"', '}']);
  // sh must parse the whole group before it runs any of it: cut anywhere, it is a syntax error.
  for (const cut of [0.1, 0.5, 0.9, 0.999].map((f) => Math.floor(s.length * f))) {
    const r = spawnSync('sh', ['-s', '-', '--help'], { input: s.slice(0, cut), encoding: 'utf8' });
    assert.notEqual(r.status, 0, `cut at ${cut} of ${s.length} must fail`);
    assert.doesNotMatch(r.stdout, /Usage:/, `cut at ${cut}: nothing may run`);
  }
  const whole = spawnSync('sh', ['-s', '-', '--help'], { input: s, encoding: 'utf8' });
  assert.equal(whole.status, 0, whole.stderr);
  assert.match(whole.stdout, /Usage: install\.sh --token TOKEN/);
});

test(
  'install.sh, uninstall.sh, the supervisor and the OpenRC script pass shellcheck (raw and as served)',
  { skip: hasShellcheck ? false : 'shellcheck is not installed (apt-get install shellcheck)' },
  () => {
    const served = join(work, 'served-install.sh');
    writeFileSync(served, renderInstallScript({ deployDir: deploy, hubUrl: 'https://hub:9444', version: '0.1.0' }));
    for (const f of [
      served,
      join(deploy, 'install.sh'),
      join(deploy, 'uninstall.sh'),
      join(deploy, 'atoll-agent-supervise.sh'),
      join(deploy, 'atoll-agent.openrc'),
    ]) {
      const r = shellcheck(f);
      assert.equal(r.status, 0, `${f}:\n${r.out}`);
    }
  },
);

test(
  "the systemd unit, with an install's paths filled in, passes systemd-analyze verify and holds no secrets",
  { skip: hasSystemdAnalyze ? false : 'systemd-analyze is not installed' },
  () => {
    const bin = join(work, 'usr/local/bin/atoll-agent');
    mkdirSync(join(work, 'usr/local/bin'), { recursive: true });
    writeFileSync(bin, '#!/bin/sh\nexit 0\n');
    chmodSync(bin, 0o755);
    const unit = readFileSync(join(deploy, 'atoll-agent.service'), 'utf8')
      .replaceAll('@ATOLL_BIN@', bin)
      .replaceAll('@ATOLL_ENV_FILE@', join(work, 'etc/atoll-agent/atoll-agent.env'));
    assert.doesNotMatch(unit, /@ATOLL_/);
    assert.doesNotMatch(unit, /TOKEN|AT1[0-9a-f]/);
    const dir = join(work, 'units');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'atoll-agent.service');
    writeFileSync(file, unit);
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(
      (r.stdout + r.stderr)
        .split('\n')
        .filter((l) => l.includes('atoll-agent.service'))
        .join('\n'),
      '',
      'no warnings about the unit',
    );
    assert.match(unit, /^EnvironmentFile=-\S+atoll-agent\.env$/m);
    assert.match(unit, /^ExecStart=\S+atoll-agent run$/m);
  },
);
