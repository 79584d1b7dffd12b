// The agent simulator: many agents in one process, each with its own key, certificate and mTLS
// WebSocket, speaking the real protocol. Several processes can share the load (--workers P forks P
// children, each simulating a slice of the indices; the parent drives them over IPC).
//
// Library: `new Simulator(opts)` or `createFleet(opts, workers)`, then prepare(), connect(), ...
// CLI:     node --import tsx test/bench/simulator.ts --help
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { tmpdir, release, arch } from 'node:os';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { HealthReport, HostFacts } from '../../proto/index.js';
import { cleanHubUrls } from '../../proto/hub-urls.js';
import { SimAgent, type AgentHost } from './sim-agent.js';
import {
  createReusableToken,
  fetchPinnedCa,
  forgetIdentity,
  prepareIdentities,
  type PrepareReport,
  type SimIdentity,
} from './sim-identities.js';
import { ErrorCounts, parseDurationMs, summarize } from './stats.js';

export type { PrepareReport } from './sim-identities.js';

export interface SimulatorOptions {
  /** The hub gateway, https://HOST:PORT (the CA and joins come from it). */
  gatewayUrl: string;
  /**
   * Several hubs: agent i registers with gatewayUrls[i % length] (as if through a DNS name or load
   * balancer) and fails over to the hubs its welcomes name, as the real agent does.
   */
  gatewayUrls?: string[];
  /** Reusable join token (for agents without a stored identity for this hub). */
  token?: string;
  /** Keys and certificates are cached here. */
  identityDir: string;
  /** First agent index and how many agents (indices name the agents: <prefix>-<index>). */
  first: number;
  count: number;
  namePrefix: string;
  pool?: string;
  /** Connect attempts in flight at once (TLS handshake to welcome). */
  connectConcurrency: number;
  joinConcurrency: number;
  /** Offer the last TLS session ticket on reconnect. */
  tlsResume: boolean;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
}

export const DEFAULT_OPTIONS: Omit<SimulatorOptions, 'gatewayUrl'> = {
  identityDir: resolve(tmpdir(), 'atoll-sim-identities'),
  first: 0,
  count: 100,
  namePrefix: 'sim',
  connectConcurrency: 100,
  joinConcurrency: 8,
  tlsResume: true,
  reconnectBaseMs: 500,
  reconnectMaxMs: 30_000,
};

export interface ConnectReport {
  requested: number;
  welcomed: number;
  /** Agents the hub refused for good (HTTP 401/403: certificate unknown, node removed). */
  refused: number;
  wallMs: number;
  /** Per connection: TLS + upgrade + hello to welcome (queueing for a slot not included). */
  handshakeMs: number[];
  /** Per agent: its welcome, ms after the phase began (markPhase). */
  sinceMarkMs: number[];
  /** Several hubs: which hub welcomed how many agents in the phase. */
  landedOn: Record<string, number>;
  resumed: number;
  timedOut: boolean;
  errors: Record<string, number>;
}

export interface RttReport {
  samples: number[];
  /** Several hubs: the round trips by the hub each agent was on. */
  byHub: Record<string, number[]>;
  pingsSent: number;
  /** Pings whose pong had not come back by the end of the window (plus a grace period). */
  unanswered: number;
  /** The simulator's own event-loop delay over the window (ms): how much of a round trip is ours. */
  simLoopDelayMs?: { p50: number; p99: number; max: number };
}

export type GarbageKind = 'random' | 'truncated' | 'oversized' | 'text';

export interface SimStatus {
  agents: number;
  states: Record<string, number>;
  counters: AgentHost['counters'];
  errors: Record<string, number>;
  rssKiB: number;
  /** Several hubs: welcomed agents by the hub they are on. */
  onHub: Record<string, number>;
  /** CPU time (user + system) the simulator process(es) used so far, in seconds. */
  cpuSeconds: number;
}

