// Smoke test for the agent simulator (test/bench): 20 simulated agents with real keys, certificates
// and mTLS WebSockets join a real hub, and all 20 show `ready` with a health report. It keeps the
// benchmark tooling from rotting; the benchmarks themselves are scripts, not tests.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, waitFor, removeDir, type HubHandle } from '../helpers/processes.js';
import { Simulator, DEFAULT_OPTIONS } from '../bench/simulator.js';
import { createReusableToken } from '../bench/sim-identities.js';

const N = 20;
const hubs: HubHandle[] = [];
const sims: Simulator[] = [];
const identityDir = mkdtempSync(join(tmpdir(), 'atoll-sim-test-'));

after(async () => {
  for (const s of sims) await s.stop();
  for (const h of hubs) {
    await h.stop('SIGKILL');
    removeDir(h.dataDir);
  }
  rmSync(identityDir, { recursive: true, force: true });
});

interface NodeView {
  id: string;
  name: string;
  state: string;
  connected: boolean;
  health: { receivedAt: string } | null;
}

test(`the simulator joins ${N} agents over real mTLS and they all report ready`, { timeout: 60_000 }, async () => {
  const h = await startHub({ heartbeat: '1s', unreachableAfter: '3s', extraArgs: ['--join-rate-limit', '10000'] });
  hubs.push(h);
  const token = await createReusableToken(h.apiUrl, h.caPem(), h.adminToken(), { ttl: '10m' });
  const s = new Simulator({
    ...DEFAULT_OPTIONS,
    gatewayUrl: h.gatewayUrl,
    token,
    identityDir,
    count: N,
    namePrefix: 'smoke',
    joinConcurrency: 4,
    connectConcurrency: 10,
  });
  sims.push(s);

  const prep = await s.prepare();
  assert.deepEqual(
    { joined: prep.joined, failed: prep.failed, errors: prep.errors },
    { joined: N, failed: 0, errors: [] },
  );
  const c = await s.connect(20_000);
  assert.equal(c.welcomed, N, `welcomed ${c.welcomed}/${N}: ${JSON.stringify(c.errors)}`);

  const ids = new Set(await s.nodeIds());
  const nodes = await waitFor(
    'all simulated nodes ready with a health report',
    async () => {
      const r = await h.api<{ items: NodeView[] }>('GET', '/v1/nodes');
      const mine = r.body.items.filter((n) => ids.has(n.id));
      return mine.length === N && mine.every((n) => n.state === 'ready' && n.connected && n.health) ? mine : undefined;
    },
    15_000,
    200,
  );
  assert.deepEqual(
    nodes.map((n) => n.name).sort(),
    Array.from({ length: N }, (_, i) => `smoke-${String(i).padStart(6, '0')}`),
  );

  // The real protocol both ways: the hub's pings are answered (the links stay up over several
  // heartbeats), our pings get pongs, and a command gets its result.
  const rtt = await s.sampleRtt(1500, 1000);
  assert.ok(rtt.samples.length >= N, `only ${rtt.samples.length} pongs`);
  assert.equal(rtt.unanswered, 0);
  const res = await h.api<{ ok: boolean; message: string }>('POST', `/v1/nodes/${nodes[0].id}/actions/restart-k3s`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.ok, true);
  const status = await s.status();
  assert.equal(status.states.welcomed, N, JSON.stringify(status));
  assert.ok(status.counters.hubPings >= N, `hub pings answered: ${status.counters.hubPings}`);
  assert.equal(status.counters.reconnects, 0, JSON.stringify(status.errors));
});

// Regression: a TLS session ticket carries the verify result of the first handshake, so a resumed
// session must not let a certificate in after it expired (the gateway checks the stored notAfter).
test('a resumed TLS session does not let an expired client certificate in', { timeout: 60_000 }, async () => {
  const h = await startHub({ heartbeat: '1s', unreachableAfter: '3s', extraArgs: ['--node-cert-ttl', '6s'] });
  hubs.push(h);
  const token = await createReusableToken(h.apiUrl, h.caPem(), h.adminToken(), { ttl: '10m' });
  const s = new Simulator({
    ...DEFAULT_OPTIONS,
    gatewayUrl: h.gatewayUrl,
    token,
    identityDir,
    count: 2,
    first: 0,
    namePrefix: 'expiry',
    tlsResume: true,
  });
  sims.push(s);
  await s.prepare();
  const joinedAt = Date.now(); // the certificates were issued before this, so they expire before joinedAt + 6 s
  assert.equal((await s.connect(10_000)).welcomed, 2);
  // Take a fresh ticket while the certificate is valid, then let it expire (issued with a 6 s life).
  const warm = await s.reconnectAll(10_000);
  assert.equal(warm.resumed, 2, 'the hub resumes TLS sessions');
  // At expiry the hub closes the live links (CERT_EXPIRED); the agents reconnect at once with their
  // session tickets and are refused with 401.
  await new Promise((r) => setTimeout(r, Math.max(0, joinedAt + 6_500 - Date.now())));
  const st = await waitFor(
    'both agents refused',
    async () => {
      const now = await s.status();
      return now.states.refused === 2 ? now : undefined;
    },
    10_000,
  );
  assert.equal(st.errors.HTTP_401, 2, JSON.stringify(st.errors));
  assert.equal(st.errors['closed 1008 CERT_EXPIRED'], 2, JSON.stringify(st.errors));
  assert.equal(st.states.welcomed ?? 0, 0);
});
