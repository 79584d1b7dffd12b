// Health reports from cheap calls only: systeminformation's currentLoad (after a warm-up) and mem,
// statfs for the root file system and for the agent's and k3s's data dirs (when they live on other
// file systems: a full data disk breaks the agent's writes even when "/" has room), and the os module
// for load and uptime.
import { loadavg, uptime } from 'node:os';
import { stat, statfs } from 'node:fs/promises';
import si from 'systeminformation';
import { clampText, COUNT_LIMITS, LIMITS, type HealthReport, type K3sStatus } from '../proto/index.js';

/** A directory whose file system is reported too, e.g. { role: 'agent-data', path: dataDir }. */
export interface WatchedDir {
  role: string;
  path: string;
}

type DiskUsage = { role: string; path: string; totalBytes: number; usedBytes: number };

async function usage(path: string): Promise<{ total: number; used: number } | undefined> {
  const fsStat = await statfs(path).catch(() => undefined);
  if (!fsStat) return undefined;
  const total = fsStat.blocks * fsStat.bsize;
  return { total, used: Math.max(0, total - fsStat.bavail * fsStat.bsize) };
}

/** The watched dirs that are on a file system of their own (not "/", not one reported already). */
async function otherDisks(rootPath: string, dirs: readonly WatchedDir[]): Promise<DiskUsage[]> {
  const seen = new Set<number>();
  const rootDev = await stat(rootPath).then(
    (s) => s.dev,
    () => undefined,
  );
  if (rootDev !== undefined) seen.add(rootDev);
  const out: DiskUsage[] = [];
  for (const d of dirs) {
    const dev = await stat(d.path).then(
      (s) => s.dev,
      () => undefined,
    );
    if (dev === undefined || seen.has(dev)) continue;
    seen.add(dev);
    const u = await usage(d.path);
    if (u) out.push({ role: d.role, path: d.path, totalBytes: u.total, usedBytes: u.used });
  }
  return out;
}

export interface HealthSource {
  sample(k3s: K3sStatus): Promise<HealthReport>;
}

export function createHealthSource(rootPath = '/', dirs: readonly WatchedDir[] = []): HealthSource {
  // The first currentLoad() has no previous sample to diff against; warm it up once.
  const warm = si.currentLoad().catch(() => undefined);
  return {
    async sample(k3s) {
      await warm;
      const [load, mem, root, disks] = await Promise.all([
        si.currentLoad().catch(() => ({ currentLoad: 0 })),
        si.mem().catch(() => ({ total: 0, available: 0 })),
        usage(rootPath),
        otherDisks(rootPath, dirs),
      ]);
      const [l1, l5, l15] = loadavg();
      return {
        cpuPercent: Math.round(load.currentLoad * 100) / 100,
        memoryTotalBytes: mem.total,
        memoryUsedBytes: Math.max(0, mem.total - mem.available),
        diskTotalBytes: root?.total ?? 0,
        diskUsedBytes: root?.used ?? 0,
        disks,
        load1: l1,
        load5: l5,
        load15: l15,
        uptimeSeconds: Math.floor(uptime()),
        // Within the hub's bounds (proto/limits.ts): a longer error line must not get the link closed.
        k3s: {
          ...k3s,
          lastLogLines: (k3s.lastLogLines ?? [])
            .slice(-COUNT_LIMITS.lastLogLines)
            .map((l) => clampText(l, LIMITS.logLine.max)),
        },
      };
    },
  };
}
