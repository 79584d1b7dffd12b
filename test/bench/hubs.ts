// Benchmark: K hub processes on one PostgreSQL (the same cluster secret), N simulated agents spread
// over them (agent i registers with hub i % K; each then learns the live hubs from its welcome and
// fails over as the real agent does). Prints per hub and overall: heartbeat round trip, hub RSS per
// agent, PostgreSQL's CPU; then kill -9 of one hub and the time until each of its agents is welcomed
// by another hub (p50/p99/max, and how many did not make it within --failover-bound).
//
//   npm run build && node --import tsx test/bench/hubs.ts [--n 600] [--hubs 3] [--help]
//
// Not part of the test suite. Everything it starts (PostgreSQL, the hubs, simulator workers) is
// stopped and its temp dirs removed before it exits; the whole run is bounded by --timeout.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { removeDir, startHub, waitFor, type HubHandle } from '../helpers/processes.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { createFleet, DEFAULT_OPTIONS, type Fleet } from './simulator.js';
import { createReusableToken } from './sim-identities.js';
import { HubProbe } from './hub-probe.js';
import { HubMeter, type Mark } from './hub-meter.js';
import { postgresCpuSeconds, StoreMeter } from './store-meter.js';
import { parseDurationMs, round, summarize } from './stats.js';
import { conditions, figuresTable, type HubFigures, type HubsFigures } from './hubs-report.js';

