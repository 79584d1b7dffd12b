// Benchmark: N simulated agents (real keys, certificates, mTLS WebSockets, protobuf frames) connect
// to a real hub process. Prints connect time, hub RSS per connected agent, heartbeat round trip
// p50/p99, report-to-API latency, and how many nodes the API shows ready; optionally reconnect storms.
//
//   npm run build && node --import tsx test/bench/connect.ts [--n 1000] [--help]
//
// Not part of the test suite. Everything it starts (the hub process, simulator workers, sockets) is
// stopped before it exits, and the whole run is bounded by --timeout.
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startHub, removeDir, type HubHandle } from '../helpers/processes.js';
import { createFleet, DEFAULT_OPTIONS, type ConnectReport, type Fleet, type SimulatorOptions } from './simulator.js';
import { createReusableToken } from './sim-identities.js';
import { HubProbe } from './hub-probe.js';
import { HubMeter, type Load, type Mark, type Mem } from './hub-meter.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';
import { StoreMeter, type StoreLoad } from './store-meter.js';
import { parseDurationMs, round, rssKiB, summarize, type Summary } from './stats.js';

const HELP = `atoll connect benchmark

usage: npm run build && node --import tsx test/bench/connect.ts [options]
  --n N                     simulated agents (default 1000)
  --heartbeat DUR           hub heartbeat / report interval (default 10s)
  --window DUR              round-trip sampling window (default 20s)
  --ping-every DUR          each agent pings this often during the window (default: the heartbeat)
  --probes N                report-to-API probes (default 40; 0 to skip)
  --workers P               simulator processes (default 1)
  --connect-concurrency C   connects in flight (default 100)
  --join-concurrency C      joins in flight (default 8)
  --reconnect               also measure reconnect storms (every agent hangs up and reconnects at once),
                            with and without TLS session resumption
  --restart-storm           also kill -9 the hub and restart it: time until all N are welcomed again (the
                            agents reconnect by themselves with jittered backoff, base 500 ms, cap 30 s)
  --identity-dir DIR        key cache (default ${DEFAULT_OPTIONS.identityDir})
  --hub-data-parent DIR     where the hub's temporary data dir goes (default the OS temp dir; e.g.
                            /dev/shm to take disk flushes out of the picture)
  --hub-log-level LEVEL     hub log level (default info)
  --no-inspect              do not attach to the hub's inspector (then RSS is read without a GC first
                            and event-loop utilisation is not reported)
  --profile-window          CPU-profile the hub during the round-trip window (a .cpuprofile in the temp
                            dir) and print its longest busy stretches with the frames that took them
  --datastore STORE         sqlite (default), postgres (a PostgreSQL server of its own, started with the test
                            harness and removed afterwards; its CPU is measured), or a postgres:// URL
  --timeout DUR             overall limit (default 5m)
`;

/** Event-loop delay over the round-trip window (ms): where a slow round trip waited. */
interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

interface StormFigures extends Load {
  welcomed: number;
  perSec: number;
  resumed: number;
  handshakeMs: Summary;
  errors: Record<string, number>;
}

