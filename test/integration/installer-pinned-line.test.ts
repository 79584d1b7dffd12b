// The printed install line checks the hub before sh runs anything: curl --pinnedpubkey names the
// hub's serving key. A man in the middle (another server, its own CA, on the address and port the
// line names) gets nothing run: curl stops with its pin error and sh reads nothing. The same
// impostor against the old line (--insecure alone) runs its script as root. The pin survives a
// renewal of the serving certificate, so a line printed before still works after.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, runCli, removeDir, removeTree, HUB_BIN, type HubHandle } from '../helpers/processes.js';
import { run, cleanEnv } from '../helpers/installer.js';
import { freePort } from '../helpers/ports.js';
import { createCa, issueServerCert, certInfo } from '../../certs/index.js';
import { hubCaMaterial, hubServingKey } from '../helpers/hub-secrets.js';

let hub: HubHandle;
let impostorHub: HubHandle | undefined;
let work: string;

before(async () => {
  hub = await startHub();
  work = mkdtempSync(join(tmpdir(), 'atoll-pinned-line-'));
});

after(async () => {
  await impostorHub?.stop('SIGKILL');
  if (impostorHub) removeDir(impostorHub.dataDir);
  await hub?.stop('SIGKILL');
  if (hub) removeDir(hub.dataDir);
  if (work) removeTree(work);
});

const LINE_RE =
  /^curl -sSfL --pinnedpubkey '(sha256\/\/[A-Za-z0-9+/]{43}=)' --insecure (https:\/\/127\.0\.0\.1:\d+)\/install\.sh \| sudo sh -s - --token (AT1[0-9a-f]{64}::[a-z0-9]{8}\.[a-z0-9]{32})$/;

async function printedLine(): Promise<string> {
  const r = await hub.api<{ command: string }>('POST', '/v1/join-command', { pool: 'default', ttl: '10m' });
  assert.equal(r.status, 200);
  return r.body.command;
}

/**
 * Runs an install line as a user would, less sudo (the test is root already), with `extra` options
 * after the token; returns curl's exit code (bash's PIPESTATUS), sh's, and what both printed.
 */
async function runLine(
  line: string,
  extra: string[],
): Promise<{ curl: number; sh: number; stderr: string; stdout: string }> {
  assert.equal(line.split('| sudo sh -s -').length, 2, 'the line pipes into sudo sh once');
  const cmd = `${line.replace('| sudo sh -s -', '| sh -s -')} ${extra.join(' ')}; echo "pipestatus=\${PIPESTATUS[*]}" >&2`;
  const r = await run(['bash', '-c', cmd], { env: cleanEnv(), timeoutMs: 60_000 });
  const m = /pipestatus=(\d+) (\d+)/.exec(r.stderr);
  assert.ok(m, r.stderr);
  return { curl: Number(m[1]), sh: Number(m[2]), stderr: r.stderr, stdout: r.stdout };
}

