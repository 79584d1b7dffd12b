// Clock skew of ±10 minutes between the hub and its agents, with the agents' clocks really moved
// (libfaketime; .ci/run installs it): the agents join and connect over TLS (certificates are
// backdated enough to verify on a clock that runs behind), their skew shows in GET /v1/nodes/{id},
// and the hub degrades them with the reason clock-skew.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
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
let hub: HubHandle | undefined;
const agents: AgentHandle[] = [];
after(async () => {
  for (const a of agents) await stopProc(a.proc, 2_000);
  await stopProc(hub?.proc, 3_000);
  for (const a of agents) removeDir(a.dataDir);
  if (hub) removeDir(hub.dataDir);
});

interface NodeDetail {
  id: string;
  name: string;
  state: string;
  reasons: string[];
  connected: boolean;
  health: { clockSkewMs: number } | null;
  certificates: Array<{ notBefore: string }>;
}

test(
  'agents 10 minutes behind and ahead join, connect, and have their skew reported',
  { skip: lib ? false : 'libfaketime is not installed (apt-get install faketime)', timeout: 90_000 },
  async () => {
    hub = await startHub({ heartbeat: '1s', unreachableAfter: '5s' });
    const h = hub;
    // The hub's own serving certificate must verify on a clock 10 minutes behind.
    const serving = new X509Certificate(readFileSync(`${h.dataDir}/serving.crt`));
    assert.ok(
      Date.now() - Date.parse(serving.validFrom) > 10 * 60_000,
      `serving certificate valid from ${serving.validFrom}`,
    );

    const tok = await createToken(h, { uses: 2 });
    const skews = { behind: -600, ahead: 600 };
    for (const [name, seconds] of Object.entries(skews)) {
      agents.push(
        startAgentJoin(h, tok.token, {
          args: ['--node-name', name],
          env: {
            LD_PRELOAD: lib,
            FAKETIME: `${seconds > 0 ? '+' : ''}${seconds}`,
            DONT_FAKE_MONOTONIC: '1',
            FAKETIME_DONT_RESET: '1',
          },
        }),
      );
    }
    // Both connect and report; the hub sees each skew and degrades the node for it.
    const nodes = await waitFor(
      'both skewed agents connected with a report',
      async () => {
        const items = (await h.api<{ items: Array<{ id: string; name: string }> }>('GET', '/v1/nodes')).body.items;
        if (items.length !== 2) return undefined;
        const details = await Promise.all(
          items.map(async (n) => (await h.api<NodeDetail>('GET', `/v1/nodes/${n.id}`)).body),
        );
        return details.every((d) => d.connected && d.health && d.state === 'degraded') ? details : undefined;
      },
      40_000,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}\nagent stderr:\n${agents.map((a) => a.proc.stderr().slice(-1500)).join('\n---\n')}`,
      );
    });
    for (const n of nodes) {
      const want = skews[n.name as keyof typeof skews] * 1000;
      assert.ok(
        Math.abs(n.health!.clockSkewMs - want) < 30_000,
        `${n.name}: skew ${n.health!.clockSkewMs} ms reported, about ${want} expected`,
      );
      assert.ok(n.reasons.includes('clock-skew'), `${n.name} is degraded for clock-skew: ${n.reasons.join(', ')}`);
      // Its client certificate is valid on the hub's clock and on its own.
      const notBefore = Date.parse(n.certificates[0].notBefore);
      assert.ok(
        notBefore < Date.now() + want - 60_000,
        `${n.name}: certificate notBefore ${n.certificates[0].notBefore} is before the agent's own time`,
      );
    }
    // And they stay connected (no TLS failure on reconnects either): restart one and it comes back.
    const behind = agents[0];
    await stopProc(behind.proc, 3_000);
    behind.run(); // same faked clock
    const id = nodes.find((n) => n.name === 'behind')!.id;
    const before = (await h.api<{ connectedAt: string }>('GET', `/v1/nodes/${id}`)).body.connectedAt;
    await waitFor(
      'the agent behind reconnects after a restart',
      async () => {
        const n = (await h.api<{ connected: boolean; connectedAt: string }>('GET', `/v1/nodes/${id}`)).body;
        return n.connected && n.connectedAt !== before;
      },
      20_000,
    );
  },
);
