// A partition between the hub and two of three agents (network namespaces), then the heal. Commands
// sent just before and while the links are cut are not lost: they are stored at the hub, re-sent
// when the agents reconnect, run once (the agents' journals), and their results are recorded. After
// the heal each node is ready with exactly one live connection at the hub.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, netnsAvailable, type Lab, type Host } from '../helpers/netns.js';
import { HUB_BIN, AGENT_BIN, apiCall, waitFor, startProcess, type Proc, removeTree } from '../helpers/processes.js';

const avail = netnsAvailable();
let lab: Lab | undefined;
let work: string | undefined;
const procs: Proc[] = [];

after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  lab?.cleanup();
  if (work) removeTree(work);
});

interface NodeView {
  id: string;
  name: string;
  state: string;
  connected: boolean;
}
interface CommandView {
  id: string;
  state: string;
  sentCount: number;
  result: { ok: boolean; message: string } | null;
}

function startIn(host: Host, bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const p = startProcess(bin, args, env, ['ip', 'netns', 'exec', host.ns]);
  procs.push(p);
  return p;
}

/** Peer addresses of the established TCP connections to the gateway, seen inside the hub's namespace. */
function gatewayPeers(hub: Host): string[] {
  const r = spawnSync('ip', ['netns', 'exec', hub.ns, 'ss', '-tnH', 'state', 'established', '( sport = :9444 )'], {
    encoding: 'utf8',
  });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/).pop()!.replace(/:\d+$/, ''))
    .sort();
}

