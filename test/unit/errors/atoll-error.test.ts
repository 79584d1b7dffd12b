// Every error atoll throws is an AtollError with a stable UPPER_SNAKE code: the exported error classes
// of hub, agent, certs and proto, and the throws that were bare `new Error`s before, with their messages
// unchanged. A wrapped cause survives.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AtollError, errorCode } from '../../../certs/atoll-error.js';
import { CertError } from '../../../certs/errors.js';
import { DirLockedError } from '../../../certs/dir-lock.js';
import { FileModeError } from '../../../certs/files.js';
import { JoinTokenFormatError } from '../../../certs/join-token.js';
import { ProtocolError } from '../../../proto/codec.js';
import { ConfigError, HubError } from '../../../hub/errors.js';
import { ArtifactError } from '../../../hub/artifacts/errors.js';
import { CliError } from '../../../hub/cli/output.js';
import { KubeError } from '../../../hub/k3s/kube.js';
import { ManagedBinaryError } from '../../../hub/k3s/managed-binary.js';
import { StoreError } from '../../../hub/store/types.js';
import { Stopping } from '../../../hub/upgrades/runtime.js';
import { parseDuration } from '../../../hub/duration.js';
import { installFetch } from '../../../hub/installer/install-line.js';
import { renderInstallScript } from '../../../hub/installer/install-script.js';
import { packageRoot } from '../../../hub/installer/package-files.js';
import { tokenLine } from '../../../hub/installer/cloud-init-doc.js';
import { parseCreatedToken } from '../../../hub/k3s/node-tokens.js';
import { AgentError } from '../../../agent/errors.js';
import { HubRefusal } from '../../../agent/cert-recovery.js';
import { InstallError } from '../../../agent/k3s/installer.js';
import { SelfUpgradeError } from '../../../agent/self-upgrade.js';
import { readTokenFile } from '../../../agent/config.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CODE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;

const owner = { pid: 4242, command: 'atoll-hub run', since: '2024-01-01T00:00:00.000Z' };
const samples: Array<[string, AtollError, string?]> = [
  ['CertError', new CertError('CSR_MALFORMED', 'm'), 'CSR_MALFORMED'],
  ['DirLockedError', new DirLockedError('/d', owner), 'DATA_DIR_LOCKED'],
  ['FileModeError', new FileModeError('/k', 0o644), 'INSECURE_PERMISSIONS'],
  ['JoinTokenFormatError', new JoinTokenFormatError('m'), 'TOKEN_MALFORMED'],
  ['ProtocolError', new ProtocolError('FRAME_TOO_LARGE', 'm'), 'FRAME_TOO_LARGE'],
  ['HubError', new HubError('NOT_FOUND', 'm'), 'NOT_FOUND'],
  ['ConfigError', new ConfigError('m'), 'CONFIG'],
  ['ArtifactError', new ArtifactError('ARTIFACT_IN_USE', 'm'), 'ARTIFACT_IN_USE'],
  ['CliError', new CliError('m'), 'CLI_FAILED'],
  ['KubeError', new KubeError('PDB_CONFLICT', 'm'), 'PDB_CONFLICT'],
  ['ManagedBinaryError', new ManagedBinaryError('CP_NO_PREVIOUS', 'm'), 'CP_NO_PREVIOUS'],
  ['StoreError', new StoreError('DISK_FULL', 'm'), 'DISK_FULL'],
  ['Stopping', new Stopping()],
  ['AgentError', new AgentError('NO_IDENTITY', 'm'), 'NO_IDENTITY'],
  ['HubRefusal', new HubRefusal(403, 'NODE_REMOVED', 'm'), 'NODE_REMOVED'],
  ['InstallError', new InstallError('ARTIFACT_CHECKSUM', 'm'), 'ARTIFACT_CHECKSUM'],
  ['SelfUpgradeError', new SelfUpgradeError('AGENT_BUNDLE_INVALID', 'm'), 'AGENT_BUNDLE_INVALID'],
];