/** The operations a bench drives; the in-process Simulator and the multi-process WorkerFleet both have them. */
export interface Fleet {
  prepare(): Promise<PrepareReport>;
  connect(timeoutMs: number): Promise<ConnectReport>;
  reconnectAll(timeoutMs: number): Promise<ConnectReport>;
  /**
   * For storms the fleet does not cause (a hub restart): markPhase() before, awaitPhase() after; every
   * agent reconnects by itself, with its backoff, and counts once when welcomed again. `onHub`: only
   * the agents welcomed by that hub now take part (a hub about to be killed).
   */
  markPhase(onHub?: string): Promise<void>;
  awaitPhase(timeoutMs: number): Promise<ConnectReport>;
  sampleRtt(windowMs: number, everyMs: number): Promise<RttReport>;
  drop(share: number, graceful: boolean): Promise<number>;
  garbage(count: number, kind: GarbageKind): Promise<number>;
  /** Sends a health report now; the agent's later reports keep `overrides` (a probe marker stays visible). */
  sendReport(nodeId: string, overrides: Partial<HealthReport>): Promise<boolean>;
  nodeIds(): Promise<string[]>;
  status(): Promise<SimStatus>;
  /** Forget stored certificates for this hub (keys stay cached). */
  forgetHubIdentities(): Promise<void>;
  stop(): Promise<void>;
}

class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly max: number) {}
  acquire(): Promise<() => void> {
    return new Promise((res) => {
      const grant = (): void => {
        this.active++;
        let done = false;
        res(() => {
          if (done) return;
          done = true;
          this.active--;
          this.waiting.shift()?.();
        });
      };
      if (this.active < this.max) grant();
      else this.waiting.push(grant);
    });
  }
}

const START = Date.now();

export class Simulator implements Fleet, AgentHost {
  readonly connectUrl: string;
  caPem = '';
  readonly tlsResume: boolean;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly counters = {
    reportsSent: 0,
    pingsSent: 0,
    pongs: 0,
    hubPings: 0,
    commands: 0,
    garbageSent: 0,
    closedByHub: 0,
    reconnects: 0,
    framesIn: 0,
    framesOut: 0,
  };
  private agents: SimAgent[] = [];
  private readonly byNodeId = new Map<string, SimAgent>();
  private readonly limiter: Limiter;
  private readonly errors = new ErrorCounts();
  private readonly abort = new AbortController();
  private phase:
    | {
        id: number;
        started: number;
        welcomed: number;
        lastAt: number;
        handshakes: number[];
        sinceMark: number[];
        landedOn: Record<string, number>;
        members?: Set<SimAgent>;
        resumed: number;
        errors: ErrorCounts;
      }
    | undefined;
  private phaseIds = 0;
  private rtt: { samples: number[]; byHub: Record<string, number[]> } | undefined;
  /** Welcome lists seen, so that agents with the same list share one array (bounded). */
  private readonly hubLists = new Map<string, string[]>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly facts0: HostFacts;

