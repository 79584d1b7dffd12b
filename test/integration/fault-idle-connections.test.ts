// Idle connections cannot use up the hub's file descriptors: one source address holds at most its
// per-source cap on each listener, a listener at most its total cap (extra sockets are closed at once,
// before TLS), and sockets that never finish TLS or never send a request are closed by the handshake
// deadline. Meanwhile the API, joins and agent connects from elsewhere keep working.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
  scrapeMetrics,
  type HubHandle,
  type AgentHandle,
} from '../helpers/processes.js';
import { createToken, waitForConnectedNode, stopProc } from '../helpers/bad-input.js';

const hubs: HubHandle[] = [];
const agents: AgentHandle[] = [];
const sockets: Socket[] = [];
after(async () => {
  for (const s of sockets) s.destroy();
  for (const a of agents) await stopProc(a.proc, 2_000);
  for (const h of hubs) await stopProc(h.proc, 3_000);
  for (const a of agents) removeDir(a.dataDir);
  for (const h of hubs) removeDir(h.dataDir);
});

interface Idle {
  socket: Socket;
  opened: number;
  closedAt?: number;
}

/** Opens `count` TCP connections from `localAddress` that send nothing; resolves once all are connected or closed. */
async function openIdle(port: number, localAddress: string, count: number): Promise<Idle[]> {
  const out: Idle[] = [];
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const socket = tcpConnect({ port, host: '127.0.0.1', localAddress });
          const idle: Idle = { socket, opened: Date.now() };
          sockets.push(socket);
          out.push(idle);
          socket.on('error', () => undefined);
          socket.on('data', () => undefined);
          socket.on('close', () => {
            idle.closedAt = Date.now();
            resolve();
          });
          socket.on('connect', () => resolve());
        }),
    ),
  );
  return out;
}

const openCount = (list: Idle[]): number => list.filter((i) => i.closedAt === undefined).length;

function metric(body: string, name: string, labels: string): number {
  const line = body.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : NaN;
}

test(
  'one source over its per-source cap: the extra sockets are closed at once; the API, a join and an agent connect still work',
  { timeout: 90_000 },
  async () => {
    const GW_CAP = 100;
    const API_CAP = 30;
    const EXTRA = 50;
    const h = await startHub({
      extraArgs: [
        '--gateway-max-connections-per-source',
        String(GW_CAP),
        '--api-max-connections-per-source',
        String(API_CAP),
        '--handshake-timeout',
        '30s',
      ],
    });
    hubs.push(h);
    const gwIdle = await openIdle(h.gatewayPort, '127.0.0.2', GW_CAP + EXTRA);
    const apiIdle = await openIdle(h.apiPort, '127.0.0.2', API_CAP + EXTRA);
    await waitFor(
      'the sockets over the cap closed',
      () => openCount(gwIdle) === GW_CAP && openCount(apiIdle) === API_CAP,
      5_000,
      50,
    ).catch(() => undefined);
    assert.equal(
      openCount(gwIdle),
      GW_CAP,
      `gateway: ${openCount(gwIdle)} of ${GW_CAP + EXTRA} idle sockets from one source still open`,
    );
    assert.equal(
      openCount(apiIdle),
      API_CAP,
      `api: ${openCount(apiIdle)} of ${API_CAP + EXTRA} idle sockets from one source still open`,
    );
    const slowest = Math.max(
      ...[...gwIdle, ...apiIdle].filter((i) => i.closedAt !== undefined).map((i) => i.closedAt! - i.opened),
    );
    assert.ok(slowest < 3_000, `extra sockets closed within ${slowest} ms, not by a timeout`);

    // Others are served while that source holds its full share.
    assert.equal((await h.api('GET', '/healthz')).status, 200);
    const tok = await createToken(h);
    const agent = startAgentJoin(h, tok.token, { args: ['--node-name', 'beside-the-flood'] });
    agents.push(agent);
    const node = await waitForConnectedNode(h, 'beside-the-flood');
    assert.equal(node.state, 'ready');

    const m = (await scrapeMetrics(h)).body;
    assert.equal(metric(m, 'atoll_connections_refused_total', 'listener="gateway",reason="per-source"'), EXTRA);
    assert.equal(metric(m, 'atoll_connections_refused_total', 'listener="api",reason="per-source"'), EXTRA);
    assert.ok(
      metric(m, 'atoll_connections', 'listener="gateway"') >= GW_CAP + 1,
      'the gateway counts the idle sockets and the agent',
    );
    assert.ok(metric(m, 'atoll_connections', 'listener="api"') >= API_CAP, 'the API counts the idle sockets');
    assert.equal(openCount(gwIdle), GW_CAP, 'the idle sockets within the cap were left alone');
  },
);

