// The partition guard with real network namespaces: cut the links of half of a small fleet (2 of 4)
// at once; the threshold is proportional, so small fleets are guarded too.
// Nothing is remediated, the freeze is visible, and when the links come back every node returns
// to ready with no action taken.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, netnsAvailable, type Lab, type Host } from '../helpers/netns.js';
import { HUB_BIN, AGENT_BIN, apiCall, waitFor, startProcess, type Proc, removeTree } from '../helpers/processes.js';

const avail = netnsAvailable();
let lab: Lab | undefined;
let work: string | undefined;
const procs: Proc[] = [];

function startIn(host: Host, bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const p = startProcess(bin, args, env, ['ip', 'netns', 'exec', host.ns]);
  procs.push(p);
  return p;
}

after(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  lab?.cleanup();
  if (work) removeTree(work);
});

interface Cluster {
  autoheal: { guard: { frozen: boolean; reason: string } };
}
interface NodeView {
  id: string;
  name: string;
  state: string;
}

test(
  'half of 4 nodes cut off at once: remediation freezes, and nothing is done when they come back',
  { skip: avail.ok ? false : avail.why, timeout: 120_000 },
  async () => {
    lab = createLab();
    work = mkdtempSync(join(tmpdir(), 'atoll-partition-'));
    const hubHost = lab.addHost('hub');
    const hosts = Array.from({ length: 4 }, (_, i) => lab!.addHost(`n${i}`));
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
      '--autoheal-interval',
      '300ms',
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
    // Aggressive timings: without the guard, the cut nodes would be remediated within seconds.
    assert.equal(
      (
        await api('PATCH', '/v1/pools/default', {
          autoheal: { afterRestart: '1s', afterReboot: '2s', afterReplace: '3s', maxUnhealthyPercent: 100 },
        })
      ).status,
      200,
    );
    const tok = await api<{ token: string }>('POST', '/v1/tokens', { uses: 4 });
    hosts.forEach((h, i) =>
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
          `n${i}`,
          '--data-dir',
          join(work!, `a${i}`),
        ],
        { ATOLL_AGENT_RECONNECT_MAX_MS: '2000' },
      ),
    );
    await waitFor(
      'four ready nodes',
      async () => {
        const items = (await api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
        return items.length === 4 && items.every((n) => n.state === 'ready');
      },
      30_000,
    );
    await new Promise((r) => setTimeout(r, 8_500)); // past the hub's startup grace: autoheal is live

    const cut = hosts.slice(0, 2);
    for (const h of cut) lab.setLink(h, false);
    const frozen = await waitFor(
      'freeze',
      async () => {
        const c = (await api<Cluster>('GET', '/v1/cluster')).body;
        return c.autoheal.guard.frozen ? c : undefined;
      },
      15_000,
    );
    assert.match(frozen.autoheal.guard.reason, /2 of 4 agents dropped/);
    await waitFor(
      'the cut nodes unreachable',
      async () =>
        (await api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items.filter((n) => n.state === 'unreachable')
          .length === 2,
      15_000,
    );
    await new Promise((r) => setTimeout(r, 5_000)); // longer than afterReplace
    const during = (await api<{ items: Array<{ type: string; message: string }> }>('GET', '/v1/events?limit=1000')).body
      .items;
    assert.equal(during.filter((e) => e.type === 'autoheal.step').length, 0, 'nothing was remediated');
    assert.ok(during.some((e) => e.type === 'autoheal.frozen'));
    assert.ok(
      during.some((e) => e.type === 'autoheal.decision' && /frozen/.test(e.message)),
      'the decision not to act is recorded',
    );

    for (const h of cut) lab.setLink(h, true);
    await waitFor(
      'all ready again',
      async () => (await api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items.every((n) => n.state === 'ready'),
      30_000,
    );
    await waitFor(
      'unfrozen',
      async () => !(await api<Cluster>('GET', '/v1/cluster')).body.autoheal.guard.frozen,
      10_000,
    );
    const all = (await api<{ items: Array<{ type: string }> }>('GET', '/v1/events?limit=1000')).body.items;
    assert.equal(all.filter((e) => e.type === 'autoheal.step').length, 0, 'no action was taken');
    assert.ok(all.some((e) => e.type === 'autoheal.unfrozen'));
  },
);
