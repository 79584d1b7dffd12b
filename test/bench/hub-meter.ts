// The hub's CPU time, event-loop busy time and memory over stretches of a benchmark run: the whole
// process from /proc, its main (event-loop) thread's on-CPU and run-queue time, and, through the
// inspector (hub-probe.ts), event-loop utilisation and RSS after a full GC.
import { HubProbe, utilization, type Elu } from './hub-probe.js';
import { cpuSeconds, mainThreadSched, round, rssKiB } from './stats.js';

export interface Load {
  wallMs: number;
  /** Whole hub process (all threads). */
  hubCpuPercentOfCore: number;
  /** Event-loop utilisation: share of the time the loop was running a task (on a CPU or not). */
  hubLoopBusyPercent: number | null;
  /** The loop thread: on a CPU, and runnable but waiting for a CPU (starved by other processes). */
  hubLoopOnCpuPercent: number;
  hubLoopRunQueuePercent: number;
  /** Loop-thread CPU per operation (join, connect): the hub's cost, whatever else shares the machine. */
  hubLoopCpuMsPerOp?: number;
}

export interface Mem {
  rssKiB: number;
  heapKiB: number | null;
}

export interface Mark {
  t: number;
  cpu: number;
  sched: { cpu: number; wait: number };
  elu: Elu | undefined;
}

/** CPU time and event-loop busy time of the hub over a stretch of the run. */
export class HubMeter {
  constructor(
    readonly pid: number,
    readonly probe: HubProbe | undefined,
  ) {}

  async mark(): Promise<Mark> {
    return { t: Date.now(), cpu: cpuSeconds(this.pid), sched: mainThreadSched(this.pid), elu: await this.probe?.elu() };
  }

  async since(m: Mark, wallMs?: number, ops?: number): Promise<Load> {
    const now = await this.mark();
    const secs = Math.max(0.001, (now.t - m.t) / 1000);
    const pct = (x: number): number => round((x / secs) * 100, 1);
    return {
      wallMs: wallMs ?? now.t - m.t,
      hubCpuPercentOfCore: pct(now.cpu - m.cpu),
      hubLoopBusyPercent: m.elu && now.elu ? round(utilization(m.elu, now.elu) * 100, 1) : null,
      hubLoopOnCpuPercent: pct(now.sched.cpu - m.sched.cpu),
      hubLoopRunQueuePercent: pct(now.sched.wait - m.sched.wait),
      ...(ops ? { hubLoopCpuMsPerOp: round(((now.sched.cpu - m.sched.cpu) * 1000) / ops, 2) } : {}),
    };
  }

  async mem(): Promise<Mem> {
    if (!this.probe) return { rssKiB: rssKiB(this.pid), heapKiB: null };
    await this.probe.gc();
    return { rssKiB: rssKiB(this.pid), heapKiB: Math.round((await this.probe.heapUsed()) / 1024) };
  }
}