const HELP = `atoll several-hubs benchmark

usage: npm run build && node --import tsx test/bench/hubs.ts [options]
  --n N                     simulated agents in total (default 600)
  --hubs K                  hub processes on the one PostgreSQL (default 3, 2..8)
  --kill I                  the hub to kill -9, 1..K (default 1: the first, which leads every role)
  --heartbeat DUR           hub heartbeat / report interval (default 10s)
  --window DUR              round-trip sampling window (default 20s)
  --failover-bound DUR      how long to wait for the killed hub's agents (default 60s)
  --workers P               simulator processes (default 1)
  --connect-concurrency C   connects in flight per simulator process (default 100)
  --join-concurrency C      joins in flight (default 8)
  --pool-size S             each hub's PostgreSQL pool (default 10)
  --identity-dir DIR        key cache (default ${DEFAULT_OPTIONS.identityDir}; missing keys are made and kept)
  --hub-log-level LEVEL     hub log level (default warn)
  --timeout DUR             overall limit (default 15m)
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (s: string): void => void process.stderr.write(`bench: ${new Date().toISOString().slice(11, 19)} ${s}\n`);

/** Open files a process may have (hard limit; Node raises its soft limit to it) and the ephemeral port range. */
function systemLimits(): { files: number; ports: number } {
  const m = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  return { files: !m || m[1] === 'unlimited' ? Infinity : Number(m[1]), ports: hi - lo + 1 };
}

interface HubItem {
  id: string;
  agents: number;
  live: boolean;
}

async function liveHubs(h: HubHandle): Promise<HubItem[]> {
  const r = await h.api<{ items: HubItem[] }>('GET', '/v1/hubs').catch(() => undefined);
  return r?.status === 200 ? r.body.items.filter((i) => i.live) : [];
}

async function main(): Promise<number> {
  const names = ['n', 'hubs', 'kill', 'heartbeat', 'window', 'failover-bound', 'workers', 'connect-concurrency'];
  names.push('join-concurrency', 'pool-size', 'identity-dir', 'hub-log-level', 'timeout');
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const name of names) options[name] = { type: 'string' };
  const v = parseArgs({ options }).values as Record<string, string | undefined> & { help?: boolean };
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const int = (name: string, def: number, min: number, max: number): number => {
    const x = v[name] === undefined ? def : Number(v[name]);
    if (!Number.isInteger(x) || x < min || x > max) throw new Error(`--${name} must be an integer in ${min}..${max}`);
    return x;
  };
  const n = int('n', 600, 1, 100_000);
  const k = int('hubs', 3, 2, 8);
  const killIndex = int('kill', 1, 1, k) - 1;
  const workers = int('workers', 1, 1, 16);
  const heartbeatMs = parseDurationMs(v.heartbeat ?? '10s');
  const windowMs = parseDurationMs(v.window ?? '20s');
  const boundMs = parseDurationMs(v['failover-bound'] ?? '60s');
  const timeoutMs = parseDurationMs(v.timeout ?? '15m');
  const limits = systemLimits();
  const perProcess = Math.ceil(n / workers) + 1000;
  if (limits.files < perProcess)
    throw new Error(
      `${perProcess} open files needed per simulator process, the limit is ${limits.files}: raise ulimit -n or --workers`,
    );
  if (limits.ports < n + 2000)
    throw new Error(`${n + 2000} ephemeral ports needed, net.ipv4.ip_local_port_range has ${limits.ports}`);

  const hubs: HubHandle[] = [];
  const probes: HubProbe[] = [];
  let fleet: Fleet | undefined;
  let pg: PgServer | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      for (const p of probes) p.close();
      await fleet?.forgetHubIdentities().catch(() => undefined);
      await fleet?.stop().catch(() => undefined);
      for (const h of hubs) {
        const killer = setTimeout(() => h.proc.child.kill('SIGKILL'), 10_000);
        await h.stop('SIGTERM');
        clearTimeout(killer);
        removeDir(h.dataDir);
      }
      pg?.stop();
    })());
  const overall = setTimeout(() => {
    log(`overall timeout of ${timeoutMs} ms reached; stopping`);
    void cleanup().finally(() => process.exit(1));
  }, timeoutMs);
  const onSignal = (): void => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const loadAtStart = loadavg().map((x) => round(x));
    pg = await startPostgres();
    const server = pg;
    log(`PostgreSQL on port ${pg.port} in ${pg.dir}`);
    const ids = Array.from({ length: k }, (_, i) => `hub-${i + 1}`);
    for (const id of ids) {
      const dataDir = join(mkdtempSync(join(tmpdir(), `atoll-bench-${id}-`)), 'data');
      if (hubs.length) {
        mkdirSync(dataDir, { mode: 0o700 });
        copyFileSync(join(hubs[0].dataDir, 'cluster-secret'), join(dataDir, 'cluster-secret'));
      }
      const h = await startHub({
        dataDir,
        heartbeat: `${heartbeatMs}ms`,
        unreachableAfter: `${3 * heartbeatMs}ms`,
        // Every simulated agent connects from 127.0.0.1: lift the per-source caps (a fleet has many addresses).
        extraArgs: [
          ...['--datastore', server.url, '--datastore-pool-size', v['pool-size'] ?? '10', '--hub-id', id],
          ...['--gateway-max-connections-per-source', '1000000', '--join-rate-limit', '100000'],
        ],
        env: { ATOLL_LOG_LEVEL: v['hub-log-level'] ?? 'warn', NODE_OPTIONS: '--inspect=127.0.0.1:0' },
      });
      hubs.push(h);
      probes.push(await HubProbe.attach(h.proc.stderr()));
      log(`${id} pid ${h.proc.child.pid} on ${h.gatewayUrl}`);
    }
    const meters = hubs.map((h, i) => new HubMeter(h.proc.child.pid as number, probes[i]));
    await waitFor('every hub live', async () => (await liveHubs(hubs[0])).length === k, 30_000, 200);
    await sleep(2500); // a membership beat with all of them live: the welcome's list is the last beat's

    const first = hubs[0];
    const token = await createReusableToken(first.apiUrl, first.caPem(), first.adminToken());
    const f = await createFleet(
      {
        ...DEFAULT_OPTIONS,
        gatewayUrl: first.gatewayUrl,
        gatewayUrls: hubs.map((h) => h.gatewayUrl),
        token,
        count: n,
        identityDir: resolve(v['identity-dir'] ?? DEFAULT_OPTIONS.identityDir),
        connectConcurrency: int('connect-concurrency', 100, 1, 10_000),
        joinConcurrency: int('join-concurrency', 8, 1, 1000),
      },
      workers,
    );
    fleet = f;
    const keyDir = join(resolve(v['identity-dir'] ?? DEFAULT_OPTIONS.identityDir), 'keys');
    let missing = 0;
    for (let i = 0; i < n; i++) if (!existsSync(join(keyDir, `${i}.key`))) missing++;
    log(`preparing ${n} identities: ${missing} keys to make first (~5-10/s, then cached); joins through hub-1`);
    const prep = await f.prepare();
    // After the joins (all through hub-1, which signs the certificates): RSS per connected agent.
    const memStart = await Promise.all(meters.map((m) => m.mem()));
    log(`connecting ${n} agents, agent i to hub i % ${k}`);
    const c = await f.connect(Math.max(10_000, timeoutMs / 2));
    log(`welcomed ${c.welcomed}/${n} in ${c.wallMs} ms; sampling round trips for ${windowMs} ms`);
    await sleep(2000);

    const storeMeter = new StoreMeter('', { server, database: 'atoll', ownServer: true });
    const st0 = await f.status();
    const marks: Mark[] = await Promise.all(meters.map((m) => m.mark()));
    const storeMark = storeMeter.mark();
    await Promise.all(probes.map((p) => p.loopDelayStart()));
    const rtt = await f.sampleRtt(windowMs, heartbeatMs);
    const loopDelays = await Promise.all(probes.map((p) => p.loopDelayStop()));
    const steadyLoads = await Promise.all(meters.map((m, i) => m.since(marks[i])));
    const st1 = await f.status();
    const reportsPerSec = round(
      (st1.counters.reportsSent - st0.counters.reportsSent) / (steadyLoads[0].wallMs / 1000),
      1,
    );
    const store = storeMeter.since(storeMark, reportsPerSec);
    const memAfter = await Promise.all(meters.map((m) => m.mem()));
    const perHub: HubFigures[] = hubs.map((h, i) => {
      const agents = st1.onHub[h.gatewayUrl] ?? 0;
      return {
        id: ids[i],
        url: h.gatewayUrl,
        agents,
        rssStartKiB: memStart[i].rssKiB,
        rssAfterKiB: memAfter[i].rssKiB,
        rssPerAgentKiB: round((memAfter[i].rssKiB - memStart[i].rssKiB) / Math.max(1, agents), 1),
        rttMs: summarize(rtt.byHub[h.gatewayUrl] ?? []),
        loopDelayMs: loopDelays[i],
        steady: steadyLoads[i],
      };
    });

    const victim = hubs[killIndex];
    const survivors = hubs.filter((h) => h !== victim);
    const survivorMeters = meters.filter((_, i) => i !== killIndex);
    log(`kill -9 of ${ids[killIndex]} (${st1.onHub[victim.gatewayUrl] ?? 0} agents)`);
    probes[killIndex].close();
    const pgDataDir = join(server.dir, 'data');
    const pgCpu0 = postgresCpuSeconds(pgDataDir);
    const survivorMarks = await Promise.all(survivorMeters.map((m) => m.mark()));
    // Times are counted from the mark, which the kill follows at once (an IPC answer later).
    await f.markPhase(victim.gatewayUrl);
    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited;
    const moved = await f.awaitPhase(boundMs);
    const moveSecs = Math.max(0.001, moved.wallMs / 1000);
    const survivorLoads = await Promise.all(survivorMeters.map((m, i) => m.since(survivorMarks[i])));
    const pgCpu1 = postgresCpuSeconds(pgDataDir);
    log(`${moved.welcomed}/${moved.requested} welcomed elsewhere, the last ${moved.wallMs} ms after the kill`);
    // The hubs' own view: agents per live hub, once the dead one has left the list (its beats stop).
    const apiAgents: Record<string, number> = {};
    const seen = await waitFor(
      'the surviving hubs to count every agent',
      async () => {
        const l = await liveHubs(survivors[0]);
        return l.length === k - 1 && l.reduce((a, i) => a + i.agents, 0) >= c.welcomed && l;
      },
      30_000,
      500,
    ).catch(async () => liveHubs(survivors[0]));
    for (const i of seen) apiAgents[i.id] = i.agents;

    const figures: HubsFigures = {
      n,
      hubs: k,
      heartbeatMs,
      cores: availableParallelism(),
      node: process.version,
      loadavgAtStart: loadAtStart,
      workers,
      prepare: {
        keysGenerated: prep.keysGenerated,
        keysLoaded: prep.keysLoaded,
        joined: prep.joined,
        joinWallMs: prep.joinWallMs,
        failed: prep.failed,
      },
      connect: { welcomed: c.welcomed, wallMs: c.wallMs, timedOut: c.timedOut, handshakeMs: summarize(c.handshakeMs) },
      perHub,
      rtt: { windowMs, ms: summarize(rtt.samples), pingsSent: rtt.pingsSent, unanswered: rtt.unanswered },
      steady: { reportsPerSec, healthRowsPerSec: store.healthRowsPerSec, pgCpuPercentOfCore: store.pgCpuPercentOfCore },
      simulatorRssKiB: st1.rssKiB,
      failover: {
        killed: ids[killIndex],
        agents: moved.requested,
        boundMs,
        welcomedElsewhere: moved.welcomed,
        notMoved: moved.requested - moved.welcomed,
        msAfterKill: summarize(moved.sinceMarkMs),
        landedOn: moved.landedOn,
        survivors: survivorLoads,
        pgCpuPercentOfCore: pgCpu0 !== null && pgCpu1 !== null ? round(((pgCpu1 - pgCpu0) / moveSecs) * 100, 1) : null,
        apiAgents,
        errors: moved.errors,
      },
    };
    process.stdout.write(`\n${conditions(figures)}\n\n${figuresTable(figures)}\n\n${JSON.stringify(figures)}\n`);
    return figures.failover.notMoved === 0 && c.welcomed === n ? 0 : 2;
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