  constructor(readonly opts: SimulatorOptions) {
    this.connectUrl = `${opts.gatewayUrl.replace(/^https:/, 'wss:').replace(/\/$/, '')}/v1/agent/connect`;
    this.tlsResume = opts.tlsResume;
    this.reconnectBaseMs = opts.reconnectBaseMs;
    this.reconnectMaxMs = opts.reconnectMaxMs;
    this.limiter = new Limiter(opts.connectConcurrency);
    this.facts0 = {
      os: 'atoll simulator',
      kernel: release(),
      arch: arch() === 'x64' ? 'amd64' : arch(),
      cpus: 2,
      memoryBytes: 4 * 1024 ** 3,
      bootId: randomBytes(16).toString('hex'),
    };
    // One sweep for all agents instead of a watchdog timer each: a hub silent for two intervals is gone.
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const a of this.agents)
        if (a.state === 'welcomed' && now - a.lastInboundMs > 2 * a.intervalMs + 1000) a.silent();
    }, 1000);
    this.sweeper.unref();
  }

  acquire(): Promise<() => void> {
    return this.limiter.acquire();
  }

  registrationFor(agent: SimAgent): string | undefined {
    const urls = this.opts.gatewayUrls;
    return urls?.length ? urls[agent.id.index % urls.length] : undefined;
  }

  hubList(listed: unknown): string[] {
    const { urls } = cleanHubUrls(listed);
    const key = urls.join(' ');
    const known = this.hubLists.get(key);
    if (known) return known;
    if (this.hubLists.size >= 100) this.hubLists.clear();
    this.hubLists.set(key, urls);
    return urls;
  }

  health(): HealthReport {
    const gib = 1024 ** 3;
    return {
      cpuPercent: 2 + Math.random() * 3,
      memoryTotalBytes: 4 * gib,
      memoryUsedBytes: Math.round(1.2 * gib),
      diskTotalBytes: 40 * gib,
      diskUsedBytes: 10 * gib,
      load1: 0.1,
      load5: 0.1,
      load15: 0.05,
      uptimeSeconds: Math.floor((Date.now() - START) / 1000) + 3600,
      k3s: { state: 'disabled', version: '', kubeletHealthy: false, restarts: 0, lastLogLines: [] },
    };
  }

  facts(agent: SimAgent): HostFacts {
    const i = agent.id.index;
    return {
      ...this.facts0,
      hostname: agent.id.nodeName,
      addresses: [`10.${200 + ((i >> 16) & 0x3f)}.${(i >> 8) & 0xff}.${i & 0xff}`],
    };
  }

  welcomed(agent: SimAgent, handshakeMs: number, resumed: boolean): void {
    const p = this.phase;
    if (!p || agent.phase === p.id || (p.members && !p.members.has(agent))) return;
    agent.phase = p.id;
    p.welcomed++;
    p.lastAt = Date.now();
    p.handshakes.push(handshakeMs);
    p.sinceMark.push(p.lastAt - p.started);
    const hub = agent.hub ?? this.opts.gatewayUrl;
    p.landedOn[hub] = (p.landedOn[hub] ?? 0) + 1;
    if (resumed) p.resumed++;
  }

  pong(agent: SimAgent, rttMs: number): void {
    const r = this.rtt;
    if (!r || r.samples.length >= 5_000_000) return;
    r.samples.push(rttMs);
    if (agent.hub) (r.byHub[agent.hub] ??= []).push(rttMs);
  }

  lost(_agent: SimAgent, why: string): void {
    const key = why.replace(/\d{5,}/g, 'N');
    this.errors.add(key);
    this.phase?.errors.add(key);
  }

  async prepare(): Promise<PrepareReport> {
    const o = this.opts;
    this.caPem = await fetchPinnedCa(o.gatewayUrl, o.token, this.abort.signal);
    const { identities, report } = await prepareIdentities(
      {
        gatewayUrl: o.gatewayUrl,
        token: o.token,
        identityDir: o.identityDir,
        namePrefix: o.namePrefix,
        pool: o.pool,
        joinConcurrency: o.joinConcurrency,
        signal: this.abort.signal,
      },
      this.caPem,
      o.first,
      o.count,
    );
    this.agents = identities.map((id) => new SimAgent(id, this));
    for (const a of this.agents) this.byNodeId.set(a.nodeId, a);
    return report;
  }

  /** Fetches the hub CA (checked against the token's pin), for agents joined one by one (adopt). */
  async init(): Promise<void> {
    this.caPem ||= await fetchPinnedCa(this.opts.gatewayUrl, this.opts.token, this.abort.signal);
  }

  /** Takes on an agent joined elsewhere (the join-storm bench joins each just before it connects) and starts it. */
  adopt(id: SimIdentity): void {
    const a = new SimAgent(id, this);
    this.agents.push(a);
    this.byNodeId.set(a.nodeId, a);
    a.start();
  }

  /** Welcomed agents now. */
  welcomedCount(): number {
    return this.agents.filter((a) => a.state === 'welcomed').length;
  }

  /** Starts counting welcomes: every agent counts once, at its first welcome from now on. */
  async markPhase(onHub?: string): Promise<void> {
    this.phase = {
      id: ++this.phaseIds,
      started: Date.now(),
      welcomed: 0,
      lastAt: 0,
      handshakes: [],
      sinceMark: [],
      landedOn: {},
      ...(onHub ? { members: new Set(this.agents.filter((a) => a.state === 'welcomed' && a.hub === onHub)) } : {}),
      resumed: 0,
      errors: new ErrorCounts(),
    };
  }

  /** Waits until every agent that is still trying has been welcomed since markPhase(), or the timeout. */
  async awaitPhase(timeoutMs: number): Promise<ConnectReport> {
    const p = this.phase;
    if (!p) throw new Error('awaitPhase without markPhase');
    const target = (): number =>
      (p.members ? [...p.members] : this.agents).filter(
        (a) => a.state !== 'refused' && a.state !== 'removed' && a.state !== 'stopped',
      ).length;
    const deadline = Date.now() + timeoutMs;
    let want = target();
    while (p.welcomed < want && Date.now() < deadline && !this.abort.signal.aborted) {
      await sleep(50);
      want = Math.min(want, target());
    }
    const refused = this.agents.filter((a) => a.state === 'refused').length;
    this.phase = undefined;
    return {
      requested: p.members?.size ?? this.agents.length,
      welcomed: p.welcomed,
      refused,
      wallMs: (p.lastAt || Date.now()) - p.started,
      handshakeMs: p.handshakes,
      sinceMarkMs: p.sinceMark,
      landedOn: p.landedOn,
      resumed: p.resumed,
      timedOut: p.welcomed < want,
      errors: p.errors.toJSON(),
    };
  }

  private async runPhase(timeoutMs: number, kick: (a: SimAgent) => void): Promise<ConnectReport> {
    await this.markPhase();
    for (const a of this.agents) kick(a);
    return this.awaitPhase(timeoutMs);
  }

  /** Starts every agent; resolves once all are welcomed (or refused for good), or at the timeout. */
  connect(timeoutMs: number): Promise<ConnectReport> {
    return this.runPhase(timeoutMs, (a) => a.start());
  }

  /** Every agent hangs up at once and connects again (a storm); resolves when all are welcomed again. */
  reconnectAll(timeoutMs: number): Promise<ConnectReport> {
    return this.runPhase(timeoutMs, (a) => a.reconnectNow());
  }

  /** Each welcomed agent pings every `everyMs` (random phase) for `windowMs`; returns the round trips. */
  async sampleRtt(windowMs: number, everyMs: number): Promise<RttReport> {
    const rtt = { samples: [] as number[], byHub: {} as Record<string, number[]> };
    this.rtt = rtt;
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const sentBefore = this.counters.pingsSent;
    let unanswered = 0;
    const end = Date.now() + windowMs;
    const timers = new Set<NodeJS.Timeout>();
    const tick = (a: SimAgent): void => {
      if (Date.now() >= end || this.abort.signal.aborted) return;
      if (a.pingOutstanding) unanswered++;
      a.ping();
      const t = setTimeout(() => {
        timers.delete(t);
        tick(a);
      }, everyMs);
      timers.add(t);
    };
    for (const a of this.agents) {
      const t = setTimeout(() => {
        timers.delete(t);
        tick(a);
      }, Math.random() * everyMs);
      timers.add(t);
    }
    await sleep(windowMs);
    for (const t of timers) clearTimeout(t);
    // Grace for pongs still on their way.
    const graceEnd = Date.now() + 5000;
    while (this.agents.some((a) => a.pingOutstanding) && Date.now() < graceEnd) await sleep(50);
    unanswered += this.agents.filter((a) => a.pingOutstanding).length;
    this.rtt = undefined;
    delay.disable();
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
    return {
      samples: rtt.samples,
      byHub: rtt.byHub,
      pingsSent: this.counters.pingsSent - sentBefore,
      unanswered,
      simLoopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
    };
  }

  /** Takes a share of the welcomed agents down for good (graceful close, or a silent drop). */
  async drop(share: number, graceful: boolean): Promise<number> {
    const live = this.agents.filter((a) => a.state === 'welcomed');
    const n = Math.round(live.length * Math.min(1, Math.max(0, share)));
    for (const a of live.slice(0, n)) a.stop('stopped', graceful);
    return n;
  }

  /** `count` welcomed agents each send one bad frame; the hub should close them, and they reconnect. */
  async garbage(count: number, kind: GarbageKind): Promise<number> {
    const live = this.agents.filter((a) => a.state === 'welcomed').slice(0, count);
    let sent = 0;
    for (const a of live) {
      let data: Buffer | string;
      switch (kind) {
        case 'text':
          data = 'hello?';
          break;
        case 'oversized':
          data = randomBytes(1024 * 1024 + 16);
          break;
        case 'truncated':
          data = Buffer.from([0x08, 0x01, 0x62, 0x40, 0x0a]);
          break;
        default:
          data = randomBytes(64);
      }
      if (a.sendRaw(data)) sent++;
    }
    return sent;
  }

  async sendReport(nodeId: string, overrides: Partial<HealthReport>): Promise<boolean> {
    const a = this.byNodeId.get(nodeId);
    if (!a) return false;
    // Later periodic reports carry the same overrides, so a probe's marker is never overwritten.
    a.healthOverrides = overrides;
    return a.sendHealth();
  }

  async nodeIds(): Promise<string[]> {
    return this.agents.map((a) => a.nodeId);
  }

  async status(): Promise<SimStatus> {
    const states: Record<string, number> = {};
    const onHub: Record<string, number> = {};
    for (const a of this.agents) {
      states[a.state] = (states[a.state] ?? 0) + 1;
      if (a.state === 'welcomed' && a.hub) onHub[a.hub] = (onHub[a.hub] ?? 0) + 1;
    }
    return {
      agents: this.agents.length,
      states,
      onHub,
      counters: { ...this.counters },
      errors: this.errors.toJSON(),
      rssKiB: Math.round(process.memoryUsage.rss() / 1024),
      cpuSeconds: cpuOfThisProcess(),
    };
  }

  async forgetHubIdentities(): Promise<void> {
    if (!this.caPem) return;
    for (const a of this.agents) forgetIdentity(this.opts.identityDir, this.caPem, a.id.index);
  }

  /** Every agent says goodbye (Close frame, WebSocket close) and stops reconnecting. */
  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.sweeper);
    for (const a of this.agents) a.stop('stopped', true);
    // Give close frames a moment to leave; sockets that linger are terminated by the agents' own timers.
    await sleep(this.agents.length ? 200 : 0);
  }
}

