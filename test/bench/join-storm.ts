// Benchmark: a join storm and a command fan-out on one real hub process.
//  1. Join storm: N new simulated agents join with one reusable token (POST /v1/join over a fresh TLS
//     connection each, as separate VMs would), each connecting its mTLS WebSocket right after its
//     certificate arrives. Figures: joins/s, join latency, and join -> ready (from the agent's join
//     request to the hub's node.state "ready" event), hub CPU per join.
//  2. Command fan-out: restart-k3s to every agent through the API (POST .../actions/restart-k3s?wait=0,
//     durable commands), until every result is stored. Figures: time until all answered, per-command
//     send -> result latency.
//
//   npm run build && node --import tsx test/bench/join-storm.ts [--n 1000] [--help]
//
// Not part of npm test. Keys come from the simulator's cache (made once, like connect.ts); the hub,
// the simulator and every socket are stopped before it exits, and the run is bounded by --timeout.
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'node:https';
import { startHub, removeDir, type HubHandle } from '../helpers/processes.js';
import { Simulator, DEFAULT_OPTIONS } from './simulator.js';
import { createReusableToken, prepareIdentities, forgetHub, loadOrMakeKey, nodeNameFor } from './sim-identities.js';
import { cpuSeconds, parseDurationMs, round, rssKiB, summarize, type Summary } from './stats.js';