/** An impostor on the hub's gateway port: its own CA and key, serving a script that marks it ran. */
async function startImpostor(port: number, marker: string): Promise<Server> {
  const ca = await createCa({ commonName: 'atoll-hub-ca' });
  const cert = await issueServerCert(ca, {
    commonName: 'atoll-hub',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  const server = createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    if (req.url === '/install.sh') {
      res.writeHead(200, { 'content-type': 'text/x-shellscript' });
      res.end(
        `#!/bin/sh\n# the impostor's installer: it would steal the token and own the server\ntouch '${marker}'\n`,
      );
    } else if (req.url === '/cacerts') {
      res.end(ca.certPem);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}

test(
  "join-command, the CLI and the dashboard's cluster info give the pinned line; it installs from the real hub",
  { timeout: 60_000 },
  async () => {
    const line = await printedLine();
    const m = LINE_RE.exec(line);
    assert.ok(m, `the line has the pin: ${line}`);
    assert.equal(m[2], hub.gatewayUrl);
    const cli = await runCli(HUB_BIN, ['join-command', '--data-dir', hub.dataDir]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(LINE_RE.exec(cli.stdout.trim())?.[1], m[1], 'the CLI prints the same pin');
    const cluster = await hub.api<{ servingPin: string }>('GET', '/v1/cluster');
    assert.equal(cluster.body.servingPin, m[1]);

    const root = join(work, 'root-real');
    const r = await runLine(line, ['--no-service', '--install-root', root, '--k3s', 'off', '--node-name', 'pinned']);
    assert.equal(r.curl, 0, r.stderr);
    assert.equal(r.sh, 0, r.stderr);
    assert.match(r.stderr, /the hub CA matches the pin/);
    assert.ok(existsSync(join(root, 'var/lib/atoll-agent/identity.json')), 'joined');
  },
);

test(
  "an impostor on the line's address and port (own CA, own script) runs nothing; the unpinned line would run its script",
  { timeout: 60_000 },
  async () => {
    const line = await printedLine();
    const port = hub.gatewayPort;
    await hub.stop('SIGTERM');
    const marker = join(work, 'impostor-ran');
    const impostor = await startImpostor(port, marker);
    try {
      const r = await runLine(line, ['--no-service', '--install-root', join(work, 'root-mitm'), '--k3s', 'off']);
      assert.equal(r.curl, 90, `curl stops on the pin (exit 90): ${r.stderr}`);
      assert.match(r.stderr, /curl: \(90\) SSL: public key does not match pinned public key/);
      assert.equal(existsSync(marker), false, "the impostor's script never ran");
      assert.doesNotMatch(r.stderr, /\[atoll\]/, 'no installer ran at all');

      // The line as it was printed before (--insecure, no pin) runs the impostor's script.
      const old = line.replace(/--pinnedpubkey '[^']+' /, '').replace('-sSfL', '-sfL');
      const o = await runLine(old, []);
      assert.equal(o.curl, 0);
      assert.equal(existsSync(marker), true, "without the pin the impostor's script ran");
    } finally {
      await new Promise((r) => impostor.close(r));
    }

    // Another atoll hub (own data dir, own CA) on the same address and port is refused the same way.
    impostorHub = await startHub({
      extraArgs: ['--gateway-listen', `127.0.0.1:${port}`, '--public-url', `https://127.0.0.1:${port}`],
    });
    try {
      const r = await runLine(line, ['--no-service', '--install-root', join(work, 'root-other-hub'), '--k3s', 'off']);
      assert.equal(r.curl, 90, r.stderr);
      assert.doesNotMatch(r.stderr, /\[atoll\]/);
      assert.equal(existsSync(join(work, 'root-other-hub')), false);
    } finally {
      await impostorHub.stop('SIGTERM');
      removeDir(impostorHub.dataDir);
      impostorHub = undefined;
    }
    await hub.restart();
  },
);

test('a line printed before the serving certificate is renewed still works after', { timeout: 60_000 }, async () => {
  const line = await printedLine();
  await hub.stop('SIGTERM');
  // Make the certificate a day from expiry (same key): the hub renews it at start.
  const ca = hubCaMaterial(hub.dataDir);
  const keyPem = hubServingKey(hub.dataDir);
  const expiring = await issueServerCert(ca, {
    commonName: 'atoll-hub',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validityDays: 1,
    keyPem,
  });
  writeFileSync(join(hub.dataDir, 'serving.crt'), expiring.certPem);
  await hub.restart();
  const served = readFileSync(join(hub.dataDir, 'serving.crt'), 'utf8');
  assert.notEqual(served, expiring.certPem, 'the hub renewed its certificate');
  assert.ok(certInfo(served).notAfter.getTime() - Date.now() > 300 * 86_400_000);
  assert.equal(LINE_RE.exec(await printedLine())?.[1], LINE_RE.exec(line)?.[1], 'the pin did not change');
  const r = await runLine(line, ['--help']);
  assert.equal(r.curl, 0, r.stderr);
  assert.equal(r.sh, 0, r.stderr);
  assert.match(r.stdout, /Usage: install\.sh/);
});

test("a wrong port prints curl's own error (-S), and nothing runs", { timeout: 30_000 }, async () => {
  const line = await printedLine();
  const port = await freePort();
  const r = await runLine(line.replace(hub.gatewayUrl, `https://127.0.0.1:${port}`), []);
  assert.equal(r.curl, 7, r.stderr);
  assert.match(r.stderr, new RegExp(`curl: \\(7\\) Failed to connect to 127\\.0\\.0\\.1 port ${port}`));
  assert.doesNotMatch(r.stderr, /\[atoll\]/);
});