function cpuOfThisProcess(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------
// Several processes: the parent forks workers, each a Simulator over a slice of the indices.

interface Request {
  id: number;
  method: keyof Fleet | 'init';
  args: unknown[];
}
interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

const SELF = fileURLToPath(import.meta.url);

export class WorkerFleet implements Fleet {
  private readonly children: ChildProcess[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, { res: (v: unknown) => void; rej: (e: Error) => void }>();

  private constructor() {}

  static async start(opts: SimulatorOptions, workers: number): Promise<WorkerFleet> {
    const fleet = new WorkerFleet();
    const per = Math.ceil(opts.count / workers);
    for (let w = 0; w < workers; w++) {
      const count = Math.min(per, opts.count - w * per);
      if (count <= 0) break;
      const child = fork(SELF, [], {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, ATOLL_SIM_WORKER: '1' },
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.on('message', (m: Reply) => {
        const w8 = fleet.waiting.get(m.id);
        if (!w8) return;
        fleet.waiting.delete(m.id);
        if (m.error) w8.rej(new Error(m.error));
        else w8.res(m.result);
      });
      child.on('exit', (code) => {
        for (const [id, w8] of fleet.waiting) {
          fleet.waiting.delete(id);
          w8.rej(new Error(`simulator worker exited (${code})`));
        }
      });
      fleet.children.push(child);
      await fleet.call(child, 'init', [{ ...opts, first: opts.first + w * per, count }]);
    }
    return fleet;
  }

  private call<T>(child: ChildProcess, method: Request['method'], args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((res, rej) => {
      this.waiting.set(id, { res: res as (v: unknown) => void, rej });
      child.send({ id, method, args } satisfies Request);
    });
  }

  private all<T>(method: keyof Fleet, ...args: unknown[]): Promise<T[]> {
    return Promise.all(this.children.map((c) => this.call<T>(c, method, args)));
  }

  async prepare(): Promise<PrepareReport> {
    const rs = await this.all<PrepareReport>('prepare');
    return {
      count: sum(rs, (r) => r.count),
      keysGenerated: sum(rs, (r) => r.keysGenerated),
      keysLoaded: sum(rs, (r) => r.keysLoaded),
      keygenMs: Math.max(...rs.map((r) => r.keygenMs)),
      joined: sum(rs, (r) => r.joined),
      reused: sum(rs, (r) => r.reused),
      failed: sum(rs, (r) => r.failed),
      errors: rs.flatMap((r) => r.errors).slice(0, 10),
      wallMs: Math.max(...rs.map((r) => r.wallMs)),
      joinWallMs: Math.max(...rs.map((r) => r.joinWallMs)),
      joinLatenciesMs: rs.flatMap((r) => r.joinLatenciesMs),
    };
  }

  private mergeConnect(rs: ConnectReport[]): ConnectReport {
    return {
      requested: sum(rs, (r) => r.requested),
      welcomed: sum(rs, (r) => r.welcomed),
      refused: sum(rs, (r) => r.refused),
      wallMs: Math.max(...rs.map((r) => r.wallMs)),
      handshakeMs: rs.flatMap((r) => r.handshakeMs),
      sinceMarkMs: rs.flatMap((r) => r.sinceMarkMs),
      landedOn: addCounts(rs.map((r) => r.landedOn)),
      resumed: sum(rs, (r) => r.resumed),
      timedOut: rs.some((r) => r.timedOut),
      errors: addCounts(rs.map((r) => r.errors)),
    };
  }

  async connect(timeoutMs: number): Promise<ConnectReport> {
    return this.mergeConnect(await this.all<ConnectReport>('connect', timeoutMs));
  }

  async reconnectAll(timeoutMs: number): Promise<ConnectReport> {
    return this.mergeConnect(await this.all<ConnectReport>('reconnectAll', timeoutMs));
  }

  async markPhase(onHub?: string): Promise<void> {
    await this.all('markPhase', onHub);
  }

  async awaitPhase(timeoutMs: number): Promise<ConnectReport> {
    return this.mergeConnect(await this.all<ConnectReport>('awaitPhase', timeoutMs));
  }

  async sampleRtt(windowMs: number, everyMs: number): Promise<RttReport> {
    const rs = await this.all<RttReport>('sampleRtt', windowMs, everyMs);
    const worst = rs
      .map((r) => r.simLoopDelayMs)
      .filter((d) => d !== undefined)
      .sort((a, b) => b.p99 - a.p99)[0];
    const byHub: Record<string, number[]> = {};
    for (const r of rs) for (const [hub, xs] of Object.entries(r.byHub)) (byHub[hub] ??= []).push(...xs);
    return {
      samples: rs.flatMap((r) => r.samples),
      byHub,
      pingsSent: sum(rs, (r) => r.pingsSent),
      unanswered: sum(rs, (r) => r.unanswered),
      ...(worst ? { simLoopDelayMs: worst } : {}),
    };
  }

  async drop(share: number, graceful: boolean): Promise<number> {
    return sum(await this.all<number>('drop', share, graceful), (n) => n);
  }

  async garbage(count: number, kind: GarbageKind): Promise<number> {
    const per = Math.ceil(count / this.children.length);
    return sum(await this.all<number>('garbage', per, kind), (n) => n);
  }

  async sendReport(nodeId: string, overrides: Partial<HealthReport>): Promise<boolean> {
    return (await this.all<boolean>('sendReport', nodeId, overrides)).some(Boolean);
  }

  async nodeIds(): Promise<string[]> {
    return (await this.all<string[]>('nodeIds')).flat();
  }

  async status(): Promise<SimStatus> {
    const rs = await this.all<SimStatus>('status');
    const counters = { ...rs[0].counters };
    for (const k of Object.keys(counters) as (keyof typeof counters)[]) counters[k] = sum(rs, (r) => r.counters[k]);
    return {
      agents: sum(rs, (r) => r.agents),
      states: addCounts(rs.map((r) => r.states)),
      onHub: addCounts(rs.map((r) => r.onHub)),
      counters,
      errors: addCounts(rs.map((r) => r.errors)),
      rssKiB: sum(rs, (r) => r.rssKiB),
      cpuSeconds: sum(rs, (r) => r.cpuSeconds),
    };
  }

  async forgetHubIdentities(): Promise<void> {
    await this.all('forgetHubIdentities');
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((r) => c.once('exit', r));
        await this.call(c, 'stop', []).catch(() => undefined);
        const t = setTimeout(() => c.kill('SIGKILL'), 5000);
        c.disconnect();
        await exited;
        clearTimeout(t);
      }),
    );
  }
}