const HELP = `atoll join-storm and command fan-out benchmark

usage: npm run build && node --import tsx test/bench/join-storm.ts [options]
  --n N                   new agents (default 1000)
  --join-concurrency C    joins in flight (default 32)
  --heartbeat DUR         hub heartbeat / report interval (default 10s)
  --api-concurrency C     fan-out API calls in flight (default 32)
  --no-fanout             join storm only
  --identity-dir DIR      key cache (default ${DEFAULT_OPTIONS.identityDir})
  --hub-data-parent DIR   where the hub's temporary data dir goes (default the OS temp dir)
  --timeout DUR           overall limit (default 10m)
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Ev {
  id: number;
  at: string;
  type: string;
  nodeId: string | null;
  data: Record<string, unknown>;
}

function apiJson<T>(agent: Agent, hub: HubHandle, method: string, path: string): Promise<{ status: number; body: T }> {
  return new Promise((res, rej) => {
    const req = request(
      new URL(path, hub.apiUrl),
      { method, agent, ca: hub.caPem(), timeout: 30_000, headers: { authorization: `Bearer ${hub.adminToken()}` } },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          try {
            res({ status: r.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as T });
          } catch (err) {
            rej(err as Error);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('API timeout')));
    req.on('error', rej);
    req.end();
  });
}

async function eventsOfType(agent: Agent, hub: HubHandle, type: string, since = 0): Promise<Ev[]> {
  const out: Ev[] = [];
  let cursor = since;
  for (let page = 0; page < 1000; page++) {
    const r = await apiJson<{ items: Ev[]; cursor: number }>(
      agent,
      hub,
      'GET',
      `/v1/events?type=${type}&since=${cursor}&limit=1000`,
    );
    out.push(...r.body.items);
    if (r.body.items.length < 1000) break;
    cursor = r.body.cursor;
  }
  return out;
}

async function pool(count: number, concurrency: number, fn: (k: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

function fmt(s: Summary): string {
  return `p50 ${s.p50}  p90 ${s.p90}  p99 ${s.p99}  max ${s.max}  (n=${s.count})`;
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      n: { type: 'string' },
      'join-concurrency': { type: 'string' },
      heartbeat: { type: 'string' },
      'api-concurrency': { type: 'string' },
      'no-fanout': { type: 'boolean' },
      'identity-dir': { type: 'string' },
      'hub-data-parent': { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const n = Number(v.n ?? 1000);
  const joinConcurrency = Number(v['join-concurrency'] ?? 32);
  const apiConcurrency = Number(v['api-concurrency'] ?? 32);
  const heartbeatMs = parseDurationMs(v.heartbeat ?? '10s');
  const timeoutMs = parseDurationMs(v.timeout ?? '10m');
  const identityDir = v['identity-dir'] ? resolve(v['identity-dir']) : DEFAULT_OPTIONS.identityDir;
  const dataParent = resolve(v['hub-data-parent'] ?? tmpdir());
  const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

  let hub: HubHandle | undefined;
  let sim: Simulator | undefined;
  const api = new Agent({ keepAlive: true, maxSockets: apiConcurrency });
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaning ??= (async () => {
      api.destroy();
      if (sim?.caPem) forgetHub(identityDir, sim.caPem);
      await sim?.stop().catch(() => undefined);
      if (hub) {
        const h = hub;
        const killer = setTimeout(() => h.proc.child.kill('SIGKILL'), 10_000);
        await h.stop('SIGTERM');
        clearTimeout(killer);
        removeDir(h.dataDir);
      }
    })();
    return cleaning;
  };
  const overall = setTimeout(() => {
    log(`overall timeout of ${timeoutMs} ms reached; stopping`);
    void cleanup().finally(() => process.exit(1));
  }, timeoutMs);
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

  try {
    const loadAtStart = loadavg().map((x) => round(x));
    const h = await startHub({
      heartbeat: `${heartbeatMs}ms`,
      unreachableAfter: `${3 * heartbeatMs}ms`,
      dataDir: join(mkdtempSync(join(dataParent, 'atoll-bench-hub-')), 'data'),
      // Every simulated agent connects from 127.0.0.1: lift the per-source cap (a real fleet has many addresses).
      extraArgs: ['--gateway-max-connections-per-source', '1000000', '--join-rate-limit', '100000000'],
      env: { ATOLL_LOG_LEVEL: 'warn' },
    });
    hub = h;
    const pid = h.proc.child.pid as number;
    const token = await createReusableToken(h.apiUrl, h.caPem(), h.adminToken());
    const s = new Simulator({
      ...DEFAULT_OPTIONS,
      gatewayUrl: h.gatewayUrl,
      token,
      count: n,
      first: 0,
      identityDir,
      connectConcurrency: 200,
      joinConcurrency: 1,
    });
    sim = s;
    await s.init();
    // Keys first (cached on disk after the first run): a VM makes its key before it joins.
    log(`loading or making ${n} keys in ${identityDir}`);
    let made = 0;
    await pool(n, 4, async (i) => {
      if ((await loadOrMakeKey(identityDir, i)).generated) made++;
    });
    if (made) log(`made ${made} keys`);
    await sleep(1000);
    const rss0 = rssKiB(pid);

    log(`join storm: ${n} agents, ${joinConcurrency} joins in flight`);
    const startedAt = new Map<string, number>();
    const joinMs: number[] = [];
    let failed = 0;
    const errors: string[] = [];
    const cpu0 = cpuSeconds(pid);
    const t0 = Date.now();
    let lastJoin = t0;
    await pool(n, joinConcurrency, async (i) => {
      const name = nodeNameFor('storm', i);
      const started = Date.now();
      startedAt.set(name, started);
      try {
        const { identities, report } = await prepareIdentities(
          { gatewayUrl: h.gatewayUrl, token, identityDir, namePrefix: 'storm', joinConcurrency: 1 },
          s.caPem,
          i,
          1,
        );
        if (!identities[0]) throw new Error(report.errors.join('; ') || 'join failed');
        lastJoin = Date.now();
        joinMs.push(lastJoin - started);
        s.adopt(identities[0]);
      } catch (err) {
        failed++;
        if (errors.length < 5) errors.push((err as Error).message);
      }
    });
    const joinWallMs = lastJoin - t0;
    const joinCpu = cpuSeconds(pid) - cpu0;
    const ready = new Map<string, number>();
    const readyDeadline = Date.now() + Math.max(30_000, n * 60);
    let states: Ev[] = [];
    const joinedEvents = new Map<string, string>();
    while (Date.now() < readyDeadline) {
      states = await eventsOfType(api, h, 'node.state');
      for (const e of states)
        if (e.data.to === 'ready' && e.nodeId && !ready.has(e.nodeId)) ready.set(e.nodeId, Date.parse(e.at));
      if (ready.size >= n - failed) break;
      await sleep(500);
    }
    for (const e of await eventsOfType(api, h, 'node.joined'))
      if (e.nodeId) joinedEvents.set(e.nodeId, String(e.data.name));
    const joinToReady: number[] = [];
    for (const [nodeId, at] of ready) {
      const name = joinedEvents.get(nodeId);
      const st = name ? startedAt.get(name) : undefined;
      if (st !== undefined) joinToReady.push(at - st);
    }
    const allReadyMs = Math.max(...ready.values()) - t0;
    const cpuPerJoinMs = round((joinCpu * 1000) / Math.max(1, n - failed), 2);
    const rssAfter = rssKiB(pid);
    const storm = {
      n,
      joinConcurrency,
      joined: n - failed,
      failed,
      errors,
      joinWallMs,
      joinsPerSec: round((n - failed) / Math.max(0.001, joinWallMs / 1000), 1),
      joinLatencyMs: summarize(joinMs),
      ready: ready.size,
      allReadyMs,
      joinToReadyMs: summarize(joinToReady),
      hubCpuMsPerJoin: cpuPerJoinMs,
      hubRssKiB: { before: rss0, after: rssAfter },
    };
    const lines = [
      '',
      `atoll join storm: N=${n}, ${joinConcurrency} joins in flight (each on its own TLS connection), heartbeat ${heartbeatMs / 1000}s, ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, load avg at start ${loadAtStart.join(' ')}`,
      `  joins:        ${storm.joined}/${n} in ${joinWallMs} ms = ${storm.joinsPerSec} joins/s; hub CPU ${cpuPerJoinMs} ms per join (whole process, incl. the connects)${failed ? `; ${failed} FAILED: ${errors.join('; ')}` : ''}`,
      `                join request -> certificate ms ${fmt(storm.joinLatencyMs)}`,
      `  ready:        ${ready.size}/${n} ready; the last ${allReadyMs} ms after the first join started`,
      `                join request -> node ready at the hub ms ${fmt(storm.joinToReadyMs)}`,
      `  hub RSS:      ${(rss0 / 1024).toFixed(1)} -> ${(rssAfter / 1024).toFixed(1)} MiB`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);

    let fanout: Record<string, unknown> | undefined;
    if (!v['no-fanout']) {
      const nodes = (
        await apiJson<{ items: Array<{ id: string; connected: boolean }> }>(api, h, 'GET', '/v1/nodes')
      ).body.items.filter((x) => x.connected);
      log(`fan-out: restart-k3s to ${nodes.length} connected agents, ${apiConcurrency} API calls in flight`);
      const sentAt = new Map<string, number>();
      const refused: string[] = [];
      const cpuF0 = cpuSeconds(pid);
      const f0 = Date.now();
      await pool(nodes.length, apiConcurrency, async (k) => {
        const r = await apiJson<{ commandId?: string; error?: { code: string } }>(
          api,
          h,
          'POST',
          `/v1/nodes/${nodes[k].id}/actions/restart-k3s?wait=0`,
        );
        if (r.status === 202 && r.body.commandId) sentAt.set(r.body.commandId, Date.now());
        else if (refused.length < 5) refused.push(`${r.status} ${r.body.error?.code ?? ''}`);
      });
      const issuedMs = Date.now() - f0;
      const answered = new Map<string, number>();
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        for (const e of await eventsOfType(api, h, 'command.result')) {
          const id = String(e.data.commandId);
          if (sentAt.has(id) && !answered.has(id)) answered.set(id, Date.parse(e.at));
        }
        if (answered.size >= sentAt.size) break;
        await sleep(250);
      }
      const cpuF = cpuSeconds(pid) - cpuF0;
      const allAnsweredMs = Math.max(...answered.values()) - f0;
      const latency = [...answered].map(([id, at]) => at - sentAt.get(id)!);
      fanout = {
        agents: nodes.length,
        issued: sentAt.size,
        refused,
        answered: answered.size,
        issuedMs,
        allAnsweredMs,
        perSec: round(answered.size / Math.max(0.001, allAnsweredMs / 1000), 1),
        sendToResultMs: summarize(latency),
        hubCpuMsPerCommand: round((cpuF * 1000) / Math.max(1, sentAt.size), 2),
      };
      process.stdout.write(
        [
          `atoll command fan-out: restart-k3s to ${nodes.length} agents through the API (durable commands, ?wait=0), ${apiConcurrency} calls in flight`,
          `  issued:       ${sentAt.size} stored and sent in ${issuedMs} ms${refused.length ? `; refused: ${refused.join(', ')}` : ''}`,
          `  answered:     ${answered.size}/${sentAt.size}, all ${allAnsweredMs} ms after the first call = ${fanout.perSec} results/s; hub CPU ${fanout.hubCpuMsPerCommand} ms per command (API call + store + send + result + event)`,
          `                API accepted -> result stored ms ${fmt(summarize(latency))}`,
          '',
        ].join('\n'),
      );
    }
    process.stdout.write(
      `${JSON.stringify({ bench: 'join-storm', cores: availableParallelism(), node: process.version, loadavgAtStart: loadAtStart, heartbeatMs, storm, fanout })}\n`,
    );
    return failed === 0 && ready.size === n && (!fanout || fanout.answered === fanout.issued) ? 0 : 1;
  } finally {
    clearTimeout(overall);
    await cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