interface Figures {
  n: number;
  heartbeatMs: number;
  cores: number;
  cpuModel: string;
  node: string;
  loadavgAtStart: number[];
  workers: number;
  hubDataParent: string;
  prepare: {
    wallMs: number;
    keysGenerated: number;
    keysLoaded: number;
    keygenMs: number;
    joined: number;
    joinWallMs: number;
    joinsPerSec: number;
    joinLatencyMs: Summary;
    failed: number;
    hub: Load;
  };
  connect: {
    welcomed: number;
    wallMs: number;
    perSec: number;
    handshakeMs: Summary;
    hub: Load;
    simulatorCpuPercentOfCore: number;
    timedOut: boolean;
    errors: Record<string, number>;
  };
  /** Hub memory at each point, after a full GC when the inspector is attached. */
  hubMemKiB: { gcFirst: boolean; start: Mem; afterJoins: Mem; afterConnect: Mem; afterWindow: Mem };
  rssPerAgentKiB: number;
  rssPerConnectionKiB: number;
  heapPerConnectionKiB: number | null;
  simulatorRssKiB: number;
  rtt: {
    windowMs: number;
    pingEveryMs: number;
    ms: Summary;
    pingsSent: number;
    unanswered: number;
    hubLoopDelayMs: LoopDelay | null;
    simLoopDelayMs: LoopDelay | null;
  };
  steady: Load & { reportsPerSec: number; framesPerSec: number; store: StoreLoad };
  reportToApiMs: Summary | null;
  nodes: { total: number; ready: number; withHealth: number; connected: number };
  reconnect?: { withResumption: StormFigures; withoutResumption: StormFigures };
  restartStorm?: StormFigures & { msAfterKill: number; hubStartMs: number; hubRssAfterKiB: number };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      n: { type: 'string' },
      heartbeat: { type: 'string' },
      window: { type: 'string' },
      'ping-every': { type: 'string' },
      'profile-window': { type: 'boolean' },
      probes: { type: 'string' },
      workers: { type: 'string' },
      'connect-concurrency': { type: 'string' },
      'join-concurrency': { type: 'string' },
      reconnect: { type: 'boolean' },
      'restart-storm': { type: 'boolean' },
      'identity-dir': { type: 'string' },
      'hub-data-parent': { type: 'string' },
      'hub-log-level': { type: 'string' },
      'no-inspect': { type: 'boolean' },
      datastore: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const n = Number(v.n ?? 1000);
  const heartbeatMs = parseDurationMs(v.heartbeat ?? '10s');
  const windowMs = parseDurationMs(v.window ?? '20s');
  const pingEveryMs = v['ping-every'] ? parseDurationMs(v['ping-every']) : heartbeatMs;
  const probes = Number(v.probes ?? 40);
  const workers = Number(v.workers ?? 1);
  const timeoutMs = parseDurationMs(v.timeout ?? '5m');
  const inspect = !v['no-inspect'];
  const dataParent = resolve(v['hub-data-parent'] ?? tmpdir());
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(workers) || workers < 1)
    throw new Error('--n and --workers must be positive integers');

  let hub: HubHandle | undefined;
  let fleet: Fleet | undefined;
  let probe: HubProbe | undefined;
  let pg: PgServer | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaning ??= (async () => {
      probe?.close();
      await fleet?.forgetHubIdentities().catch(() => undefined);
      await fleet?.stop().catch(() => undefined);
      if (hub) {
        const h = hub;
        const killer = setTimeout(() => h.proc.child.kill('SIGKILL'), 10_000);
        await h.stop('SIGTERM');
        clearTimeout(killer);
        removeDir(h.dataDir);
      }
      pg?.stop();
    })();
    return cleaning;
  };
  const overall = setTimeout(() => {
    process.stderr.write(`bench: overall timeout of ${timeoutMs} ms reached; stopping\n`);
    void cleanup().finally(() => process.exit(1));
  }, timeoutMs);
  const onSignal = (): void => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

  try {
    const store = v.datastore ?? 'sqlite';
    if (store !== 'sqlite' && store !== 'postgres' && !/^postgres(ql)?:\/\//.test(store))
      throw new Error('--datastore must be sqlite, postgres or a postgres:// URL');
    if (store === 'postgres') {
      pg = await startPostgres();
      log(`PostgreSQL ${pg.url.replace(/:[^:@/]+@/, ':***@')} in ${pg.dir}`);
    }
    const datastoreUrl = pg ? pg.url : store === 'sqlite' ? undefined : store;
    const loadAtStart = loadavg().map((x) => round(x));
    const h = await startHub({
      heartbeat: `${heartbeatMs}ms`,
      unreachableAfter: `${3 * heartbeatMs}ms`,
      dataDir: join(mkdtempSync(join(dataParent, 'atoll-bench-hub-')), 'data'),
      // Every simulated agent connects from 127.0.0.1: lift the per-source cap (a real fleet has many addresses).
      extraArgs: [
        '--gateway-max-connections-per-source',
        '1000000',
        '--join-rate-limit',
        '100000',
        ...(datastoreUrl ? ['--datastore', datastoreUrl] : []),
      ],
      env: {
        ATOLL_LOG_LEVEL: v['hub-log-level'] ?? 'info',
        ...(inspect ? { NODE_OPTIONS: '--inspect=127.0.0.1:0' } : {}),
      },
    });
    hub = h;
    probe = inspect ? await HubProbe.attach(h.proc.stderr()) : undefined;
    let meter = new HubMeter(h.proc.child.pid as number, probe);
    const storeMeter = new StoreMeter(
      h.dataDir,
      datastoreUrl
        ? {
            server: pg ?? externalServer(datastoreUrl),
            database: new URL(datastoreUrl).pathname.slice(1),
            ownServer: Boolean(pg),
          }
        : undefined,
    );
    log(`hub pid ${meter.pid} on ${h.gatewayUrl}, data in ${h.dataDir}`);
    await sleep(1000);
    const memStart = await meter.mem();
    const token = await createReusableToken(h.apiUrl, h.caPem(), h.adminToken());
    const simOpts: SimulatorOptions = {
      ...DEFAULT_OPTIONS,
      gatewayUrl: h.gatewayUrl,
      token,
      count: n,
      first: 0,
      identityDir: v['identity-dir'] ? resolve(v['identity-dir']) : DEFAULT_OPTIONS.identityDir,
      connectConcurrency: Number(v['connect-concurrency'] ?? 100),
      joinConcurrency: Number(v['join-concurrency'] ?? 8),
    };
    const f0 = await createFleet(simOpts, workers);
    fleet = f0;

    let missing = 0;
    for (let i = 0; i < n; i++) if (!existsSync(join(simOpts.identityDir, 'keys', `${i}.key`))) missing++;
    log(
      `preparing ${n} identities; keys are cached in ${simOpts.identityDir}` +
        (missing
          ? `: ${missing} to make first, at roughly 5-10 per second on 2 cores (raise --timeout if that does not fit)`
          : ', all there'),
    );
    const prepMark = await meter.mark();
    const prep = await f0.prepare();
    const prepLoad = await meter.since(prepMark, prep.wallMs, prep.joined);
    if (prep.failed) log(`${prep.failed} identities failed: ${prep.errors.join('; ')}`);
    await sleep(1000);
    const memJoined = await meter.mem();

    log(`connecting ${n} agents`);
    const simCpu0 = (await f0.status()).cpuSeconds;
    const connectMark = await meter.mark();
    const c = await f0.connect(Math.max(10_000, timeoutMs - 60_000));
    const connectLoad = await meter.since(connectMark, c.wallMs, c.welcomed);
    const simCpu = (await f0.status()).cpuSeconds - simCpu0;
    const memConnected = await meter.mem();
    log(`connected ${c.welcomed}/${n} in ${c.wallMs} ms; sampling round trips for ${windowMs} ms`);

    const st0 = await f0.status();
    const windowMark = await meter.mark();
    const storeMark = storeMeter.mark();
    await probe?.loopDelayStart();
    if (v['profile-window']) await probe?.profileStart();
    const rtt = await f0.sampleRtt(windowMs, pingEveryMs);
    const hubLoopDelayMs = await probe?.loopDelayStop();
    if (v['profile-window'] && probe) {
      const { profile, stalls } = await probe.profileStop();
      const file = join(tmpdir(), `atoll-hub-window-${Date.now()}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      log(`hub CPU profile of the window: ${file} (open in Chrome DevTools); longest busy stretches:`);
      for (const s of stalls) log(`  ${s.ms} ms: ${s.top.map((t) => `${t.frame} ${t.ms} ms`).join('; ')}`);
    }
    const windowLoad = await meter.since(windowMark);
    const st1 = await f0.status();
    const windowReportsPerSec = round(
      (st1.counters.reportsSent - st0.counters.reportsSent) / (windowLoad.wallMs / 1000),
      1,
    );
    const storeLoad = storeMeter.since(storeMark, windowReportsPerSec);
    const memWindow = await meter.mem();
    const elapsed = windowLoad.wallMs / 1000;

    const reportToApi = probes > 0 ? await probeReports(h, f0, probes) : null;
    const nodes = await nodeCounts(h);
    const simStatus = await f0.status();

    const storm = async (run: () => Promise<ConnectReport>): Promise<StormFigures> => {
      const m = await meter.mark();
      const r = await run();
      const load = await meter.since(m, r.wallMs, r.welcomed);
      await sleep(2000);
      return {
        ...load,
        welcomed: r.welcomed,
        perSec: round(r.welcomed / Math.max(0.001, r.wallMs / 1000), 1),
        resumed: r.resumed,
        handshakeMs: summarize(r.handshakeMs),
        errors: r.errors,
      };
    };

    let reconnect: Figures['reconnect'];
    if (v.reconnect) {
      log('reconnect storm with TLS resumption');
      const withRes = await storm(() => f0.reconnectAll(120_000));
      log('reconnect storm without TLS resumption');
      // A fresh fleet over the same identities, with resumption off: tickets are never offered.
      await f0.stop();
      const f1 = await createFleet({ ...simOpts, tlsResume: false }, workers);
      fleet = f1;
      await f1.prepare();
      await f1.connect(120_000);
      await sleep(2000);
      reconnect = { withResumption: withRes, withoutResumption: await storm(() => f1.reconnectAll(120_000)) };
    }

    let restartStorm: Figures['restartStorm'];
    if (v['restart-storm']) {
      log('restart storm: kill -9 the hub, start it again on the same data dir and ports');
      const f = fleet;
      await f.markPhase();
      probe?.close();
      const killedAt = Date.now();
      await h.stop('SIGKILL');
      await h.restart();
      const servingAt = Date.now();
      probe = inspect ? await HubProbe.attach(h.proc.stderr()) : undefined;
      meter = new HubMeter(h.proc.child.pid as number, probe);
      const zero: Mark = {
        t: killedAt,
        cpu: 0,
        sched: { cpu: 0, wait: 0 },
        elu: probe ? { idle: 0, active: 0 } : undefined,
      };
      const r = await f.awaitPhase(180_000);
      const load = await meter.since(zero, r.wallMs, r.welcomed);
      restartStorm = {
        ...load,
        welcomed: r.welcomed,
        perSec: round(r.welcomed / Math.max(0.001, (r.wallMs - (servingAt - killedAt)) / 1000), 1),
        resumed: r.resumed,
        handshakeMs: summarize(r.handshakeMs),
        errors: r.errors,
        msAfterKill: r.wallMs,
        hubStartMs: servingAt - killedAt,
        hubRssAfterKiB: rssKiB(meter.pid),
      };
    }

    const perConn = (a: Mem, b: Mem): number => round((b.rssKiB - a.rssKiB) / Math.max(1, c.welcomed), 1);
    const figures: Figures = {
      n,
      heartbeatMs,
      cores: availableParallelism(),
      cpuModel: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      loadavgAtStart: loadAtStart,
      workers,
      hubDataParent: dataParent,
      prepare: {
        wallMs: prep.wallMs,
        keysGenerated: prep.keysGenerated,
        keysLoaded: prep.keysLoaded,
        keygenMs: prep.keygenMs,
        joined: prep.joined,
        joinWallMs: prep.joinWallMs,
        joinsPerSec: prep.joined ? round(prep.joined / Math.max(0.001, prep.joinWallMs / 1000), 1) : 0,
        joinLatencyMs: summarize(prep.joinLatenciesMs),
        failed: prep.failed,
        hub: prepLoad,
      },
      connect: {
        welcomed: c.welcomed,
        wallMs: c.wallMs,
        perSec: round(c.welcomed / Math.max(0.001, c.wallMs / 1000), 1),
        handshakeMs: summarize(c.handshakeMs),
        hub: connectLoad,
        simulatorCpuPercentOfCore: round((simCpu / Math.max(0.001, c.wallMs / 1000)) * 100, 1),
        timedOut: c.timedOut,
        errors: c.errors,
      },
      hubMemKiB: {
        gcFirst: Boolean(probe),
        start: memStart,
        afterJoins: memJoined,
        afterConnect: memConnected,
        afterWindow: memWindow,
      },
      rssPerAgentKiB: perConn(memStart, memWindow),
      rssPerConnectionKiB: perConn(memJoined, memWindow),
      heapPerConnectionKiB:
        memJoined.heapKiB !== null && memWindow.heapKiB !== null
          ? round((memWindow.heapKiB - memJoined.heapKiB) / Math.max(1, c.welcomed), 1)
          : null,
      simulatorRssKiB: simStatus.rssKiB,
      rtt: {
        windowMs,
        pingEveryMs,
        ms: summarize(rtt.samples),
        pingsSent: rtt.pingsSent,
        unanswered: rtt.unanswered,
        hubLoopDelayMs: hubLoopDelayMs ?? null,
        simLoopDelayMs: rtt.simLoopDelayMs ?? null,
      },
      steady: {
        ...windowLoad,
        reportsPerSec: round((st1.counters.reportsSent - st0.counters.reportsSent) / elapsed, 1),
        store: storeLoad,
        framesPerSec: round(
          (st1.counters.framesOut - st0.counters.framesOut + st1.counters.framesIn - st0.counters.framesIn) / elapsed,
          1,
        ),
      },
      reportToApiMs: reportToApi && summarize(reportToApi),
      nodes,
      reconnect,
      restartStorm,
    };
    process.stdout.write(humanBlock(figures));
    process.stdout.write(`${JSON.stringify({ bench: 'connect', ...figures })}\n`);
    return nodes.ready === n && c.welcomed === n ? 0 : 1;
  } finally {
    clearTimeout(overall);
    await cleanup();
  }
}

/** Sends a marked report from a few agents and times until GET /v1/nodes/{id} shows it. */
async function probeReports(hub: HubHandle, fleet: Fleet, count: number): Promise<number[]> {
  const ids = await fleet.nodeIds();
  const out: number[] = [];
  const concurrency = 4;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const k = next++;
      const nodeId = ids[Math.floor((k / count) * ids.length)];
      const marker = 900_000_000 + k;
      // A random pause first: a probe sent right after the previous one became visible would
      // otherwise always land just after a batch flush and measure the full flush interval.
      await sleep(Math.random() * 1000);
      const t0 = performance.now();
      if (!(await fleet.sendReport(nodeId, { uptimeSeconds: marker }))) continue;
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const r = await hub.api<{ health?: { uptimeSeconds?: number } }>('GET', `/v1/nodes/${nodeId}`);
        if (r.status === 200 && r.body.health?.uptimeSeconds === marker) {
          out.push(performance.now() - t0);
          break;
        }
        await sleep(20);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

async function nodeCounts(hub: HubHandle): Promise<Figures['nodes']> {
  const r = await hub.api<{ items: { state: string; health: unknown; connected?: boolean }[] }>('GET', '/v1/nodes');
  if (r.status !== 200) throw new Error(`GET /v1/nodes answered ${r.status}`);
  const items = r.body.items;
  return {
    total: items.length,
    ready: items.filter((x) => x.state === 'ready').length,
    withHealth: items.filter((x) => x.health).length,
    connected: items.filter((x) => x.connected).length,
  };
}

function fmt(s: Summary): string {
  return `p50 ${s.p50}  p90 ${s.p90}  p99 ${s.p99}  max ${s.max}  (n=${s.count})`;
}

function load(l: Load): string {
  return (
    `${l.hubLoopCpuMsPerOp === undefined ? '' : `hub loop CPU ${l.hubLoopCpuMsPerOp} ms each; `}hub CPU ${l.hubCpuPercentOfCore}% of a core; hub loop thread ${l.hubLoopOnCpuPercent}% on a CPU + ${l.hubLoopRunQueuePercent}% waiting for one` +
    (l.hubLoopBusyPercent === null ? '' : ` (loop busy ${l.hubLoopBusyPercent}%)`)
  );
}

function mem(m: Mem): string {
  return `${mib(m.rssKiB)}${m.heapKiB === null ? '' : ` (heap ${mib(m.heapKiB)})`}`;
}

function humanBlock(f: Figures): string {
  const m = f.hubMemKiB;
  const lines = [
    '',
    `atoll connect benchmark: N=${f.n}, heartbeat ${f.heartbeatMs / 1000}s, ${f.cores} cores (${f.cpuModel}), node ${f.node}, simulator processes ${f.workers}, load avg at start ${f.loadavgAtStart.join(' ')}, hub data under ${f.hubDataParent}`,
    `  identities:   keys ${f.prepare.keysGenerated} made + ${f.prepare.keysLoaded} cached in ${f.prepare.keygenMs} ms; ${f.prepare.joined} joins in ${f.prepare.joinWallMs} ms` +
      (f.prepare.joined ? ` = ${f.prepare.joinsPerSec} joins/s; ${load(f.prepare.hub)}` : '') +
      (f.prepare.failed ? `; ${f.prepare.failed} FAILED` : ''),
    ...(f.prepare.joined ? [`                join latency ms ${fmt(f.prepare.joinLatencyMs)}`] : []),
    `  connect:      ${f.connect.welcomed}/${f.n} connected and welcomed in ${f.connect.wallMs} ms = ${f.connect.perSec} connects/s${f.connect.timedOut ? ' (TIMED OUT)' : ''}; ${load(f.connect.hub)}; simulator CPU ${f.connect.simulatorCpuPercentOfCore}%`,
    `                per connection (TLS + upgrade + hello -> welcome) ms ${fmt(f.connect.handshakeMs)}`,
    `  hub memory${m.gcFirst ? ' (after a full GC)' : ''}: start ${mem(m.start)}, after joins ${mem(m.afterJoins)}, after connect ${mem(m.afterConnect)}, after window ${mem(m.afterWindow)}`,
    `                RSS per connection ${f.rssPerConnectionKiB} KiB (after window - after joins) / N; per agent incl. its join ${f.rssPerAgentKiB} KiB (after window - start) / N` +
      (f.heapPerConnectionKiB === null ? '' : `; JS heap per connection ${f.heapPerConnectionKiB} KiB`),
    `  heartbeat:    ping -> pong round trip ms ${fmt(f.rtt.ms)}; window ${f.rtt.windowMs / 1000}s, each agent every ${f.rtt.pingEveryMs / 1000}s; ${f.rtt.unanswered} unanswered`,
    `                event-loop delay over the window: hub ${f.rtt.hubLoopDelayMs ? `p50 ${f.rtt.hubLoopDelayMs.p50} p99 ${f.rtt.hubLoopDelayMs.p99} max ${f.rtt.hubLoopDelayMs.max} ms` : 'n/a (--no-inspect)'}; simulator ${f.rtt.simLoopDelayMs ? `p50 ${f.rtt.simLoopDelayMs.p50} p99 ${f.rtt.simLoopDelayMs.p99} max ${f.rtt.simLoopDelayMs.max} ms` : 'n/a'}`,
    `  steady state: ${load(f.steady)} (${f.steady.reportsPerSec} reports/s, ${f.steady.framesPerSec} frames/s both ways)`,
    `  store:        ${f.steady.store.kind}: ${f.steady.store.healthRowsPerSec} health rows written/s (${f.steady.store.nodeRowsPerSec} node rows + ${f.steady.store.samplesPerSec} samples)` +
      (f.steady.store.pgCpuPercentOfCore === null
        ? ''
        : `; PostgreSQL CPU ${f.steady.store.pgCpuPercentOfCore}% of a core`),
    `  report->API:  ${f.reportToApiMs ? `ms ${fmt(f.reportToApiMs)} (a health report sent, until GET /v1/nodes/{id} shows it)` : 'skipped'}`,
    `  nodes:        ${f.nodes.ready}/${f.nodes.total} ready, ${f.nodes.withHealth} with a health report, ${f.nodes.connected} connected`,
    `  simulator:    RSS ${mib(f.simulatorRssKiB)} for ${f.n} agents`,
  ];
  const storm = (name: string, r: StormFigures): string =>
    `  ${name}: ${r.welcomed}/${f.n} in ${r.wallMs} ms = ${r.perSec}/s, ${r.resumed} resumed; ${load(r)}; per connection ms ${fmt(r.handshakeMs)}`;
  if (f.reconnect) {
    lines.push(storm('reconnect storm, TLS resumption', f.reconnect.withResumption));
    lines.push(storm('reconnect storm, full handshakes', f.reconnect.withoutResumption));
  }
  if (f.restartStorm) {
    const r = f.restartStorm;
    lines.push(
      `  restart storm (kill -9, restart): ${r.welcomed}/${f.n} welcomed again ${r.msAfterKill} ms after the kill; the new hub served after ${r.hubStartMs} ms, then ${r.perSec} welcomes/s; ${r.resumed} resumed; ` +
        `${load(r)} since its start; RSS ${mib(r.hubRssAfterKiB)}${Object.keys(r.errors).length ? `; agent-side errors ${JSON.stringify(r.errors)}` : ''}`,
    );
  }
  return `${lines.join('\n')}\n\n`;
}

/** psql against a PostgreSQL the bench did not start: only the write counters are read. */
function externalServer(url: string): PgServer {
  const u = new URL(url);
  const fail = (): never => {
    throw new Error('not available for a server the bench did not start');
  };
  return {
    url,
    port: Number(u.port || 5432),
    dir: '',
    urlFor: fail,
    createDatabase: fail,
    psql(sql: string): string {
      const r = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
      return r.stdout;
    },
    pause: fail,
    start: fail,
    stop: () => undefined,
  };
}

function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
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
