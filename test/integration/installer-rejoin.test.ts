// A removed server can be added back, against real hubs on loopback. The agent of a removed node
// forgets its identity and stays down (exit 3, k3s stopped); the installer, given a fresh token,
// joins again a server whose identity the hub no longer accepts (removed while the agent was down)
// or that belongs to another hub, and stops the k3s of the old identity; the uninstaller finishes
// when the hub already removed the node, unmounts what k3s left mounted (a busy mount too) before
// it removes files, and stops only its own install's agent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, waitFor, removeDir, removeTree, type HubHandle } from '../helpers/processes.js';
import {
  run,
  cleanEnv,
  fetchInstallScript,
  filesUnder,
  startAsUnit,
  commandExists,
  type UnitProc,
} from '../helpers/installer.js';

interface NodeView {
  id: string;
  name: string;
  state: string;
}

let hub: HubHandle;
let other: HubHandle | undefined;
let work: string;
let script: string;
const procs: UnitProc[] = [];
const pids: number[] = [];

before(async () => {
  hub = await startHub();
  work = mkdtempSync(join(tmpdir(), 'atoll-rejoin-'));
  script = await fetchInstallScript(hub.gatewayUrl);
});

after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const h of [hub, other]) {
    await h?.stop('SIGKILL');
    if (h) removeDir(h.dataDir);
  }
  if (work) removeTree(work);
});

async function token(h = hub): Promise<string> {
  const r = await h.api<{ token: string }>('POST', '/v1/tokens', { pool: 'default', ttl: '10m' });
  assert.equal(r.status, 201);
  return r.body.token;
}

async function install(
  root: string,
  t: string,
  name: string,
  served = script,
): Promise<{ code: number | null; stderr: string }> {
  const r = await run(
    ['sh', '-s', '-', '--token', t, '--no-service', '--install-root', root, '--k3s', 'off', '--node-name', name],
    { input: served, env: cleanEnv(), timeoutMs: 45_000 },
  );
  return { code: r.code, stderr: r.stderr };
}

function startAgent(root: string): UnitProc {
  const p = startAsUnit({
    envFile: join(root, 'etc/atoll-agent/atoll-agent.env'),
    execStart: [join(root, 'usr/local/bin/atoll-agent'), 'run'],
  });
  procs.push(p);
  return p;
}

