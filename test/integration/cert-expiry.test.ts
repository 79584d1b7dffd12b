// An expired certificate is not a dead end. A live link is closed when its certificate expires,
// after a `cert.expiring` warning (event, metric, node view); an agent that was down while its
// certificate expired recovers it over HTTPS with its own key and keeps its node; past the recovery
// grace, `atoll-agent join --token T` on the same data dir joins again under the same node id and name.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
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
} from '../helpers/processes.js';
import { createToken, openLink, rawJoin, stopProc } from '../helpers/bad-input.js';

const hubs: HubHandle[] = [];
const agents: AgentHandle[] = [];
after(async () => {
  for (const a of agents) await stopProc(a.proc, 3_000);
  for (const h of hubs) await stopProc(h.proc, 3_000);
  for (const a of agents) removeDir(a.dataDir);
  for (const h of hubs) removeDir(h.dataDir);
});

interface Ev {
  type: string;
  nodeId: string | null;
  message: string;
  data: Record<string, unknown>;
}
interface NodeItem {
  id: string;
  name: string;
  connected: boolean;
  certificate: { serial: string; expiring: boolean; expiresInSeconds: number } | null;
}
const events = async (h: HubHandle, type: string): Promise<Ev[]> =>
  (await h.api<{ items: Ev[] }>('GET', `/v1/events?type=${type}&limit=1000`)).body.items;
const nodes = async (h: HubHandle): Promise<NodeItem[]> =>
  (await h.api<{ items: NodeItem[] }>('GET', '/v1/nodes')).body.items;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function certNotAfter(dataDir: string): number {
  const id = JSON.parse(readFileSync(join(dataDir, 'identity.json'), 'utf8')) as { certFile: string };
  return Date.parse(new X509Certificate(readFileSync(join(dataDir, id.certFile))).validTo);
}

test(
  'a link whose certificate expires is warned about, then closed with CERT_EXPIRED',
  { timeout: 60_000 },
  async () => {
    // Lifetime 8 s: the warning window is a quarter of it (2 s).
    const h = await startHub({ heartbeat: '1s', unreachableAfter: '5s', extraArgs: ['--node-cert-ttl', '8s'] });
    hubs.push(h);
    const node = await rawJoin(h, (await createToken(h)).token, 'never-renews');
    const notAfter = Date.parse(new X509Certificate(node.certPem).validTo);
    const link = await openLink(h, node);
    const keepalive = setInterval(() => link.send({ ping: { nonce: 1 } }), 500);
    try {
      const warned = await waitFor(
        'a cert.expiring event',
        async () => (await events(h, 'cert.expiring')).find((e) => e.nodeId === node.nodeId),
        10_000,
      );
      assert.match(warned.message, /expires at .* and has not been renewed/);
      assert.ok(Date.now() < notAfter, 'the warning comes before the expiry');
      const view = (await nodes(h)).find((n) => n.id === node.nodeId)!;
      assert.equal(view.certificate?.expiring, true);
      assert.ok(view.certificate.expiresInSeconds <= 2);
      assert.match((await scrapeMetrics(h)).body, /^atoll_nodes_cert_expiring 1$/m);

      const closed = await link.closedWithin(Math.max(0, notAfter - Date.now()) + 3_000);
      assert.ok(Date.now() >= notAfter, 'not closed before the expiry');
      assert.equal(closed.code, 1008);
      assert.equal(link.closeFrame()?.code, 'CERT_EXPIRED');
      assert.equal(
        (await events(h, 'cert.expiring')).filter((e) => e.nodeId === node.nodeId).length,
        1,
        'one warning per certificate',
      );
    } finally {
      clearInterval(keepalive);
      link.terminate();
    }
  },
);

test(
  'an agent whose certificate expired while it was down recovers it over HTTPS and keeps its node',
  { timeout: 60_000 },
  async () => {
    const h = await startHub({ heartbeat: '1s', unreachableAfter: '5s', extraArgs: ['--node-cert-ttl', '6s'] });
    hubs.push(h);
    const agent = startAgentJoin(h, (await createToken(h)).token, { args: ['--no-run'] });
    agents.push(agent);
    assert.equal(await agent.proc.exited, 0, agent.proc.stderr());
    const [joined] = await nodes(h);
    await sleep(certNotAfter(agent.dataDir) + 1_000 - Date.now());

    agent.run();
    const back = await waitFor(
      'the node connected again',
      async () => (await nodes(h)).find((n) => n.connected),
      20_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nagent stderr:\n${agent.proc.stderr().slice(-3000)}`);
    });
    assert.equal(back.id, joined.id, 'the same node');
    assert.equal((await nodes(h)).length, 1);
    const renewed = (await events(h, 'node.cert-renewed')).filter((e) => e.nodeId === joined.id);
    assert.ok(
      renewed.some((e) => e.data.via === 'recovery'),
      `a recovery: ${JSON.stringify(renewed)}`,
    );
    assert.match(agent.proc.stderr(), /client certificate recovered/);
  },
);

test(
  'past the recovery grace the agent says so, and `join --token` joins again under the same node id and name',
  { timeout: 60_000 },
  async () => {
    const h = await startHub({
      heartbeat: '1s',
      unreachableAfter: '5s',
      extraArgs: ['--node-cert-ttl', '5s', '--cert-recovery-grace', '1s'],
    });
    hubs.push(h);
    const agent = startAgentJoin(h, (await createToken(h)).token, { args: ['--no-run', '--node-name', 'keeper'] });
    agents.push(agent);
    assert.equal(await agent.proc.exited, 0, agent.proc.stderr());
    const [joined] = await nodes(h);
    await sleep(certNotAfter(agent.dataDir) + 2_000 - Date.now());

    agent.run();
    await waitFor(
      'the agent names the way out',
      () => /CERT_EXPIRED_BEYOND_GRACE.*atoll-agent join --token/.test(agent.proc.stderr()),
      15_000,
    );
    await stopProc(agent.proc, 3_000);
    const refused = await events(h, 'node.cert-recovery-refused');
    assert.ok(refused.some((e) => e.nodeId === joined.id));

    const tok = await createToken(h);
    const rejoin = startProcess(AGENT_BIN, [
      'join',
      '--hub',
      h.gatewayUrl,
      '--token',
      tok.token,
      '--k3s',
      'off',
      '--data-dir',
      agent.dataDir,
      '--no-run',
    ]);
    assert.equal(await rejoin.exited, 0, rejoin.stderr());
    assert.match(rejoin.stderr(), /joined again as keeper/);
    agent.run();
    const back = await waitFor(
      'the node connected again',
      async () => (await nodes(h)).find((n) => n.connected),
      20_000,
    );
    assert.equal(back.id, joined.id);
    assert.equal(back.name, 'keeper');
    assert.equal((await nodes(h)).length, 1, 'no second node');
    assert.equal((await events(h, 'node.rejoined')).filter((e) => e.nodeId === joined.id).length, 1);
    const tokens = (await h.api<{ items: Array<{ id: string; uses: number }> }>('GET', '/v1/tokens?all=true')).body
      .items; // used up: listed on request
    assert.equal(tokens.find((t) => t.id === tok.id)?.uses, 1, 'the token was used');
  },
);
