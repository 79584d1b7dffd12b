// Health history sampling: of the reports that reach the store (every ~10 s per node), at most one per
// node per interval becomes a history sample (cpu, memory, disk percentages). Decided in memory on the
// batcher's flush, so the history costs no extra transaction and no extra fsync.
import type { HealthSample, HealthUpdate } from '../store/types.js';

export const HEALTH_SAMPLE_INTERVAL_MS = 30_000;
/** Samples are kept this long (the dashboard shows the last hour), then pruned on the node's next sample. */
export const HEALTH_HISTORY_RETENTION_MS = 75 * 60_000;

export interface HealthSampler {
  /**
   * The samples due among these updates, and the time before which older samples may go. nowMs is
   * wall time (sample stamps, pruning); monoMs, when given, paces the samples (a step of the wall
   * clock then neither stops nor floods sampling).
   */
  take(
    updates: readonly HealthUpdate[],
    nowMs: number,
    monoMs?: number,
  ): { samples: HealthSample[]; pruneBefore: string };
  readonly intervalMs: number;
  readonly retentionMs: number;
}

function pct(used: number, total: number): number {
  return total > 0 ? (used / total) * 100 : 0;
}

export function createHealthSampler(opts: { intervalMs?: number; retentionMs?: number } = {}): HealthSampler {
  const intervalMs = opts.intervalMs ?? HEALTH_SAMPLE_INTERVAL_MS;
  const retentionMs = opts.retentionMs ?? HEALTH_HISTORY_RETENTION_MS;
  // Node id -> when its last sample was taken. An entry older than the interval means the same as no
  // entry, so the map is swept of those once per interval and stays as large as the reporting nodes.
  const last = new Map<string, number>();
  let sweptAt = 0;
  const sweep = (nowMs: number): void => {
    if (nowMs - sweptAt < intervalMs) return;
    sweptAt = nowMs;
    for (const [id, at] of last) if (nowMs - at >= intervalMs) last.delete(id);
  };
  return {
    intervalMs,
    retentionMs,
    take(updates, nowMs, monoMs = nowMs) {
      sweep(monoMs);
      const samples: HealthSample[] = [];
      for (const u of updates) {
        const h = u.health;
        if (!h) continue;
        const prev = last.get(u.nodeId);
        if (prev !== undefined && monoMs - prev < intervalMs) continue;
        last.set(u.nodeId, monoMs);
        samples.push({
          nodeId: u.nodeId,
          at: new Date(nowMs).toISOString(),
          cpuPercent: h.cpuPercent,
          memoryPercent: pct(h.memoryUsedBytes, h.memoryTotalBytes),
          diskPercent: pct(h.diskUsedBytes, h.diskTotalBytes),
        });
      }
      return { samples, pruneBefore: new Date(nowMs - retentionMs).toISOString() };
    },
  };
}