test(
  'partition and heal: agents go unreachable and come back, one session each, no command result lost',
  { skip: avail.ok ? false : avail.why, timeout: 120_000 },
  async () => {
    lab = createLab();
    work = mkdtempSync(join(tmpdir(), 'atoll-partition-cmd-'));
    const hubHost = lab.addHost('hub');
    const hosts = Array.from({ length: 3 }, (_, i) => lab!.addHost(`p${i}`));
    const dataDir = join(work, 'hub');
    startIn(hubHost, HUB_BIN, [
      'run',
      '--data-dir',
      dataDir,
      '--api-listen',
      `${hubHost.ip}:9443`,
      '--gateway-listen',
      '0.0.0.0:9444',
      '--public-url',
      `https://${hubHost.ip}:9444`,
      '--k3s',
      'off',
      '--heartbeat-interval',
      '1s',
      '--unreachable-after',
      '3s',
    ]);
    const api = <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> =>
      apiCall<T>(
        `https://${hubHost.ip}:9443`,
        readFileSync(join(dataDir, 'ca.crt'), 'utf8'),
        readFileSync(join(dataDir, 'admin-token'), 'utf8').trim(),
        method,
        path,
        body,
      );
    await waitFor('hub serving', async () => (await api('GET', '/healthz')).status === 200, 20_000);
    const tok = await api<{ token: string }>('POST', '/v1/tokens', { uses: 3 });
    // "reboot" runs a script that counts its runs: a command run twice would show.
    const logs = hosts.map((_, i) => join(work!, `reboots-${i}.log`));
    hosts.forEach((h, i) => {
      const script = join(work!, `reboot-${i}.sh`);
      writeFileSync(script, `#!/bin/sh\necho run >> ${logs[i]}\n`);
      chmodSync(script, 0o755);
      startIn(
        h,
        AGENT_BIN,
        [
          'join',
          '--hub',
          `https://${hubHost.ip}:9444`,
          '--token',
          tok.body.token,
          '--k3s',
          'off',
          '--node-name',
          `p${i}`,
          '--data-dir',
          join(work!, `a${i}`),
        ],
        { ATOLL_AGENT_RECONNECT_MAX_MS: '1000', ATOLL_AGENT_REBOOT_COMMAND: script },
      );
    });
    const nodes = await waitFor(
      'three ready nodes',
      async () => {
        const items = (await api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
        return items.length === 3 && items.every((n) => n.state === 'ready' && n.connected) ? items : undefined;
      },
      30_000,
    );
    const byName = (name: string): NodeView => nodes.find((n) => n.name === name)!;
    const [p0, p1, p2] = ['p0', 'p1', 'p2'].map(byName);

    // p1: a command just before its link is cut (its result may or may not get out).
    const before = await api<{ commandId: string }>('POST', `/v1/nodes/${p1.id}/actions/reboot?wait=0`);
    assert.equal(before.status, 202, JSON.stringify(before.body));
    lab.setLink(hosts[0], false);
    lab.setLink(hosts[1], false);
    // p0: a command while its link is cut, before the hub noticed: it goes into the void.
    const during = await api<{ commandId: string }>('POST', `/v1/nodes/${p0.id}/actions/reboot?wait=0`);
    assert.equal(during.status, 202, `the hub still thinks p0 is connected: ${JSON.stringify(during.body)}`);

    await waitFor(
      'p0 and p1 unreachable',
      async () => {
        const items = (await api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
        return ['p0', 'p1'].every((name) => items.find((n) => n.name === name)?.state === 'unreachable');
      },
      15_000,
    );
    const cut = await api<{ error: { code: string } }>('POST', `/v1/nodes/${p0.id}/actions/reboot?wait=0`);
    assert.equal(cut.status, 503, 'a command to a node known to be offline is refused, not queued');
    assert.equal(cut.body.error.code, 'NODE_OFFLINE');
    const pending = (await api<CommandView>('GET', `/v1/nodes/${p0.id}/commands/${during.body.commandId}`)).body;
    assert.equal(pending.state, 'pending', 'the command sent into the partition is still pending');
    // The connected node is not affected, and answers at once.
    const ok2 = await api<{ ok: boolean; commandId: string }>('POST', `/v1/nodes/${p2.id}/actions/reboot?wait=20s`);
    assert.equal(ok2.status, 200, JSON.stringify(ok2.body));
    assert.equal(ok2.body.ok, true);
    await new Promise((r) => setTimeout(r, 2_000));

    lab.setLink(hosts[0], true);
    lab.setLink(hosts[1], true);
    await waitFor(
      'all three ready and connected again',
      async () => {
        const items = (await api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
        return items.length === 3 && items.every((n) => n.state === 'ready' && n.connected);
      },
      30_000,
    );
    for (const [node, id] of [
      [p0, during.body.commandId],
      [p1, before.body.commandId],
    ] as const) {
      const c = await waitFor(
        `the result of ${id} on ${node.name}`,
        async () => {
          const v = (await api<CommandView>('GET', `/v1/nodes/${node.id}/commands/${id}`)).body;
          return v.state === 'done' ? v : undefined;
        },
        15_000,
      );
      assert.equal(c.result?.ok, true, `${node.name}: ${JSON.stringify(c)}`);
    }
    const p0cmd = (await api<CommandView>('GET', `/v1/nodes/${p0.id}/commands/${during.body.commandId}`)).body;
    assert.ok(
      p0cmd.sentCount >= 2,
      `the command into the partition was re-sent after the heal (sent ${p0cmd.sentCount} times)`,
    );
    const results = (
      await api<{ items: Array<{ type: string; data: { commandId: string } }> }>(
        'GET',
        '/v1/events?type=command.result&limit=1000',
      )
    ).body.items;
    for (const id of [during.body.commandId, before.body.commandId, ok2.body.commandId]) {
      assert.equal(results.filter((e) => e.data.commandId === id).length, 1, `exactly one result event for ${id}`);
    }

    // Exactly one live connection per agent at the hub (no leftover or duplicate sessions).
    await waitFor(
      'one gateway connection per agent',
      () => {
        const peers = gatewayPeers(hubHost);
        return JSON.stringify(peers) === JSON.stringify(hosts.map((h) => h.ip).sort()) ? peers : undefined;
      },
      20_000,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; peers: ${gatewayPeers(hubHost).join(', ')}`);
    });
    // Each reboot command ran exactly once on its node, re-sends notwithstanding.
    await new Promise((r) => setTimeout(r, 1_000));
    for (const i of [0, 1, 2]) {
      assert.ok(existsSync(logs[i]), `the reboot script ran on p${i}`);
      assert.equal(readFileSync(logs[i], 'utf8').trim().split('\n').length, 1, `the reboot ran once on p${i}`);
    }
  },
);
