// The live link: certificate renewal over the channel, one connection per node, half-open TCP
// noticed on both sides within about two intervals, and secrets kept out of logs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
  type HubHandle,
  type AgentHandle,
} from '../helpers/processes.js';
import { freePort } from '../helpers/ports.js';
import { encodeFrame, decodeFrame, PROTOCOL_VERSION } from '../../proto/index.js';

interface Ev {
  type: string;
  nodeId: string | null;
  message: string;
  data: Record<string, unknown>;
}

const hubs: HubHandle[] = [];
const agents: AgentHandle[] = [];
const servers: Server[] = [];
after(async () => {
  for (const a of agents) await a.proc.kill('SIGKILL');
  for (const h of hubs) await h.stop('SIGKILL');
  for (const s of servers) s.close();
  for (const a of agents) removeDir(a.dataDir);
  for (const h of hubs) removeDir(h.dataDir);
});

async function token(hub: HubHandle, body: Record<string, unknown> = {}): Promise<string> {
  const r = await hub.api<{ token: string }>('POST', '/v1/tokens', { ttl: '10m', ...body });
  assert.equal(r.status, 201);
  return r.body.token;
}

async function events(hub: HubHandle, nodeId?: string): Promise<Ev[]> {
  return (await hub.api<{ items: Ev[] }>('GET', `/v1/events?limit=1000${nodeId ? `&node=${nodeId}` : ''}`)).body.items;
}

async function onlyNode(hub: HubHandle): Promise<{ id: string; state: string; connected: boolean }> {
  const items = (await hub.api<{ items: Array<{ id: string; state: string; connected: boolean }> }>('GET', '/v1/nodes'))
    .body.items;
  assert.equal(items.length, 1);
  return items[0];
}

test('the agent renews its certificate over the channel at two thirds of its lifetime', async () => {
  const hub = await startHub({ heartbeat: '500ms', unreachableAfter: '3s', extraArgs: ['--node-cert-ttl', '9s'] });
  hubs.push(hub);
  const agent = startAgentJoin(hub, await token(hub));
  agents.push(agent);
  const node = await waitFor('ready', async () => {
    const n = await onlyNode(hub).catch(() => undefined);
    return n?.state === 'ready' ? n : undefined;
  });
  const firstCert = JSON.parse(readFileSync(join(agent.dataDir, 'identity.json'), 'utf8')).certFile as string;
  await waitFor(
    'a renewal event',
    async () => (await events(hub, node.id)).some((e) => e.type === 'node.cert-renewed'),
    12_000,
  );
  // The agent stores the new pair right after the hub answers.
  await waitFor(
    'a new certificate in use',
    () => JSON.parse(readFileSync(join(agent.dataDir, 'identity.json'), 'utf8')).certFile !== firstCert,
    5_000,
  );
  const certs = (await hub.api<{ certificates: Array<{ serial: string }> }>('GET', `/v1/nodes/${node.id}`)).body
    .certificates;
  assert.ok(certs.length >= 2, 'both certificates are recorded');
  // Past the first certificate's expiry, a restarted agent still connects: it uses the renewed one.
  await new Promise((r) => setTimeout(r, 9_500));
  await agent.proc.kill('SIGTERM');
  agent.run();
  await waitFor('reconnected with the renewed certificate', async () => (await onlyNode(hub)).connected, 10_000);
  await hub.stop();
});

test('a second connection of the same node replaces the first', async () => {
  const hub = await startHub({ heartbeat: '1s' });
  hubs.push(hub);
  const agent = startAgentJoin(hub, await token(hub));
  agents.push(agent);
  const node = await waitFor('ready', async () => {
    const n = await onlyNode(hub).catch(() => undefined);
    return n?.state === 'ready' ? n : undefined;
  });
  await agent.proc.kill('SIGTERM');
  const id = JSON.parse(readFileSync(join(agent.dataDir, 'identity.json'), 'utf8')) as {
    keyFile: string;
    certFile: string;
  };
  const tls = {
    cert: readFileSync(join(agent.dataDir, id.certFile)),
    key: readFileSync(join(agent.dataDir, id.keyFile)),
    ca: hub.caPem(),
  };
  const open = async (): Promise<{
    ws: WebSocket;
    frames: ReturnType<typeof decodeFrame>[];
    closed: Promise<number>;
  }> => {
    const ws = new WebSocket(`${hub.gatewayUrl.replace('https', 'wss')}/v1/agent/connect`, tls);
    const frames: ReturnType<typeof decodeFrame>[] = [];
    ws.on('message', (d: Buffer) => frames.push(decodeFrame(d)));
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    ws.send(
      encodeFrame({
        protocolVersion: PROTOCOL_VERSION,
        messageId: 1,
        hello: { nodeId: node.id, agentVersion: 'test' },
      }),
    );
    await waitFor('welcome', () => frames.some((f) => f.payload === 'welcome'));
    return { ws, frames, closed };
  };
  const first = await open();
  const second = await open();
  assert.equal(await first.closed, 1000);
  const close = first.frames.find((f) => f.payload === 'close');
  assert.equal(close?.close?.code, 'REPLACED');
  assert.equal(second.ws.readyState, WebSocket.OPEN, 'the newer connection stays');
  const connected = (await events(hub, node.id)).filter((e) => e.type === 'node.connected');
  assert.equal(connected.at(-1)?.data.replaced, true);
  second.ws.close();
  await hub.stop();
});