function sum<T>(xs: T[], f: (x: T) => number): number {
  return xs.reduce((a, x) => a + f(x), 0);
}

function addCounts(xs: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) for (const [k, v] of Object.entries(x)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export async function createFleet(opts: SimulatorOptions, workers = 1): Promise<Fleet> {
  return workers > 1 ? WorkerFleet.start(opts, workers) : new Simulator(opts);
}

/** Worker side: one Simulator driven by the parent's requests. */
function runWorker(): void {
  let sim: Simulator | undefined;
  process.on('message', (m: Request) => {
    void (async () => {
      try {
        let result: unknown;
        if (m.method === 'init') {
          sim = new Simulator(m.args[0] as SimulatorOptions);
        } else {
          if (!sim) throw new Error('worker not initialised');
          const fn = sim[m.method] as (...a: unknown[]) => Promise<unknown>;
          result = await fn.apply(sim, m.args);
        }
        process.send?.({ id: m.id, result } satisfies Reply);
      } catch (err) {
        process.send?.({ id: m.id, error: (err as Error).message } satisfies Reply);
      }
    })();
  });
  process.on('disconnect', () => {
    void (sim?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
  });
}

// ---------------------------------------------------------------------------------------------
// CLI

const HELP = `atoll agent simulator: many agents with real keys and certificates over real mTLS WebSockets

usage: node --import tsx test/bench/simulator.ts [options]

hub (one of):
  --hub URL --token TOKEN   gateway URL and a reusable join token (atoll-hub token create --reusable)
  --hub-data-dir DIR        a local hub's data dir: reads hub.json, ca.crt and admin-token, makes a token
agents:
  --count N                 agents to simulate (default 100)
  --first K                 index of the first agent (default 0); run several simulators on disjoint ranges
  --workers P               processes sharing the load (default 1)
  --identity-dir DIR        key and certificate cache (default ${DEFAULT_OPTIONS.identityDir})
  --name-prefix P           node names are P-<index> (default sim)
  --pool P                  pool to join (default: the token's)
  --connect-concurrency C   connects in flight (default 100)
  --join-concurrency C      joins in flight (default 8)
  --no-tls-resume           do not offer TLS session tickets on reconnect
run:
  --connect-timeout DUR     give up waiting for all agents to be welcomed after DUR (default 5m)
  --duration DUR            how long to stay connected after that (default 60s; max 24h)
  --status-every DUR        status line period (default 5s)
  --reconnect-all-after DUR every agent hangs up and reconnects at once, after DUR
  --drop SHARE              share (0..1) of agents to take down for good ...
  --drop-after DUR          ... after DUR (default 10s)
  --silent-drop             drop without a close frame (the hub must notice by heartbeat)
  --garbage N               N agents send a bad frame ...
  --garbage-kind KIND       random | truncated | oversized | text (default random)
  --garbage-after DUR       ... after DUR (default 5s)
  --forget                  forget this hub's certificates at the end (keys stay cached)
`;

async function resolveHub(
  v: Record<string, string | boolean | undefined>,
): Promise<{ gatewayUrl: string; token?: string }> {
  if (typeof v['hub-data-dir'] === 'string') {
    const dir = v['hub-data-dir'];
    const runtime = JSON.parse(readFileSync(resolve(dir, 'hub.json'), 'utf8')) as {
      apiUrl: string;
      gatewayUrl: string;
      gatewayPort: number;
    };
    const caPem = readFileSync(resolve(dir, 'ca.crt'), 'utf8');
    const admin = readFileSync(resolve(dir, 'admin-token'), 'utf8').trim();
    const token = typeof v.token === 'string' ? v.token : await createReusableToken(runtime.apiUrl, caPem, admin);
    return { gatewayUrl: typeof v.hub === 'string' ? v.hub : runtime.gatewayUrl, token };
  }
  if (typeof v.hub !== 'string') throw new Error('give --hub URL (with --token) or --hub-data-dir DIR');
  return { gatewayUrl: v.hub, token: typeof v.token === 'string' ? v.token : undefined };
}

async function runCli(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      hub: { type: 'string' },
      token: { type: 'string' },
      'hub-data-dir': { type: 'string' },
      count: { type: 'string' },
      first: { type: 'string' },
      workers: { type: 'string' },
      'identity-dir': { type: 'string' },
      'name-prefix': { type: 'string' },
      pool: { type: 'string' },
      'connect-concurrency': { type: 'string' },
      'join-concurrency': { type: 'string' },
      'no-tls-resume': { type: 'boolean' },
      duration: { type: 'string' },
      'connect-timeout': { type: 'string' },
      'status-every': { type: 'string' },
      'reconnect-all-after': { type: 'string' },
      drop: { type: 'string' },
      'drop-after': { type: 'string' },
      'silent-drop': { type: 'boolean' },
      garbage: { type: 'string' },
      'garbage-kind': { type: 'string' },
      'garbage-after': { type: 'string' },
      forget: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const int = (name: string, def: number, min = 0): number => {
    const raw = v[name as keyof typeof v];
    const n = raw === undefined ? def : Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return n;
  };
  const hub = await resolveHub(v);
  const opts: SimulatorOptions = {
    ...DEFAULT_OPTIONS,
    ...hub,
    identityDir: v['identity-dir'] ?? DEFAULT_OPTIONS.identityDir,
    count: int('count', DEFAULT_OPTIONS.count, 1),
    first: int('first', 0),
    namePrefix: v['name-prefix'] ?? 'sim',
    pool: v.pool,
    connectConcurrency: int('connect-concurrency', DEFAULT_OPTIONS.connectConcurrency, 1),
    joinConcurrency: int('join-concurrency', DEFAULT_OPTIONS.joinConcurrency, 1),
    tlsResume: !v['no-tls-resume'],
  };
  const durationMs = Math.min(parseDurationMs(v.duration ?? '60s'), 24 * 3_600_000);
  const statusEvery = Math.max(500, parseDurationMs(v['status-every'] ?? '5s'));
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  const fleet = await createFleet(opts, int('workers', 1, 1));
  let stopping = false;
  const stopped = new Promise<void>((res) => {
    const onSignal = (): void => {
      stopping = true;
      res();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  try {
    out(
      `simulator: ${opts.count} agents [${opts.first}..${opts.first + opts.count - 1}] against ${opts.gatewayUrl}, identities in ${opts.identityDir}`,
    );
    const prep = await fleet.prepare();
    out(
      `prepared in ${prep.wallMs} ms: keys ${prep.keysGenerated} new / ${prep.keysLoaded} cached in ${prep.keygenMs} ms; joins ${prep.joined} new / ${prep.reused} reused; ${prep.failed} failed${prep.errors.length ? `\n  ${prep.errors.join('\n  ')}` : ''}`,
    );
    if (prep.joined)
      out(
        `  join latency ms ${JSON.stringify(summarize(prep.joinLatenciesMs))}, ${((prep.joined / Math.max(1, prep.joinWallMs)) * 1000).toFixed(1)} joins/s`,
      );
    const c = await fleet.connect(parseDurationMs(v['connect-timeout'] ?? '5m'));
    out(
      `connected ${c.welcomed}/${c.requested} in ${c.wallMs} ms (${((c.welcomed / Math.max(1, c.wallMs)) * 1000).toFixed(1)}/s); handshake ms ${JSON.stringify(summarize(c.handshakeMs))}${c.timedOut ? ' TIMED OUT' : ''}`,
    );
    const started = Date.now();
    const actions: { at: number; run: () => Promise<string> }[] = [];
    if (v['reconnect-all-after']) {
      actions.push({
        at: parseDurationMs(v['reconnect-all-after']),
        run: async () => {
          const r = await fleet.reconnectAll(120_000);
          return `reconnect-all: ${r.welcomed}/${r.requested} back in ${r.wallMs} ms, ${r.resumed} with TLS resumption; handshake ms ${JSON.stringify(summarize(r.handshakeMs))}`;
        },
      });
    }
    if (v.drop) {
      const share = Number(v.drop);
      actions.push({
        at: parseDurationMs(v['drop-after'] ?? '10s'),
        run: async () =>
          `dropped ${await fleet.drop(share, !v['silent-drop'])} agents${v['silent-drop'] ? ' (silently)' : ''}`,
      });
    }
    if (v.garbage) {
      const n = Number(v.garbage);
      const kind = (v['garbage-kind'] ?? 'random') as GarbageKind;
      actions.push({
        at: parseDurationMs(v['garbage-after'] ?? '5s'),
        run: async () => `sent ${kind} garbage from ${await fleet.garbage(n, kind)} agents`,
      });
    }
    actions.sort((a, b) => a.at - b.at);
    let nextStatus = started + statusEvery;
    while (!stopping && Date.now() - started < durationMs) {
      await Promise.race([sleep(100), stopped]);
      const due = actions[0];
      if (due && Date.now() - started >= due.at) {
        actions.shift();
        out(await due.run());
      }
      if (Date.now() >= nextStatus) {
        nextStatus += statusEvery;
        const s = await fleet.status();
        out(
          `t=${Math.round((Date.now() - started) / 1000)}s states ${JSON.stringify(s.states)} reports ${s.counters.reportsSent} hub-pings ${s.counters.hubPings} commands ${s.counters.commands} reconnects ${s.counters.reconnects} rss ${Math.round(s.rssKiB / 1024)} MiB${Object.keys(s.errors).length ? ` errors ${JSON.stringify(s.errors)}` : ''}`,
        );
      }
    }
    const s = await fleet.status();
    if (v.forget) await fleet.forgetHubIdentities();
    out(
      JSON.stringify({
        prepare: { ...prep, joinLatenciesMs: summarize(prep.joinLatenciesMs) },
        connect: { ...c, handshakeMs: summarize(c.handshakeMs) },
        status: s,
      }),
    );
    return 0;
  } finally {
    await fleet.stop();
  }
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === SELF;
if (isMain && process.env.ATOLL_SIM_WORKER === '1' && process.send) {
  runWorker();
} else if (isMain) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`simulator: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
