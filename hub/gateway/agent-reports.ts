// What an agent reports, as the hub stores it: host facts from its hello and health reports, with
// missing fields defaulted, non-finite numbers as 0, and lists bounded.
import type { HealthReport, HostFacts } from '../../proto/index.js';
import type { HealthRecord, HostFactsRecord } from '../store/types.js';

export function toFacts(f: HostFacts | null | undefined): HostFactsRecord | null {
  if (!f) return null;
  return {
    hostname: f.hostname ?? '',
    os: f.os ?? '',
    kernel: f.kernel ?? '',
    arch: f.arch ?? '',
    cpus: f.cpus ?? 0,
    memoryBytes: Number(f.memoryBytes ?? 0),
    addresses: f.addresses ?? [],
    bootId: f.bootId ?? '',
    machineId: f.machineId ?? '',
    provider: f.provider ?? '',
  };
}

/** A reported number as stored: non-finite (NaN, Infinity) counts as 0. */
function num(x: unknown): number {
  const n = Number(x ?? 0);
  return Number.isFinite(n) ? n : 0;
}

export function toHealth(h: HealthReport, receivedAt: number, sentAtMs: number): HealthRecord {
  const k = h.k3s ?? {};
  return {
    receivedAt: new Date(receivedAt).toISOString(),
    cpuPercent: num(h.cpuPercent),
    memoryTotalBytes: num(h.memoryTotalBytes),
    memoryUsedBytes: num(h.memoryUsedBytes),
    diskTotalBytes: num(h.diskTotalBytes),
    diskUsedBytes: num(h.diskUsedBytes),
    load1: num(h.load1),
    load5: num(h.load5),
    load15: num(h.load15),
    uptimeSeconds: num(h.uptimeSeconds),
    k3s: {
      state: k.state || 'unknown',
      version: k.version ?? '',
      kubeletHealthy: Boolean(k.kubeletHealthy),
      restarts: k.restarts ?? 0,
      lastLogLines: k.lastLogLines ?? [],
    },
    clockSkewMs: sentAtMs ? num(sentAtMs) - receivedAt : 0,
    // Bounded: a few file systems, short names.
    disks: (h.disks ?? []).slice(0, 4).map((d) => ({
      role: (d.role ?? '').slice(0, 32),
      path: (d.path ?? '').slice(0, 256),
      totalBytes: Number(d.totalBytes ?? 0),
      usedBytes: Number(d.usedBytes ?? 0),
    })),
  };
}