/** A TCP proxy that can freeze: it stops forwarding without closing anything (a half-open link). */
async function freezableProxy(
  targetPort: number,
  port: number,
): Promise<{ port: number; freeze(): void; thaw(): void }> {
  let frozen = false;
  const pairs: Array<[Socket, Socket]> = [];
  const server = createServer((client) => {
    // While frozen the path is down: new connections fail at once (old ones just hang).
    if (frozen) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    pairs.push([client, upstream]);
    const pipe = (from: Socket, to: Socket): void => {
      from.on('data', (d) => {
        if (!frozen) to.write(d);
      });
      // A frozen path passes nothing on, not even a reset: only the far side's own timers may notice.
      from.on('error', () => {
        if (!frozen) to.destroy();
      });
      from.on('close', () => {
        if (!frozen) to.destroy();
      });
    };
    pipe(client, upstream);
    pipe(upstream, client);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port,
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      // Connections that were frozen stay dead; new ones flow again.
      for (const [a, b] of pairs.splice(0)) {
        a.removeAllListeners('data');
        b.removeAllListeners('data');
      }
    },
  };
}

test('a half-open link is noticed on both sides within about two intervals, then the agent reconnects', async () => {
  // The hub is reached only through the proxy, and says so (--public-url): the agent has no other
  // path to fail over to (on PostgreSQL the welcome lists each hub's public URL).
  const proxyPort = await freePort();
  const hub = await startHub({
    heartbeat: '500ms',
    unreachableAfter: '5s',
    publicUrl: `https://127.0.0.1:${proxyPort}`,
  });
  hubs.push(hub);
  const proxy = await freezableProxy(hub.gatewayPort, proxyPort);
  const viaProxy = { gatewayUrl: `https://127.0.0.1:${proxy.port}` };
  const secret = await token(hub);
  const agent = startAgentJoin(viaProxy, secret);
  agents.push(agent);
  const node = await waitFor('ready', async () => {
    const n = await onlyNode(hub).catch(() => undefined);
    return n?.state === 'ready' && n.connected ? n : undefined;
  });
  proxy.freeze();
  const frozenAt = Date.now();
  const hubSide = await waitFor(
    'hub closes the silent link',
    async () =>
      (await events(hub, node.id)).find((e) => e.type === 'node.disconnected' && /heartbeat/i.test(e.message)),
    6_000,
  ).catch(async (err: Error) => {
    const seen = (await events(hub, node.id)).map((e) => `${e.type}: ${e.message}`);
    throw new Error(
      `${err.message}; events: ${JSON.stringify(seen)}; hub log tail: ${hub.proc.stderr().slice(-1500)}; agent log: ${agent.proc.stderr().slice(-3000)}`,
    );
  });
  const hubNoticedMs = Date.now() - frozenAt;
  await waitFor('agent notices the silent hub', () => /heartbeat timeout/.test(agent.proc.stderr()), 6_000);
  const agentNoticedMs = Date.now() - frozenAt;
  // Two intervals of 500 ms plus the 1 s slack and the check period: well under 4 s on both sides.
  assert.ok(hubNoticedMs < 4_000, `hub took ${hubNoticedMs} ms`);
  assert.ok(agentNoticedMs < 4_000, `agent took ${agentNoticedMs} ms`);
  assert.ok(hubSide);
  proxy.thaw();
  await waitFor(
    'agent back through a fresh connection',
    async () => {
      const n = await onlyNode(hub);
      return n.connected && n.state === 'ready';
    },
    10_000,
  );

  // Nothing secret reached the logs of either side.
  const tokenSecret = secret.split('.').at(-1)!;
  for (const [who, text] of [
    ['hub', hub.proc.stderr() + hub.proc.stdout()],
    ['agent', agent.proc.stderr() + agent.proc.stdout()],
  ] as const) {
    assert.ok(!text.includes(tokenSecret), `${who} logged the token secret`);
    assert.ok(!text.includes('PRIVATE KEY'), `${who} logged a private key`);
  }
  await hub.stop();
});
