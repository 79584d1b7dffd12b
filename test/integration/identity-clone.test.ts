// A cloned machine: a joined agent's data dir is copied, and a second agent runs with the copy on
// "another machine" (its own mount and UTS namespaces, so its own hostname, boot id and machine-id).
// The first agent keeps the node, the second is refused with IDENTITY_IN_USE and exits (code 4)
// instead of the two replacing each other; an event and a metric tell the operator; the clone joins
// as a new node with `join --token T --force`. A reboot of the holder (new boot id, old link
// half-open) still takes the node over.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { randomUUID, randomBytes } from 'node:crypto';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startHub,
  startAgentJoin,
  startProcess,
  waitFor,
  removeDir,
  scrapeMetrics,
  AGENT_BIN,
  type HubHandle,
  type AgentHandle,
  type Proc,
} from '../helpers/processes.js';
import { createToken, stopProc } from '../helpers/bad-input.js';

const root = process.getuid?.() === 0;
let hub: HubHandle | undefined;
let first: AgentHandle | undefined;
const procs: Proc[] = [];
const work = mkdtempSync(join(tmpdir(), 'atoll-clone-'));
after(async () => {
  for (const p of procs) {
    if (p.child.pid && p.child.exitCode === null) process.kill(p.child.pid, 'SIGCONT');
    await stopProc(p, 2_000);
  }
  await stopProc(first?.proc, 2_000);
  await stopProc(hub?.proc, 3_000);
  if (first) removeDir(first.dataDir);
  if (hub) removeDir(hub.dataDir);
  rmSync(work, { recursive: true, force: true });
});

/** A command prefix that runs the agent as another machine: its own hostname, boot id and machine-id (one per name). */
const machines = new Map<string, string[]>();
function machine(name: string): string[] {
  const known = machines.get(name);
  if (known) return known;
  const bootId = join(work, `${name}.boot_id`);
  const machineId = join(work, `${name}.machine-id`);
  writeFileSync(bootId, `${randomUUID()}\n`);
  writeFileSync(machineId, `${randomBytes(16).toString('hex')}\n`);
  const script = `mount --bind ${bootId} /proc/sys/kernel/random/boot_id && mount --bind ${machineId} /etc/machine-id && hostname ${name} && exec "$0" "$@"`;
  const prefix = ['unshare', '--mount', '--uts', '--propagation', 'private', 'sh', '-c', script];
  machines.set(name, prefix);
  return prefix;
}

interface Ev {
  type: string;
  nodeId: string | null;
  message: string;
  data: Record<string, unknown>;
}
const events = async (h: HubHandle, type: string): Promise<Ev[]> =>
  (await h.api<{ items: Ev[] }>('GET', `/v1/events?type=${type}&limit=1000`)).body.items;
