// The externalgrpc listener (--autoscaler-grpc-listen) is bounded like the API and the gateway: one
// source address holds at most 8 connections (the extra ones are closed at once, before TLS, and
// counted in atoll_connections_refused_total{listener="autoscaler-grpc",reason="per-source"}), a
// socket that never finishes the TLS handshake is closed after --handshake-timeout, and meanwhile
// cluster-autoscaler from another address is served.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import {
  startHub,
  waitFor,
  removeDir,
  removeTree,
  runCli,
  scrapeMetrics,
  HUB_BIN,
  type HubHandle,
} from '../helpers/processes.js';
import { freePort } from '../helpers/ports.js';
import { externalGrpcServiceDefinition } from '../../proto/externalgrpc-service.js';

const work = mkdtempSync(join(tmpdir(), 'atoll-grpc-limits-'));
let hub: HubHandle | undefined;
const sockets: Socket[] = [];
const CloudProvider = makeGenericClientConstructor(externalGrpcServiceDefinition(), 'CloudProvider');
after(async () => {
  for (const s of sockets) s.destroy();
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
  removeTree(work);
});

interface Idle {
  opened: number;
  closedAt?: number;
}

/** `count` TCP connections from `localAddress` that send nothing; resolves once each is connected or closed. */
async function openIdle(port: number, localAddress: string, count: number): Promise<Idle[]> {
  const out: Idle[] = [];
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const socket = tcpConnect({ port, host: '127.0.0.1', localAddress });
          const idle: Idle = { opened: Date.now() };
          sockets.push(socket);
          out.push(idle);
          socket.on('error', () => undefined);
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

test(
  'the autoscaler gRPC listener: 8 connections per source, a TLS handshake deadline, other sources served',
  { timeout: 60_000 },
  async () => {
    const HANDSHAKE_MS = 2_000;
    const port = await freePort();
    hub = await startHub({
      extraArgs: ['--autoscaler-grpc-listen', `127.0.0.1:${port}`, '--handshake-timeout', `${HANDSHAKE_MS}ms`],
    });
    const certDir = join(work, 'certs');
    const cli = await runCli(HUB_BIN, ['autoscaler', 'cert', '--out', certDir, '--data-dir', hub.dataDir]);
    assert.equal(cli.code, 0, cli.stderr);

    // 12 idle sockets from 127.0.0.2: 8 stay, 4 are closed at once, not by a timeout.
    const flood = await openIdle(port, '127.0.0.2', 12);
    await waitFor('the extra sockets closed', () => openCount(flood) === 8, 1_500, 20).catch(() => undefined);
    assert.equal(openCount(flood), 8, `${openCount(flood)} of 12 idle sockets from one source still open`);
    const extra = flood.filter((i) => i.closedAt !== undefined).map((i) => i.closedAt! - i.opened);
    assert.ok(Math.max(...extra) < 1_000, `the extra sockets closed within ${Math.max(...extra)} ms`);

    // cluster-autoscaler from 127.0.0.1 is served while 127.0.0.2 holds its full share.
    const file = (f: string): Buffer => readFileSync(join(certDir, f));
    const client = new CloudProvider(
      `127.0.0.1:${port}`,
      credentials.createSsl(file('ca.crt'), file('tls.key'), file('tls.crt')),
    );
    try {
      const groups = await new Promise<{ nodeGroups?: Array<{ id: string }> }>((resolve, reject) =>
        (client as unknown as Record<string, (...a: unknown[]) => void>).NodeGroups(
          {},
          { deadline: Date.now() + 10_000 },
          (err: Error | null, res: { nodeGroups: Array<{ id: string }> }) => (err ? reject(err) : resolve(res)),
        ),
      );
      // Served: no pool opted in to autoscale here, so no node groups.
      assert.deepEqual(groups.nodeGroups ?? [], []);
    } finally {
      client.close();
    }

    // The 8 that never started TLS are closed by the handshake deadline.
    await waitFor('the idle sockets closed by the deadline', () => openCount(flood) === 0, HANDSHAKE_MS + 5_000, 50);
    const held = flood.slice().sort((a, b) => (b.closedAt ?? 0) - (a.closedAt ?? 0))[0];
    const heldMs = held.closedAt! - held.opened;
    assert.ok(
      heldMs >= HANDSHAKE_MS - 200 && heldMs < HANDSHAKE_MS + 4_000,
      `closed ${heldMs} ms after opening (deadline ${HANDSHAKE_MS})`,
    );

    const m = (await scrapeMetrics(hub)).body;
    const line = m
      .split('\n')
      .find((l) => l.startsWith('atoll_connections_refused_total{listener="autoscaler-grpc",reason="per-source"}'));
    assert.equal(Number(line?.split(' ').pop()), 4, line);
  },
);
