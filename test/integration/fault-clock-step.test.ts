// The hub's own wall clock steps 2 h ahead and back while it runs (libfaketime with a timestamp file
// read on every call; the monotonic clock stays real). Nothing a user relies on may notice: live
// nodes stay ready (no clock-skew), a dead node is not run through the ladder, a fresh 30-minute
// token still joins a node, the health history is kept, and the node that joined during the jump
// connects again after the step back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
  removeTree,
  type HubHandle,
  type AgentHandle,
} from '../helpers/processes.js';
import { createToken, stopProc } from '../helpers/bad-input.js';

function findLibfaketime(): string | undefined {
  for (const dir of [
    '/usr/lib',
    ...readdirSync('/usr/lib')
      .filter((d) => d.endsWith('-linux-gnu'))
      .map((d) => `/usr/lib/${d}`),
  ]) {
    const p = `${dir}/faketime/libfaketime.so.1`;
    if (existsSync(p)) return p;
  }
  return undefined;
}

const lib = findLibfaketime();
const work = mkdtempSync(join(tmpdir(), 'atoll-clock-step-'));
let hub: HubHandle | undefined;
const agents: AgentHandle[] = [];
after(async () => {
  for (const a of agents) await stopProc(a.proc, 2_000);
  await stopProc(hub?.proc, 3_000);
  for (const a of agents) removeDir(a.dataDir);
  if (hub) removeDir(hub.dataDir);
  removeTree(work);
});

interface NodeView {
  id: string;
  name: string;
  state: string;
  reasons: string[];
  connected: boolean;
  connectedAt: string;
}
interface Cluster {
  autoheal: { guard: { frozen: boolean; reason: string } };
  clock: { holding: { offsetMs: number } | null; hubSkewMs: number | null };
}
interface Ev {
  type: string;
  nodeId: string | null;
  message: string;
}

test(
  "a +2 h step of the hub's clock and back: no false clock-skew, no rushed ladder, tokens, history and certificates intact",
  { skip: lib ? false : 'libfaketime is not installed (apt-get install faketime)', timeout: 150_000 },
  async () => {
    const offsetFile = join(work, 'faketime');
    writeFileSync(offsetFile, '+0\n');
    hub = await startHub({
      heartbeat: '1s',
      unreachableAfter: '3s',
      extraArgs: ['--autoheal-interval', '300ms'],
      env: { LD_PRELOAD: lib, FAKETIME_TIMESTAMP_FILE: offsetFile, FAKETIME_NO_CACHE: '1', DONT_FAKE_MONOTONIC: '1' },
    });
    const h = hub;
    // Timings a 2 h jump would blow through at once if ages were wall time.
    assert.equal(
      (
        await h.api('PATCH', '/v1/pools/default', {
          autoheal: { afterRestart: '40s', afterReboot: '80s', afterReplace: '120s', maxUnhealthyPercent: 100 },
        })
      ).status,
      200,
    );
    const tok = await createToken(h, { uses: 4 });
    for (const name of ['live1', 'live2', 'dead'])
      agents.push(startAgentJoin(h, tok.token, { args: ['--node-name', name] }));
    const nodes = await waitFor(
      'three ready nodes',
      async () => {
        const items = (await h.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
        return items.length === 3 && items.every((n) => n.state === 'ready') ? items : undefined;
      },
      30_000,
    );
    const id = (name: string): string => nodes.find((n) => n.name === name)!.id;
    await stopProc(agents[2].proc, 3_000);
    await waitFor(
      'the dead node unreachable',
      async () => (await h.api<NodeView>('GET', `/v1/nodes/${id('dead')}`)).body.state === 'unreachable',
      15_000,
    );
    await new Promise((r) => setTimeout(r, 5_000)); // past the hub's startup grace: autoheal is live
    const history = async (): Promise<string[]> =>
      (
        await h.api<{ samples: Array<{ at: string }> }>(
          'GET',
          `/v1/nodes/${id('live1')}/health-history?since=2000-01-01T00:00:00Z`,
        )
      ).body.samples.map((s) => s.at);
    const before = await history();
    assert.ok(before.length >= 1, 'a sample before the step');
    const fresh = await createToken(h, { uses: 1, ttl: '30m' });

    // The step: 2 h ahead.
    writeFileSync(offsetFile, '+2h\n');
    const steppedAt = Date.now();
    const held = await waitFor(
      'the hub notices its own step and holds autoheal',
      async () => {
        const c = (await h.api<Cluster>('GET', '/v1/cluster')).body;
        return c.clock.holding && c.autoheal.guard.frozen ? c : undefined;
      },
      10_000,
    );
    assert.ok(Math.abs(held.clock.holding!.offsetMs - 7_200_000) < 5_000, JSON.stringify(held.clock));
    assert.match(held.autoheal.guard.reason, /the hub's own clock stepped \(\+2h 0m/);
    // A node joins during the jump with a token made 30 minutes before "now" by the stepped clock.
    const late = startAgentJoin(h, fresh.token, { args: ['--node-name', 'late'] });
    agents.push(late);
    const lateNode = await waitFor(
      'the late node joined and ready',
      async () =>
        (await h.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items.find(
          (n) => n.name === 'late' && n.state === 'ready',
        ),
      20_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${late.proc.stderr().slice(-1500)}`);
    });
    await new Promise((r) => setTimeout(r, 4_000)); // several reports from every agent on the stepped clock
    for (const name of ['live1', 'live2']) {
      const n = (await h.api<NodeView>('GET', `/v1/nodes/${id(name)}`)).body;
      assert.equal(n.state, 'ready', `${name}: ${n.reasons.join(',')}`);
    }

    // And back.
    writeFileSync(offsetFile, '+0\n');
    await new Promise((r) => setTimeout(r, 3_000));
    // The node that joined during the jump connects again (its certificate is not from the future).
    const lateBefore = (await h.api<NodeView>('GET', `/v1/nodes/${lateNode.id}`)).body.connectedAt;
    await stopProc(late.proc, 3_000);
    late.run();
    await waitFor(
      'the late node reconnects after the step back',
      async () => {
        const n = (await h.api<NodeView>('GET', `/v1/nodes/${lateNode.id}`)).body;
        return n.connected && n.connectedAt !== lateBefore;
      },
      20_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${late.proc.stderr().slice(-1500)}`);
    });

    // The history survives: wait until a sample is due again on the monotonic clock (every 30 s).
    await waitFor(
      'a new health sample after the steps',
      async () => (await history()).length > before.length,
      Math.max(5_000, 40_000 - (Date.now() - steppedAt)),
    );
    const kept = await history();
    for (const at of before) assert.ok(kept.includes(at), `sample ${at} was kept`);

    const evs = (await h.api<{ items: Ev[] }>('GET', '/v1/events?limit=1000')).body.items;
    assert.deepEqual(
      evs.filter((e) => e.type === 'autoheal.step').map((e) => e.message),
      [],
      'no ladder step on the dead node',
    );
    const skewed = evs.filter((e) => e.type === 'node.state' && /clock-skew/.test(e.message));
    assert.deepEqual(
      skewed.map((e) => e.message),
      [],
      'no node was degraded for clock skew',
    );
    assert.equal(evs.filter((e) => e.type === 'hub.clock-step').length >= 2, true, 'both steps are events');
    const c = (await h.api<Cluster>('GET', '/v1/cluster')).body;
    assert.equal(c.clock.hubSkewMs, null);
    assert.ok(c.clock.holding, 'still settling after the step back');
  },
);
