// `atoll-hub artifact import k3s` keeps only a k3s binary: for the hub's arch it must run and say the
// version it is imported as; for another arch it must be an ELF binary for that machine. An import
// never replaces another file without --force. `artifact list` says what still needs each artifact;
// `artifact delete` (admin only) refuses to delete what is needed unless --force. Each leaves an event.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HUB_BIN, removeTree, runCli, startHub, waitFor, type HubHandle } from '../helpers/processes.js';
import { freePort } from '../helpers/ports.js';
import { stopProc } from '../helpers/bad-input.js';
import { buildStandin, foreignElf } from '../helpers/upgrade-cluster.js';

const CP = 'v1.31.4+k3s1';
const NEXT = 'v1.31.5+k3s1';
const HOST_ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';
const OTHER_ARCH = HOST_ARCH === 'amd64' ? 'arm64' : 'amd64';
let work: string;
let hub: HubHandle | undefined;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'atoll-artifacts-'));
  buildStandin(join(work, 'k3s-cp'), CP);
  buildStandin(join(work, 'k3s-next'), NEXT);
  buildStandin(join(work, 'k3s-next-other-build'), NEXT, true);
  const port = await freePort();
  hub = await startHub({
    k3s: join(work, 'k3s-cp'),
    dataDir: join(work, 'data'),
    extraArgs: ['--k3s-https-port', String(port), '--k3s-arg=--disable-agent'],
  });
  await waitFor(
    'control plane running',
    async () => (await hub!.api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running',
    30_000,
  );
});

after(async () => {
  await stopProc(hub?.proc);
  removeTree(work);
});

function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(HUB_BIN, [...args, '--data-dir', hub!.dataDir]);
}

const importK3s = (version: string, file: string, arch = HOST_ARCH, ...extra: string[]) =>
  cli('artifact', 'import', 'k3s', '--version', version, '--arch', arch, '--file', file, ...extra);

interface Listed {
  k3s: { version: string; arch: string; sha256: string; inUse: string | null }[];
  agent: { version: string; packaged: boolean; inUse: string | null }[];
}
async function listed(): Promise<Listed> {
  const r = await cli('artifact', 'list', '-o', 'json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Listed;
}

test('a file that is not k3s, or not the version it is imported as, is refused and nothing is kept', async () => {
  const hostname = await importK3s('v1.31.9+k3s1', '/etc/hostname');
  assert.equal(hostname.code, 1, hostname.stdout);
  assert.match(hostname.stderr, /\/etc\/hostname is not a k3s binary: it is not an ELF executable/);

  const wrong = await importK3s('v1.31.9+k3s1', join(work, 'k3s-next'));
  assert.equal(wrong.code, 1, wrong.stdout);
  assert.match(
    wrong.stderr,
    /k3s-next --version says it is k3s v1\.31\.5\+k3s1, not v1\.31\.9\+k3s1: import it as v1\.31\.5\+k3s1/,
  );

  const script = await importK3s('v1.31.9+k3s1', join(work, 'k3s-next'), OTHER_ARCH);
  assert.equal(script.code, 1, script.stdout);
  assert.match(script.stderr, /is not a k3s binary: it is not an ELF executable/);
  const otherMachine = await importK3s('v1.31.9+k3s1', foreignElf(join(work, 'elf-host'), HOST_ARCH), OTHER_ARCH);
  assert.equal(otherMachine.code, 1, otherMachine.stdout);
  assert.match(
    otherMachine.stderr,
    new RegExp(`is an ELF executable for (x86-64|AArch64) \\(64-bit\\), not for ${OTHER_ARCH}`),
  );

  assert.equal(
    (await listed()).k3s.some((a) => a.version === 'v1.31.9+k3s1'),
    false,
    'nothing listed',
  );
  assert.equal(existsSync(join(hub!.dataDir, 'artifacts', 'k3s', 'v1.31.9+k3s1')), false, 'no directory left behind');
  const cluster = await hub!.api<{ upgrades: { available: { version: string }[] } | null }>('GET', '/v1/cluster');
  assert.equal(
    cluster.body.upgrades?.available.some((u) => u.version === 'v1.31.9+k3s1') ?? false,
    false,
    'never offered as an upgrade',
  );
});

test('a good import; a different file for the same version needs --force; the same file is a no-op; another arch is checked by its ELF header', async () => {
  const ok = await importK3s(NEXT, join(work, 'k3s-next'));
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(
    ok.stdout,
    /^imported k3s v1\.31\.5\+k3s1 for (amd64|arm64) \(sha256 [0-9a-f]{64}; it ran and said v1\.31\.5\+k3s1\)/,
  );
  const first = (await listed()).k3s.find((a) => a.version === NEXT && a.arch === HOST_ARCH)!;

  const again = await importK3s(NEXT, join(work, 'k3s-next'));
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^already imported: k3s v1\.31\.5\+k3s1/);

  const other = await importK3s(NEXT, join(work, 'k3s-next-other-build'));
  assert.equal(other.code, 1, other.stdout);
  assert.match(
    other.stderr,
    new RegExp(
      `k3s v1\\.31\\.5\\+k3s1 for ${HOST_ARCH} is already imported \\(sha256 ${first.sha256}\\), and .* is a different file .*pass --force to replace it`,
    ),
  );
  assert.equal(
    (await listed()).k3s.find((a) => a.version === NEXT && a.arch === HOST_ARCH)!.sha256,
    first.sha256,
    'unchanged',
  );

  const forced = await importK3s(NEXT, join(work, 'k3s-next-other-build'), HOST_ARCH, '--force');
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /^replaced k3s v1\.31\.5\+k3s1/);
  assert.notEqual((await listed()).k3s.find((a) => a.version === NEXT && a.arch === HOST_ARCH)!.sha256, first.sha256);

  const foreign = await importK3s(NEXT, foreignElf(join(work, 'elf-other'), OTHER_ARCH), OTHER_ARCH);
  assert.equal(foreign.code, 0, foreign.stderr);
  assert.match(foreign.stdout, new RegExp(`ELF header for ${OTHER_ARCH} checked; it cannot run on this host`));

  const ev = await hub!.api<{ items: { message: string; actor: string }[] }>(
    'GET',
    '/v1/events?type=artifact.imported',
  );
  assert.equal(ev.body.items.length, 3, JSON.stringify(ev.body.items));
  assert.ok(ev.body.items.some((e) => /replaced sha256/.test(e.message) && e.actor.startsWith('cli:')));
});

