// GET /v1/nodes/{id}/health-history with a real hub and a real agent (k3s off) over mTLS: the first
// report becomes a sample at once, further reports (every 1 s here) do not until 30 s have passed,
// the values are the node's report, the history survives a hub restart, and bad input is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
  type HubHandle,
  type AgentHandle,
} from '../helpers/processes.js';

interface Sample {
  at: string;
  cpuPercent: number;
  memoryPercent: number;
  diskPercent: number;
}
interface History {
  nodeId: string;
  since: string;
  intervalSeconds: number;
  retentionSeconds: number;
  samples: Sample[];
}
interface NodeView {
  id: string;
  name: string;
  state: string;
  health: { cpuPercent: number; memory: { usedPercent: number }; disk: { usedPercent: number } } | null;
}

let hub: HubHandle | undefined;
let agent: AgentHandle | undefined;
after(async () => {
  await agent?.proc.kill('SIGKILL');
  if (agent) removeDir(agent.dataDir);
  await hub?.stop('SIGKILL');
  if (hub) removeDir(hub.dataDir);
});

test("a node's health history: sampled at most every 30 s, durable, validated", async () => {
  hub = await startHub();
  const h = hub;
  const tok = await h.api<{ token: string }>('POST', '/v1/tokens', {});
  agent = startAgentJoin(h, tok.body.token, { args: ['--node-name', 'hist-1'] });
  const node = await waitFor(
    'node reporting',
    async () =>
      (await h.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items.find((n) => n.name === 'hist-1' && n.health),
    30_000,
  );

  const first = await waitFor(
    'a first sample',
    async () => {
      const r = await h.api<History>('GET', `/v1/nodes/${node.id}/health-history`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.samples.length > 0 ? r.body : undefined;
    },
    10_000,
  );
  assert.equal(first.nodeId, node.id);
  assert.equal(first.intervalSeconds, 30);
  assert.ok(first.retentionSeconds >= 3600);
  assert.ok(Math.abs(Date.parse(first.since) - (Date.now() - 3_600_000)) < 60_000, first.since);
  const s = first.samples[0];
  for (const v of [s.cpuPercent, s.memoryPercent, s.diskPercent]) assert.ok(v >= 0 && v <= 100, JSON.stringify(s));
  assert.ok(s.memoryPercent > 0 && s.diskPercent > 0, 'a real host uses some memory and disk');
  assert.ok(Math.abs(Date.parse(s.at) - Date.now()) < 60_000);

  // Reports keep coming every second; the history does not grow before 30 s.
  const reportsBefore = (await h.api<NodeView>('GET', `/v1/nodes/${node.id}`)).body.health;
  await new Promise((r) => setTimeout(r, 4_000));
  assert.notDeepEqual(
    (await h.api<NodeView>('GET', `/v1/nodes/${node.id}`)).body.health,
    reportsBefore,
    'reports still arrive',
  );
  assert.equal((await h.api<History>('GET', `/v1/nodes/${node.id}/health-history`)).body.samples.length, 1);

  // since= as a duration or an ISO time.
  assert.equal((await h.api<History>('GET', `/v1/nodes/${node.id}/health-history?since=10m`)).body.samples.length, 1);
  const future = new Date(Date.now() + 60_000).toISOString();
  assert.equal(
    (await h.api<History>('GET', `/v1/nodes/${node.id}/health-history?since=${future}`)).body.samples.length,
    0,
  );
  for (const bad of ['yesterday', '12', '-1h']) {
    const r = await h.api<{ error: { code: string } }>('GET', `/v1/nodes/${node.id}/health-history?since=${bad}`);
    assert.equal(r.status, 400, bad);
    assert.equal(r.body.error.code, 'VALIDATION');
  }
  const missing = await h.api<{ error: { code: string } }>('GET', '/v1/nodes/nope/health-history');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'NOT_FOUND');
  // A read-only token may read it.
  const ro = await h.api<{ token: string }>('POST', '/v1/api-tokens', { role: 'read-only' });
  assert.equal((await h.api('GET', `/v1/nodes/${node.id}/health-history`, undefined, ro.body.token)).status, 200);

  // Durable: the sample is still there after a hub restart.
  await h.stop('SIGTERM');
  await h.restart();
  const again = await h.api<History>('GET', `/v1/nodes/${node.id}/health-history`);
  assert.ok(
    again.body.samples.some((x) => x.at === s.at),
    JSON.stringify(again.body),
  );
});