test(
  'a listener over its total cap refuses new sockets; sockets without TLS or without a request are closed by the handshake deadline',
  { timeout: 60_000 },
  async () => {
    const TOTAL = 20;
    const h = await startHub({
      extraArgs: [
        '--gateway-max-connections',
        String(TOTAL),
        '--gateway-max-connections-per-source',
        '1000',
        '--handshake-timeout',
        '1s',
      ],
    });
    hubs.push(h);
    const started = Date.now();
    const [a, b] = await Promise.all([
      openIdle(h.gatewayPort, '127.0.0.3', 15),
      openIdle(h.gatewayPort, '127.0.0.4', 15),
    ]);
    await waitFor('the sockets over the total cap closed', () => openCount([...a, ...b]) === TOTAL, 800, 20).catch(
      () => undefined,
    );
    const early = [...a, ...b].filter((i) => i.closedAt !== undefined && i.closedAt - i.opened < 500).length;
    assert.equal(early, 30 - TOTAL, 'the sockets over the total cap closed at once');

    // Raw TCP to the API that never starts TLS, and a TLS connection that never sends a request.
    const apiRaw = await openIdle(h.apiPort, '127.0.0.5', 1);
    let silentClosedAt: number | undefined;
    const silent = tlsConnect({
      host: '127.0.0.1',
      port: h.apiPort,
      ca: h.caPem(),
      servername: 'localhost',
      checkServerIdentity: () => undefined,
    });
    sockets.push(silent);
    silent.on('error', () => undefined);
    silent.on('data', () => undefined);
    silent.on('close', () => {
      silentClosedAt = Date.now();
    });
    await new Promise<void>((resolve, reject) => {
      silent.once('secureConnect', resolve);
      silent.once('close', () => reject(new Error('TLS to the API failed')));
    });
    const tlsDone = Date.now();

    await waitFor(
      'idle sockets closed by the handshake deadline',
      () => openCount([...a, ...b, ...apiRaw]) === 0 && silentClosedAt !== undefined,
      6_000,
      50,
    ).catch(() => undefined);
    assert.equal(openCount([...a, ...b]), 0, 'idle gateway sockets closed');
    assert.equal(openCount(apiRaw), 0, 'the raw TCP socket to the API closed');
    assert.ok(silentClosedAt !== undefined, 'the TLS connection without a request was closed');
    const rawAge = apiRaw[0].closedAt! - apiRaw[0].opened;
    assert.ok(rawAge >= 900 && rawAge < 4_000, `raw TCP socket to the API closed after ${rawAge} ms (deadline 1 s)`);
    assert.ok(
      silentClosedAt! - tlsDone >= 900 && silentClosedAt! - tlsDone < 4_000,
      `TLS without a request closed after ${silentClosedAt! - tlsDone} ms`,
    );
    assert.ok(Date.now() - started < 10_000);

    // With the idle ones gone the gateway takes connections again.
    assert.equal(await fetchCacerts(h), 200);
    const m = (await scrapeMetrics(h)).body;
    assert.equal(metric(m, 'atoll_connections_refused_total', 'listener="gateway",reason="total"'), 30 - TOTAL);
    assert.equal(metric(m, 'atoll_connections_refused_total', 'listener="gateway",reason="handshake-timeout"'), TOTAL);
    assert.equal(metric(m, 'atoll_connections_refused_total', 'listener="api",reason="handshake-timeout"'), 1);
    assert.equal(metric(m, 'atoll_connections_refused_total', 'listener="api",reason="request-timeout"'), 1);
  },
);

function fetchCacerts(h: HubHandle): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect(
      {
        host: '127.0.0.1',
        port: h.gatewayPort,
        ca: h.caPem(),
        servername: 'localhost',
        checkServerIdentity: () => undefined,
      },
      () => {
        s.write('GET /cacerts HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n');
      },
    );
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString();
    });
    s.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0)));
    s.on('error', reject);
  });
}
