// Health reports from cheap calls only: systeminformation's currentLoad (after a warm-up) and mem,
// statfs for the root filesystem, and the os module for load and uptime.
import { loadavg, uptime } from 'node:os';
import { statfs } from 'node:fs/promises';
import si from 'systeminformation';
import { clampText, COUNT_LIMITS, LIMITS, type HealthReport, type K3sStatus } from '../proto/index.js';

export interface HealthSource {
  sample(k3s: K3sStatus): Promise<HealthReport>;
}

export function createHealthSource(rootPath = '/'): HealthSource {
  // The first currentLoad() has no previous sample to diff against; warm it up once.
  const warm = si.currentLoad().catch(() => undefined);
  return {
    async sample(k3s) {
      await warm;
      const [load, mem, fsStat] = await Promise.all([
        si.currentLoad().catch(() => ({ currentLoad: 0 })),
        si.mem().catch(() => ({ total: 0, available: 0 })),
        statfs(rootPath).catch(() => undefined),
      ]);
      const [l1, l5, l15] = loadavg();
      const diskTotal = fsStat ? fsStat.blocks * fsStat.bsize : 0;
      const diskFree = fsStat ? fsStat.bavail * fsStat.bsize : 0;
      return {
        cpuPercent: Math.round(load.currentLoad * 100) / 100,
        memoryTotalBytes: mem.total,
        memoryUsedBytes: Math.max(0, mem.total - mem.available),
        diskTotalBytes: diskTotal,
        diskUsedBytes: Math.max(0, diskTotal - diskFree),
        load1: l1,
        load5: l5,
        load15: l15,
        uptimeSeconds: Math.floor(uptime()),
        // Within the hub's bounds (proto/limits.ts): a longer error line must not get the link closed.
        k3s: { ...k3s, lastLogLines: (k3s.lastLogLines ?? []).slice(-COUNT_LIMITS.lastLogLines).map((l) => clampText(l, LIMITS.logLine.max)) },
      };
    },
  };
}
