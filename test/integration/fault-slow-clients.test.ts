// Slow and deaf clients at the gateway: slowloris at the TLS handshake and in the HTTP headers, and an
// agent WebSocket that never reads while it makes the hub answer. The hub drops them within its
// timeouts with bounded memory, and a real agent connected meanwhile stays ready and keeps reporting.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
  type HubHandle,
  type AgentHandle,
} from '../helpers/processes.js';
import {
  createToken,
  rawJoin,
  wsConnect,
  waitForConnectedNode,
  rssBytes,
  stopProc,
  type RawLink,
} from '../helpers/bad-input.js';

let hub: HubHandle | undefined;
let agent: AgentHandle | undefined;
const sockets: Duplex[] = [];
const timers: NodeJS.Timeout[] = [];
after(async () => {
  for (const t of timers) clearInterval(t);
  for (const s of sockets) s.destroy();
  await stopProc(agent?.proc, 2_000);
  await stopProc(hub?.proc, 3_000);
  if (agent) removeDir(agent.dataDir);
  if (hub) removeDir(hub.dataDir);
});

const SLOW = 40;
const DROP_WITHIN_MS = 16_000;

interface Tracked {
  opened: number;
  closedAt?: number;
}

function track(sock: Duplex): Tracked {
  const t: Tracked = { opened: Date.now() };
  sockets.push(sock);
  sock.on('error', () => undefined);
  sock.on('data', () => undefined);
  sock.on('close', () => {
    t.closedAt = Date.now();
  });
  return t;
}

test(
  'slowloris and a deaf WebSocket are dropped with bounded memory; a real agent is not disturbed',
  { timeout: 90_000 },
  async () => {
    hub = await startHub({ heartbeat: '1s', unreachableAfter: '5s', extraArgs: ['--join-rate-limit', '100000'] });
    const h = hub;
    const tok = await createToken(h, { reusable: true });
    agent = startAgentJoin(h, tok.token, { args: ['--node-name', 'witness'] });
    const witness = await waitForConnectedNode(h, 'witness');
    const deafNode = await rawJoin(h, tok.token, 'deaf');
    const rss0 = rssBytes(h.proc.child.pid!)!;

    // 1. TCP opened, a few bytes of a TLS ClientHello, then nothing.
    const tcp: Tracked[] = [];
    for (let i = 0; i < SLOW; i++) {
      const s: Socket = tcpConnect(h.gatewayPort, '127.0.0.1', () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x02])));
      tcp.push(track(s));
    }
    // 2. TLS done, then an HTTP request whose headers trickle in, one byte every 300 ms.
    const http: Tracked[] = [];
    for (let i = 0; i < SLOW; i++) {
      const s = tlsConnect(
        {
          host: '127.0.0.1',
          port: h.gatewayPort,
          ca: h.caPem(),
          servername: 'localhost',
          checkServerIdentity: () => undefined,
        },
        () => {
          s.write('GET /v1/agent/connect HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\n');
          let n = 0;
          const trickle = setInterval(() => {
            if (s.destroyed || n++ > 200) return clearInterval(trickle);
            s.write(n % 20 === 0 ? '\r\n' : 'x');
          }, 300);
          timers.push(trickle);
        },
      );
      http.push(track(s));
    }

    // 3. A certified agent that says hello, then never reads, while it keeps the hub answering pings.
    const o = await wsConnect(h, { certPem: deafNode.certPem, keyPem: deafNode.keyPem });
    assert.equal(o.kind, 'open');
    const deaf = (o as { link: RawLink }).link;
    deaf.hello(deafNode.nodeId);
    await deaf.waitFrame('welcome');
    const raw = (deaf.ws as unknown as { _socket: Socket })._socket;
    raw.pause();
    let deafClosed = false;
    raw.on('close', () => {
      deafClosed = true;
    });
    deaf.ws.on('close', () => {
      deafClosed = true;
    });
    let pings = 0;
    let rssPeak = rss0;
    const floodUntil = Date.now() + 30_000;
    const dropped = async (): Promise<boolean> => {
      const ev = (
        await h.api<{ items: Array<{ message: string }> }>(
          'GET',
          `/v1/events?type=node.disconnected&node=${deafNode.nodeId}`,
        )
      ).body.items;
      return ev.some((e) => /SLOW_CONSUMER/.test(e.message));
    };
    let hubDropped = false;
    for (let round = 0; round < 2000 && Date.now() < floodUntil && !deafClosed; round++) {
      for (let i = 0; i < 2000 && deaf.ws.readyState === deaf.ws.OPEN; i++) {
        deaf.send({ ping: { nonce: ++pings } });
      }
      // Do not let our own send buffer grow without bound either.
      while (deaf.ws.bufferedAmount > 1 << 20 && Date.now() < floodUntil && !deafClosed)
        await new Promise((r) => setTimeout(r, 20));
      if (round % 25 === 24) {
        rssPeak = Math.max(rssPeak, rssBytes(h.proc.child.pid!) ?? 0);
        if ((hubDropped = await dropped())) break;
      }
    }
    hubDropped ||= await waitFor('the hub drops the deaf agent', dropped, 10_000).catch(() => false);
    assert.ok(hubDropped, `the hub dropped the agent that does not read (after ${pings} pings)`);
    deaf.terminate();

    // The slowloris sockets are all dropped within the gateway's timeouts.
    await waitFor(
      'every slowloris socket dropped',
      () => [...tcp, ...http].every((t) => t.closedAt !== undefined),
      DROP_WITHIN_MS + 5_000,
      200,
    ).catch(() => undefined);
    const open = [...tcp, ...http].filter((t) => t.closedAt === undefined).length;
    assert.equal(open, 0, `${open} slow sockets still open`);
    const late = [...tcp, ...http].filter((t) => t.closedAt! - t.opened > DROP_WITHIN_MS).length;
    assert.equal(late, 0, `${late} slow sockets were dropped only after ${DROP_WITHIN_MS} ms`);
    rssPeak = Math.max(rssPeak, rssBytes(h.proc.child.pid!) ?? 0);
    const growthMiB = (rssPeak - rss0) / 2 ** 20;
    assert.ok(
      growthMiB < 96,
      `hub RSS grew by ${growthMiB.toFixed(1)} MiB (${pings} pings from a deaf agent, ${2 * SLOW} slow sockets)`,
    );

    // The real agent was not disturbed: same connection, still ready, and its reports still land.
    const now = (
      await h.api<{ state: string; connected: boolean; connectedAt: string; lastSeen: string }>(
        'GET',
        `/v1/nodes/${witness.id}`,
      )
    ).body;
    assert.equal(now.connected, true);
    assert.equal(now.connectedAt, witness.connectedAt, 'the real agent kept its connection');
    assert.equal(now.state, 'ready');
    await waitFor(
      'a fresh report from the real agent',
      async () => {
        const n = (await h.api<{ lastSeen: string }>('GET', `/v1/nodes/${witness.id}`)).body;
        return Date.now() - Date.parse(n.lastSeen) < 3_000;
      },
      5_000,
    );
    assert.equal((await h.api('GET', '/healthz')).status, 200);
  },
);