test('artifact list says what needs each artifact; delete refuses what is needed unless --force, and is admin only', async () => {
  const l = await listed();
  assert.match(
    l.k3s.find((a) => a.version === CP && a.arch === HOST_ARCH)?.inUse ?? '',
    /the control plane runs v1\.31\.4\+k3s1/,
  );
  assert.equal(l.k3s.find((a) => a.version === NEXT && a.arch === HOST_ARCH)?.inUse, null);
  const own = l.agent.find((a) => a.packaged);
  assert.ok(own, "the hub's own agent bundle is listed");
  const table = await cli('artifact', 'list');
  assert.match(table.stdout, /KIND +VERSION +ARCH +SIZE +SHA256 +IN USE/);

  const needed = await cli('artifact', 'delete', 'k3s', '--version', CP, '--arch', HOST_ARCH);
  assert.equal(needed.code, 1);
  assert.match(
    needed.stderr,
    /k3s v1\.31\.4\+k3s1 for .* is in use: the control plane runs .*delete it anyway with force \(CONFLICT, HTTP 409\)/,
  );
  const ownBundle = await cli('artifact', 'delete', 'agent', '--version', own.version, '--force');
  assert.equal(ownBundle.code, 1);
  assert.match(ownBundle.stderr, /is the hub's own bundle .*cannot be deleted/);

  const op = await hub!.api<{ token: string }>('POST', '/v1/api-tokens', { role: 'operator' });
  const denied = await hub!.api<{ error: { code: string } }>(
    'DELETE',
    `/v1/artifacts/k3s/${encodeURIComponent(NEXT)}/${HOST_ARCH}`,
    undefined,
    op.body.token,
  );
  assert.equal(denied.status, 403);
  assert.ok(
    (await listed()).k3s.some((a) => a.version === NEXT && a.arch === HOST_ARCH),
    'an operator deletes nothing',
  );

  const del = await cli('artifact', 'delete', 'k3s', '--version', NEXT, '--arch', HOST_ARCH);
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stdout, /k3s v1\.31\.5\+k3s1 for .* deleted/);
  const forced = await cli('artifact', 'delete', 'k3s', '--version', CP, '--arch', HOST_ARCH, '--force');
  assert.equal(forced.code, 0, forced.stderr);
  const after = await listed();
  assert.deepEqual(
    after.k3s.map((a) => `${a.version}/${a.arch}`),
    [`${NEXT}/${OTHER_ARCH}`],
  );
  const missing = await cli('artifact', 'delete', 'k3s', '--version', NEXT, '--arch', HOST_ARCH);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no k3s v1\.31\.5\+k3s1 artifact for .* \(NOT_FOUND, HTTP 404\)/);
  const ev = await hub!.api<{ items: { message: string; data: { forced: boolean } }[] }>(
    'GET',
    '/v1/events?type=artifact.deleted',
  );
  assert.equal(ev.body.items.length, 2);
  assert.ok(ev.body.items.some((e) => e.data.forced && /although in use \(the control plane runs/.test(e.message)));
});
