// Small helpers for benchmarks: percentiles, durations, and a process's RSS and CPU from /proc.
import { readFileSync } from 'node:fs';

export interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function summarize(values: number[]): Summary {
  const s = Float64Array.from(values).sort();
  const arr = Array.from(s);
  const sum = arr.reduce((a, b) => a + b, 0);
  return {
    count: arr.length,
    p50: round(percentile(arr, 50)),
    p90: round(percentile(arr, 90)),
    p99: round(percentile(arr, 99)),
    max: round(arr.length ? arr[arr.length - 1] : NaN),
    mean: round(arr.length ? sum / arr.length : NaN),
  };
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "10s", "5m", "1h" (or a bare number of milliseconds) to milliseconds. */
export function parseDurationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration (e.g. 500ms, 10s, 5m)`);
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']);
}

/** Resident set size of a process in KiB (VmRSS from /proc/<pid>/status). */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** CPU time (user + system) a process has used, in seconds (Linux clock ticks are 100 Hz). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", field 3 (state) is index 0: utime is field 14 (index 11), stime 15 (index 12).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * The main thread of a process (tid = pid: Node's event loop): seconds on a CPU and seconds runnable
 * but waiting for one (/proc/<pid>/schedstat). Wait time is CPU starvation, e.g. from other processes.
 */
export function mainThreadSched(pid: number): { cpu: number; wait: number } {
  const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
  return { cpu: run / 1e9, wait: wait / 1e9 };
}

/** Counts of short error keys, bounded in size. */
export class ErrorCounts {
  private readonly counts = new Map<string, number>();
  constructor(private readonly max = 50) {}
  add(key: string): void {
    const k = key.slice(0, 120);
    const n = this.counts.get(k);
    if (n !== undefined) this.counts.set(k, n + 1);
    else if (this.counts.size < this.max) this.counts.set(k, 1);
    else this.counts.set('(other)', (this.counts.get('(other)') ?? 0) + 1);
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