async function nodes(h = hub): Promise<NodeView[]> {
  return (await h.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
}

const ready = (name: string, h = hub): Promise<NodeView> =>
  waitFor(
    `${name} to be ready`,
    async () => (await nodes(h)).find((n) => n.name === name && n.state === 'ready'),
    20_000,
  );
const dataDir = (root: string): string => join(root, 'var/lib/atoll-agent');
const identity = (root: string): { nodeId: string; hubUrl: string } =>
  JSON.parse(readFileSync(join(dataDir(root), 'identity.json'), 'utf8')) as { nodeId: string; hubUrl: string };

test(
  "a removed node's agent forgets its identity and stays down; the installer joins it again with a fresh token",
  { timeout: 90_000 },
  async () => {
    const root = join(work, 'root-back');
    const first = await install(root, await token(), 'back');
    assert.equal(first.code, 0, first.stderr);
    const agent = startAgent(root);
    const node = await ready('back');

    assert.equal((await hub.api('DELETE', `/v1/nodes/${node.id}`)).status, 204);
    assert.equal(await agent.exited, 3, 'exit 3: removed');
    assert.match(agent.stderr(), /removed from the hub and has forgotten its identity/);
    assert.equal(existsSync(join(dataDir(root), 'identity.json')), false, 'the identity is gone');
    assert.deepEqual(
      readdirSync(dataDir(root)).filter((f) => /\.(key|crt)$/.test(f)),
      [],
      'no key or certificate is left',
    );
    assert.equal(
      (JSON.parse(readFileSync(join(dataDir(root), 'removed.json'), 'utf8')) as { nodeId: string }).nodeId,
      node.id,
    );

    // Started again (a reboot, a service manager): it says why and exits 3 again, which stops systemd.
    const again = await run([join(root, 'usr/local/bin/atoll-agent'), 'run'], { env: cleanEnv(), timeoutMs: 20_000 });
    assert.equal(again.code, 3);
    assert.match(
      again.stderr,
      new RegExp(`this node \\(back, ${node.id}\\) was removed from the hub .* join again with a new token`),
    );
    const status = await run([join(root, 'usr/local/bin/atoll-agent'), 'status'], {
      env: cleanEnv(),
      timeoutMs: 20_000,
    });
    assert.equal(status.code, 3);
    assert.match(status.stderr, /was removed from the hub/);

    const back = await install(root, await token(), 'back');
    assert.equal(back.code, 0, back.stderr);
    assert.match(
      back.stderr,
      new RegExp(
        `this node, back \\(${node.id}\\), was removed from ${hub.gatewayUrl.replace(/\./g, '\\.')} at .*: joining again with the new token`,
      ),
    );
    assert.match(back.stderr, /installed: node back \(/);
    const id = identity(root).nodeId;
    assert.notEqual(id, node.id);
    assert.equal(existsSync(join(dataDir(root), 'removed.json')), false);
    startAgent(root);
    assert.equal((await ready('back')).id, id);
  },
);

test(
  'a node removed while its agent was down: a used token changes nothing before; a fresh one joins again after, and stops the old k3s',
  { timeout: 90_000 },
  async () => {
    const root = join(work, 'root-offline');
    const t = await token();
    assert.equal((await install(root, t, 'offline')).code, 0);
    const before = identity(root).nodeId;
    const same = await install(root, t, 'offline');
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stderr, /the token was not used/);
    assert.match(same.stderr, /nothing changed/);

    // A k3s agent of this identity, left running (k3s/bin/k3s from the data dir, in its pid file).
    const k3sDir = join(dataDir(root), 'k3s');
    mkdirSync(join(k3sDir, 'bin'), { recursive: true });
    writeFileSync(join(k3sDir, 'bin/k3s'), '#!/bin/sh\nwhile :; do sleep 1; done\n');
    chmodSync(join(k3sDir, 'bin/k3s'), 0o755);
    writeFileSync(join(k3sDir, 'token'), 'K10old::server:secret\n', { mode: 0o600 });
    writeFileSync(join(k3sDir, 'assignment.json'), '{}\n');
    const k3s = spawn(join(k3sDir, 'bin/k3s'), ['agent', '--config', join(k3sDir, 'config.yaml')], {
      detached: true,
      stdio: 'ignore',
    });
    pids.push(k3s.pid!);
    const k3sExit = new Promise((r) => k3s.on('exit', r));
    writeFileSync(join(k3sDir, 'k3s-agent.pid'), `${k3s.pid}\n`);

    assert.equal((await hub.api('DELETE', `/v1/nodes/${before}`)).status, 204);
    const back = await install(root, await token(), 'offline');
    assert.equal(back.code, 0, back.stderr);
    assert.match(
      back.stderr,
      /the hub at .* no longer accepts this node, offline \(.*\) \(NODE_REMOVED: .*\): joining again with the new token/,
    );
    assert.match(back.stderr, /stopped the k3s agent of the old identity \(k3s pid \d+\)/);
    assert.match(back.stderr, /joined again as offline \(.*\), replacing /);
    await k3sExit;
    assert.equal(existsSync(join(k3sDir, 'token')), false, 'the old k3s token is gone');
    assert.equal(existsSync(join(k3sDir, 'assignment.json')), false);
    assert.notEqual(identity(root).nodeId, before);
    assert.ok((await nodes()).some((n) => n.id === identity(root).nodeId));
  },
);

test("an identity from another hub is replaced by a join to the token's hub", { timeout: 90_000 }, async () => {
  other = await startHub();
  const root = join(work, 'root-mover');
  assert.equal((await install(root, await token(), 'mover')).code, 0);
  const old = identity(root).nodeId;
  const moved = await install(root, await token(other), 'mover', await fetchInstallScript(other.gatewayUrl));
  assert.equal(moved.code, 0, moved.stderr);
  assert.match(
    moved.stderr,
    /this server was joined to another hub as mover \(.*\): it was joined to .* \(CA sha256 [0-9a-f]{64}\); the token is for the CA [0-9a-f]{64}; joining/,
  );
  assert.equal(identity(root).hubUrl, other.gatewayUrl);
  assert.notEqual(identity(root).nodeId, old);
  assert.ok((await nodes(other)).some((n) => n.name === 'mover'));
  startAgent(root);
  await ready('mover', other);
});

test(
  'uninstall after the hub removed the node finishes without asking to remove it again',
  { timeout: 90_000 },
  async () => {
    // The agent was down: the identity is still here, and the hub answers 403.
    const rootA = join(work, 'root-gone-a');
    assert.equal((await install(rootA, await token(), 'gone-a')).code, 0);
    assert.equal((await hub.api('DELETE', `/v1/nodes/${identity(rootA).nodeId}`)).status, 204);
    const a = await run(['sh', join(rootA, 'usr/local/bin/atoll-agent-uninstall.sh')], {
      env: cleanEnv(),
      timeoutMs: 30_000,
    });
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stderr, /the hub at .* no longer has node .*: nothing to tell it/);
    assert.doesNotMatch(a.stderr, /warning|atoll-hub node remove/);
    assert.deepEqual(filesUnder(rootA), []);

    // The agent ran and forgot its identity.
    const rootB = join(work, 'root-gone-b');
    assert.equal((await install(rootB, await token(), 'gone-b')).code, 0);
    const agent = startAgent(rootB);
    const node = await ready('gone-b');
    assert.equal((await hub.api('DELETE', `/v1/nodes/${node.id}`)).status, 204);
    assert.equal(await agent.exited, 3);
    const b = await run(['sh', join(rootB, 'usr/local/bin/atoll-agent-uninstall.sh')], {
      env: cleanEnv(),
      timeoutMs: 30_000,
    });
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, new RegExp(`the hub removed node ${node.id} already: nothing to tell it`));
    assert.doesNotMatch(b.stderr, /warning|atoll-hub node remove/);
    assert.deepEqual(filesUnder(rootB), []);
  },
);