test('every exported error class is an AtollError with its name and a stable code (existing codes kept)', () => {
  for (const [name, err, code] of samples) {
    assert.ok(err instanceof AtollError, name);
    assert.ok(err instanceof Error, name);
    assert.equal(err.name, name);
    assert.match(err.code, CODE, name);
    if (code) assert.equal(err.code, code, name);
    assert.equal(errorCode(err), err.code, name);
    assert.ok(err.message.length > 0, name);
  }
  // What the HTTP mapping, the CLI and the agent's exit codes read is still there.
  assert.equal(new HubError('TOKEN_EXPIRED', 'm', { tokenId: 't' }).status, 401);
  assert.deepEqual(new HubError('TOKEN_EXPIRED', 'm', { tokenId: 't' }).details, { tokenId: 't' });
  assert.equal(new CliError('m', 2).exitCode, 2);
  assert.equal(new CliError('m', 2).code, 'USAGE');
  assert.equal(new HubRefusal(403, 'NODE_REMOVED', 'm').status, 403);
  assert.equal(new FileModeError('/k', 0o644).mode, 0o644);
  assert.equal(new DirLockedError('/d', owner).owner.pid, 4242);
  // Errors that are not ours have no atoll code, whatever their own `code` says.
  const enoent = Object.assign(new Error('gone'), { code: 'ENOENT' });
  assert.equal(errorCode(enoent), undefined);
  assert.equal(errorCode('CONFIG'), undefined);
});

test('no error class in product code extends Error directly: all go through AtollError', () => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (n === 'gen' || p === join(root, 'hub', 'web')) continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.ts'))
        for (const m of readFileSync(p, 'utf8').matchAll(/class (\w+)(<[^>]*>)? extends Error\b/g))
          offenders.push(`${p.slice(root.length + 1)}: ${m[1]}`);
    }
  };
  for (const d of ['hub', 'agent', 'certs', 'proto']) walk(join(root, d));
  assert.deepEqual(offenders, ['certs/atoll-error.ts: AtollError']);
});

test('a wrapped cause survives, on the base class and through the subclasses that take one', () => {
  const inner = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
  for (const err of [
    new AtollError('PROBE', 'outer', { cause: inner }),
    new StoreError('IO', 'outer', { cause: inner }),
    new HubError('INTERNAL', 'outer', undefined, { cause: inner }),
    new AgentError('DATA_DIR', 'outer', { cause: inner }),
    new ProtocolError('FRAME_MALFORMED', 'outer', { cause: inner }),
    new CertError('KEY_MALFORMED', 'outer', { cause: inner }),
  ]) {
    assert.equal(err.cause, inner, err.name);
    assert.equal(err.message, 'outer');
  }
  assert.equal('cause' in new AtollError('PROBE', 'no cause'), false);
});

test('the throws that were bare Errors now carry a code, with their messages unchanged', () => {
  const cases: Array<[() => unknown, string, RegExp]> = [
    [() => parseDuration('5'), 'DURATION_INVALID', /^duration "5" needs a unit \(ms, s, m, h, d\)$/],
    [() => parseDuration('5x'), 'DURATION_INVALID', /^invalid duration "5x" \(use e\.g\. 500ms, 10s, 5m, 1h\)$/],
    [() => installFetch('https://hub:9444', 'sha256//short'), 'SERVING_PIN_MALFORMED', /^not a serving key pin: /],
    [
      () => renderInstallScript({ deployDir: join(root, 'deploy'), hubUrl: "https://x'y", version: '1.0.0' }),
      'INSTALL_SCRIPT_INPUT',
      /^hub URL "https:\/\/x'y" cannot be written into install\.sh \(want https:\/\/HOST\[:PORT\]\)$/,
    ],
    [() => tokenLine('AT1nope'), 'TOKEN_MALFORMED', /^not a join token$/],
    [() => parseCreatedToken('no token here\n'), 'K3S_TOKEN_CREATE_FAILED', /^k3s token create printed no token$/],
    [() => packageRoot('/'), 'PACKAGE_ROOT_NOT_FOUND', /^cannot find the atoll package root above \/$/],
  ];
  for (const [fn, code, message] of cases) {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof AtollError, String(err));
      assert.equal(err.code, code);
      assert.match(err.message, message);
      return true;
    });
  }
});

test('a token file that cannot be read is a USAGE error naming why, with the system error as its cause', () => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-errors-'));
  try {
    assert.throws(
      () => readTokenFile(dir),
      (err: unknown) => {
        assert.ok(err instanceof AgentError);
        assert.equal(err.code, 'USAGE');
        assert.equal(err.message, `cannot read the token file ${dir}: not a regular file`);
        return true;
      },
    );
    const missing = join(dir, 'missing');
    assert.throws(
      () => readTokenFile(missing),
      (err: unknown) => {
        assert.ok(err instanceof AgentError);
        assert.equal(err.code, 'USAGE');
        assert.equal(err.message, `cannot read the token file ${missing}: ENOENT`);
        assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
        return true;
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