const nodes = async (
  h: HubHandle,
): Promise<Array<{ id: string; name: string; connected: boolean; connectedAt: string }>> =>
  (
    await h.api<{ items: Array<{ id: string; name: string; connected: boolean; connectedAt: string }> }>(
      'GET',
      '/v1/nodes',
    )
  ).body.items;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test(
  'a copied data dir on a second machine is refused without flapping, and joins as a new node with --force',
  { skip: root ? false : 'namespaces and bind mounts need root', timeout: 120_000 },
  async () => {
    // Heartbeats every 3 s: a silent link is dropped only after 7 s, so the reboot below meets a
    // half-open link that only the probe can tell from a live one.
    hub = await startHub({ heartbeat: '3s', unreachableAfter: '10s' });
    const h = hub;
    first = startAgentJoin(h, (await createToken(h)).token, { args: ['--node-name', 'original'] });
    const a = first;
    const [node] = await waitFor(
      'the original connected',
      async () => {
        const ns = await nodes(h);
        return ns.length === 1 && ns[0].connected ? ns : undefined;
      },
      20_000,
    );
    const connectedBefore = (await events(h, 'node.connected')).length;

    // The image is made from the running machine: the data dir copied as it is.
    const cloneDir = join(work, 'clone-data');
    cpSync(a.dataDir, cloneDir, { recursive: true });
    const clone = startProcess(
      AGENT_BIN,
      ['run', '--data-dir', cloneDir, '--k3s', 'off'],
      { ATOLL_AGENT_RECONNECT_MAX_MS: '2000' },
      machine('clone-b'),
    );
    procs.push(clone);
    const code = await Promise.race([clone.exited, sleep(20_000).then(() => 'still running')]);
    assert.equal(code, 4, `the clone exits with 4:\n${clone.stderr().slice(-2000)}`);
    assert.match(clone.stderr(), /IDENTITY_IN_USE/);
    assert.ok(clone.stderr().includes(`another machine (host ${hostname()}`), 'it names the holder');
    assert.match(clone.stderr(), /atoll-agent join --token .* --force/);

    // The original kept the node all along: no REPLACED, no reconnect.
    const ns = await nodes(h);
    assert.equal(ns.length, 1);
    assert.ok(ns[0].connected);
    assert.equal((await events(h, 'node.connected')).length, connectedBefore, 'no connection churn');
    assert.doesNotMatch(a.proc.stderr(), /REPLACED/);
    const conflict = (await events(h, 'node.identity-conflict')).filter((e) => e.nodeId === node.id);
    assert.equal(conflict.length, 1);
    assert.equal((conflict[0].data.newcomer as { hostname: string }).hostname, 'clone-b');
    assert.match(conflict[0].message, /second machine \(host clone-b/);
    assert.match((await scrapeMetrics(h)).body, /^atoll_node_identity_conflicts_total 1$/m);

    // A service manager that restarts it anyway gets the same answer; still no churn, no second event.
    const again = startProcess(AGENT_BIN, ['run', '--data-dir', cloneDir, '--k3s', 'off'], {}, machine('clone-b'));
    procs.push(again);
    assert.equal(await Promise.race([again.exited, sleep(20_000).then(() => 'still running')]), 4);
    assert.equal((await events(h, 'node.connected')).length, connectedBefore);
    assert.match((await scrapeMetrics(h)).body, /^atoll_node_identity_conflicts_total 2$/m);
    assert.equal((await events(h, 'node.identity-conflict')).length, 1, 'the same clone again: no second event');

    // The clone joins as a new node.
    const tok = await createToken(h);
    const rejoin = startProcess(
      AGENT_BIN,
      [
        'join',
        '--hub',
        h.gatewayUrl,
        '--token',
        tok.token,
        '--k3s',
        'off',
        '--data-dir',
        cloneDir,
        '--force',
        '--no-run',
      ],
      {},
      machine('clone-b'),
    );
    procs.push(rejoin);
    assert.equal(await rejoin.exited, 0, rejoin.stderr());
    assert.match(rejoin.stderr(), /discarded the stored identity of original/);
    const runner = startProcess(AGENT_BIN, ['run', '--data-dir', cloneDir, '--k3s', 'off'], {}, machine('clone-b'));
    procs.push(runner);
    const both = await waitFor(
      'two nodes, both connected',
      async () => {
        const list = await nodes(h);
        return list.length === 2 && list.every((n) => n.connected) ? list : undefined;
      },
      20_000,
    );
    assert.ok(both.some((n) => n.id === node.id && n.name === 'original'));
    assert.ok(both.some((n) => n.id !== node.id && n.name === 'clone-b'));
  },
);

test(
  'a reboot of the holder (new boot id, its old link half-open) takes the node over',
  { skip: root ? false : 'namespaces and bind mounts need root', timeout: 120_000 },
  async () => {
    const h = hub!;
    const a = first!;
    const [node] = (await nodes(h)).filter((n) => n.name === 'original');
    const conflictsBefore = (await events(h, 'node.identity-conflict')).length;
    // Freeze the running agent: its TCP link stays open but nothing answers (a machine that went down
    // without closing its connections), then start "the same machine after a reboot".
    const connectsBefore = (await events(h, 'node.connected')).length;
    process.kill(a.proc.child.pid!, 'SIGSTOP');
    procs.push(a.proc);
    const rebooted = startProcess(AGENT_BIN, ['run', '--data-dir', a.dataDir, '--k3s', 'off'], {}, machine(hostname()));
    procs.push(rebooted);
    await waitFor(
      'the rebooted agent holds the node',
      async () => {
        const n = (await nodes(h)).find((x) => x.id === node.id);
        return (
          n?.connected &&
          Date.parse(n.connectedAt) > Date.now() - 15_000 &&
          /connected to the hub/.test(rebooted.stderr())
        );
      },
      20_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${rebooted.stderr().slice(-2000)}`);
    });
    assert.equal(rebooted.child.exitCode, null, 'not refused');
    assert.equal((await events(h, 'node.identity-conflict')).length, conflictsBefore, 'the reboot is not a conflict');
    const took = (await events(h, 'node.connected')).slice(connectsBefore).filter((e) => e.nodeId === node.id);
    assert.equal(took.length, 1);
    assert.equal(
      took[0].data.replaced,
      true,
      'it replaced the half-open link (which did not answer the probe) before that timed out',
    );
  },
);
