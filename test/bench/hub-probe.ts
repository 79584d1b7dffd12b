// Looks inside the hub process through the V8 inspector (the hub runs with --inspect=127.0.0.1:0,
// loopback only): force a full GC before reading RSS, so RSS deltas are live memory rather than
// garbage, and read the event-loop utilisation, which shows time the loop was blocked (e.g. in
// synchronous fsyncs) that CPU time does not.
import WebSocket from 'ws';

export interface Elu {
  idle: number;
  active: number;
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
export interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}
export interface Stall {
  ms: number;
  top: Array<{ frame: string; ms: number }>;
}

/** Stretches where the loop never went idle, longest first, with the frames that took their time (self time). */
export function longestStalls(p: CpuProfile, count: number): Stall[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const idle = (id: number): boolean => ['(idle)', '(program)'].includes(byId.get(id)?.callFrame.functionName ?? '');
  const frame = (id: number): string => {
    // The innermost frame with a name, and where it is, plus the first frame of ours above it.
    const names: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined && names.length < 40; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      names.push(
        `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`,
      );
    }
    const ours = names.find((n) => n.includes('dist/hub/') || n.includes('dist/certs/')) ?? '';
    return `${names[0]}${ours && ours !== names[0] ? ` <- ${ours}` : ''}`;
  };
  const runs: Array<{ ms: number; self: Map<string, number> }> = [];
  let cur: { ms: number; self: Map<string, number> } | undefined;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    if (idle(p.samples[i])) {
      if (cur) runs.push(cur);
      cur = undefined;
      continue;
    }
    cur ??= { ms: 0, self: new Map() };
    cur.ms += dt;
    const f = frame(p.samples[i]);
    cur.self.set(f, (cur.self.get(f) ?? 0) + dt);
  }
  if (cur) runs.push(cur);
  return runs
    .sort((a, b) => b.ms - a.ms)
    .slice(0, count)
    .map((r) => ({
      ms: Math.round(r.ms),
      top: [...r.self]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([f, ms]) => ({ frame: f, ms: Math.round(ms) })),
    }));
}

export class HubProbe {
  private nextId = 1;
  private readonly waiting = new Map<number, { res: (v: unknown) => void; rej: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      const w = m.id === undefined ? undefined : this.waiting.get(m.id);
      if (!w || m.id === undefined) return;
      this.waiting.delete(m.id);
      if (m.error) w.rej(new Error(m.error.message));
      else w.res(m.result);
    });
    ws.on('close', () => {
      for (const w of this.waiting.values()) w.rej(new Error('inspector session closed'));
      this.waiting.clear();
    });
  }

  /** Finds "Debugger listening on ws://..." in the hub's stderr and attaches. */
  static async attach(stderr: string): Promise<HubProbe> {
    const m = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(stderr);
    if (!m) throw new Error('the hub did not print an inspector URL (is NODE_OPTIONS=--inspect=127.0.0.1:0 set?)');
    const ws = new WebSocket(m[1], { perMessageDeflate: false });
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    return new HubProbe(ws);
  }

  private call<T>(method: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((res, rej) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        rej(new Error(`inspector ${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        res: (v) => {
          clearTimeout(t);
          res(v as T);
        },
        rej: (e) => {
          clearTimeout(t);
          rej(e);
        },
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Two full, compacting GCs (the second catches what the first's finalizers freed). */
  async gc(): Promise<void> {
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
  }

  /** V8 heap in use, bytes. */
  async heapUsed(): Promise<number> {
    const r = await this.call<{ usedSize: number }>('Runtime.getHeapUsage');
    return r.usedSize;
  }

  /** Cumulative event-loop idle and active time (ms) since the hub started. */
  async elu(): Promise<Elu> {
    const r = await this.call<{ result: { value: string } }>('Runtime.evaluate', {
      expression: 'JSON.stringify(performance.eventLoopUtilization())',
      returnByValue: true,
    });
    const v = JSON.parse(r.result.value) as Elu;
    return { idle: v.idle, active: v.active };
  }

  /** Starts an event-loop delay histogram inside the hub (10 ms resolution). */
  async loopDelayStart(): Promise<void> {
    await this.call('Runtime.evaluate', {
      expression:
        "globalThis.__atollLoopDelay?.disable(); globalThis.__atollLoopDelay = process.getBuiltinModule('node:perf_hooks').monitorEventLoopDelay({ resolution: 10 }); globalThis.__atollLoopDelay.enable(); 'ok'",
      returnByValue: true,
    });
  }

  /** The hub's event-loop delay since loopDelayStart (ms), and stops measuring. */
  async loopDelayStop(): Promise<{ p50: number; p99: number; max: number }> {
    const r = await this.call<{ result: { value: string } }>('Runtime.evaluate', {
      expression:
        '(() => { const h = globalThis.__atollLoopDelay; h.disable(); return JSON.stringify({ p50: h.percentile(50), p99: h.percentile(99), max: h.max }); })()',
      returnByValue: true,
    });
    const v = JSON.parse(r.result.value) as { p50: number; p99: number; max: number };
    const ms = (ns: number): number => Math.round(ns / 1e4) / 100;
    return { p50: ms(v.p50), p99: ms(v.p99), max: ms(v.max) };
  }

  /** Starts the V8 CPU profiler in the hub (1 ms sampling). */
  async profileStart(): Promise<void> {
    await this.call('Profiler.enable');
    await this.call('Profiler.setSamplingInterval', { interval: 1000 });
    await this.call('Profiler.start');
  }

  /** Stops the profiler; returns the profile and the longest busy stretches with their heaviest frames. */
  async profileStop(): Promise<{ profile: CpuProfile; stalls: Stall[] }> {
    const { profile } = await this.call<{ profile: CpuProfile }>('Profiler.stop', {}, 120_000);
    return { profile, stalls: longestStalls(profile, 3) };
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Share of the time the event loop was busy between two readings (0..1). */
export function utilization(a: Elu, b: Elu): number {
  const active = b.active - a.active;
  const idle = b.idle - a.idle;
  return active + idle > 0 ? active / (active + idle) : 0;
}
