// A renewal request that gets no answer is asked again. The hub process is paused (SIGSTOP) just
// before the agent's certificate is due for renewal, so the request goes into a link that never
// answers and that the agent then drops as silent; the hub is resumed. The agent must renew anyway
// (and, after the renewal, connect with the new certificate), and stay connected past the moment
// its first certificate expired. Before the fix the agent never asked again and was locked out.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

let hub: HubHandle | undefined;
let agent: AgentHandle | undefined;
let paused = false;
after(async () => {
  if (paused && hub?.proc.child.pid) process.kill(hub.proc.child.pid, 'SIGCONT');
  await stopProc(agent?.proc, 3_000);
  await stopProc(hub?.proc, 3_000);
  if (agent) removeDir(agent.dataDir);
  if (hub) removeDir(hub.dataDir);
});

interface IdentityFile {
  nodeId: string;
  certFile: string;
  certReceivedAt: string;
}
const identityOf = (dir: string): IdentityFile =>
  JSON.parse(readFileSync(join(dir, 'identity.json'), 'utf8')) as IdentityFile;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

test(
  'the hub paused right when the agent asks for renewal: the agent asks again after the reconnect and renews',
  { timeout: 120_000 },
  async () => {
    // Heartbeats every 2 s: the agent gives up on a silent hub at least 3 s after the pause, so the
    // request (sent when due, 1.5 s after the pause) goes out while the link still looks up.
    hub = await startHub({ heartbeat: '2s', unreachableAfter: '10s', extraArgs: ['--node-cert-ttl', '30s'] });
    const h = hub;
    const tok = await createToken(h);
    agent = startAgentJoin(h, tok.token);
    const a = agent;
    await waitFor(
      'the agent connected',
      async () => {
        const items = (await h.api<{ items: Array<{ connected: boolean; state: string }> }>('GET', '/v1/nodes')).body
          .items;
        return items.length === 1 && items[0].connected && items[0].state === 'ready';
      },
      20_000,
    );
    const first = identityOf(a.dataDir);
    const firstNotAfter = Date.parse(new X509Certificate(readFileSync(join(a.dataDir, first.certFile))).validTo);
    const received = Date.parse(first.certReceivedAt);
    const due = received + ((firstNotAfter - received) * 2) / 3;

    // Pause the hub a moment before the agent asks; keep it paused until the agent has sent its
    // request and given up on the silent link.
    await sleep(due - 1_500 - Date.now());
    process.kill(h.proc.child.pid!, 'SIGSTOP');
    paused = true;
    const logged = (re: RegExp, from: number): boolean => re.test(a.proc.stderr().slice(from));
    const mark = a.proc.stderr().length;
    await waitFor(
      'the agent sent its renewal request',
      () => logged(/renewing the client certificate/, mark),
      10_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nagent stderr (tail):\n${a.proc.stderr().slice(-3000)}`);
    });
    const sent = a.proc.stderr().length;
    await waitFor('the agent dropped the silent link', () => logged(/heartbeat timeout/, sent), 20_000);
    assert.equal(
      identityOf(a.dataDir).certFile,
      first.certFile,
      'the request went to the paused hub (not answered before the pause)',
    );
    process.kill(h.proc.child.pid!, 'SIGCONT');
    paused = false;

    await waitFor(
      'a renewed certificate stored by the agent',
      () => identityOf(a.dataDir).certFile !== first.certFile,
      20_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nagent stderr (tail):\n${a.proc.stderr().slice(-3000)}`);
    });
    // Past the first certificate's expiry the node is still there, on a link made with the new one.
    await sleep(firstNotAfter + 1_000 - Date.now());
    const node = await waitFor(
      'connected after the first certificate expired',
      async () => {
        const n = (
          await h.api<{ items: Array<{ id: string; connected: boolean; connectedAt: string }> }>('GET', '/v1/nodes')
        ).body.items[0];
        return n.connected ? n : undefined;
      },
      10_000,
    );
    const certs = (
      await h.api<{ certificates: Array<{ serial: string; revokedAt: string | null; usedAt?: string }> }>(
        'GET',
        `/v1/nodes/${node.id}`,
      )
    ).body.certificates;
    const current = identityOf(a.dataDir).certFile.replace(/^node-|\.crt$/g, '');
    assert.ok(certs.find((c) => c.serial === current)?.usedAt, 'the agent connected with its new certificate');
    assert.ok(
      certs.filter((c) => c.serial !== current).every((c) => c.revokedAt),
      'the certificate it replaced is revoked',
    );
    assert.ok(certs.length <= 3, `no certificate minted per retry: ${certs.length}`);
  },
);