const canMount = process.getuid?.() === 0 && commandExists('unshare') ? false : 'needs root and unshare';

test(
  'uninstall unmounts what k3s left mounted, a busy mount too, then removes everything',
  { skip: canMount, timeout: 60_000 },
  async () => {
    const root = join(work, 'root-mounts');
    assert.equal((await install(root, await token(), 'mounts')).code, 0);
    // In a private mount namespace: kubelet's dir is a mount, a pod volume below it is in use, and
    // k3s's run dir and data have mounts of their own.
    const inside = [
      'set -eu',
      'root=$1; data=$root/var/lib/atoll-agent',
      'mkdir -p "$root/var/lib/kubelet" "$root/run/k3s" "$data/k3s/data/run"',
      'mount -t tmpfs kubelet "$root/var/lib/kubelet"',
      'mkdir -p "$root/var/lib/kubelet/pods/p1/volumes/v"',
      'mount -t tmpfs vol "$root/var/lib/kubelet/pods/p1/volumes/v"',
      'mount -t tmpfs k3srun "$root/run/k3s"',
      'mkdir -p "$root/run/k3s/containerd/io"',
      'mount -t tmpfs io "$root/run/k3s/containerd/io"',
      'mount -t tmpfs data "$data/k3s/data/run"',
      '(cd "$root/var/lib/kubelet/pods/p1/volumes/v" && exec sleep 60) & busy=$!',
      "trap 'kill $busy 2>/dev/null || true' EXIT",
      'rc=0; sh "$root/usr/local/bin/atoll-agent-uninstall.sh" || rc=$?',
      'echo "uninstall=$rc"',
      'echo "mounts=$(awk -v r="$root" \'index($2, r) == 1\' /proc/self/mounts | wc -l)"',
    ].join('\n');
    const r = await run(['unshare', '-m', '--propagation', 'private', 'sh', '-c', inside, 'mounts', root], {
      env: cleanEnv(),
      timeoutMs: 45_000,
    });
    assert.match(r.stdout, /uninstall=0/, r.stderr);
    assert.match(r.stdout, /mounts=0/, 'nothing under the install root is mounted');
    assert.deepEqual(filesUnder(root), [], r.stderr);
    assert.equal(existsSync(join(root, 'var/lib/kubelet')), false);
    assert.equal(existsSync(join(root, 'run/k3s')), false);
    assert.match(r.stderr, /the atoll agent is uninstalled/);
  },
);

test("the uninstaller stops only its own install's agent", { timeout: 90_000 }, async () => {
  // B's install root ends with A's path, as every install root's does with the real root's.
  const rootA = join(work, 'own-a');
  const rootB = join(work, 'own-b', rootA);
  assert.equal((await install(rootA, await token(), 'own-a')).code, 0);
  assert.equal((await install(rootB, await token(), 'own-b')).code, 0);
  const agentA = startAgent(rootA);
  const agentB = startAgent(rootB);
  await ready('own-a');
  await ready('own-b');
  const un = await run(['sh', join(rootA, 'usr/local/bin/atoll-agent-uninstall.sh')], {
    env: cleanEnv(),
    timeoutMs: 30_000,
  });
  assert.equal(un.code, 0, un.stderr);
  await agentA.exited;
  const stillRunning = await Promise.race([
    agentB.exited.then(() => false),
    new Promise((r) => setTimeout(() => r(true), 1500)),
  ]);
  assert.equal(stillRunning, true, "B's agent is still running");
  assert.ok((await nodes()).some((n) => n.name === 'own-b' && n.state === 'ready'));
  assert.ok(!(await nodes()).some((n) => n.name === 'own-a'));
});
