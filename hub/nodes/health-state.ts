// What a health report says about a node: ready, or degraded with reasons.
import type { HealthRecord } from '../store/types.js';

export const DISK_PRESSURE_RATIO = 0.9;
export const MEMORY_PRESSURE_RATIO = 0.95;
/** Beyond this, certificates, tokens and kubelet leases start to fail. */
export const MAX_CLOCK_SKEW_MS = 120_000;

/** Judges an agent's clock skew; the default compares it with the hub's clock (see fleet-skew.ts). */
export interface SkewJudge {
  problem(skewMs: number): boolean;
}

const AGAINST_HUB: SkewJudge = { problem: (ms) => Math.abs(ms) > MAX_CLOCK_SKEW_MS };

export function healthProblems(h: HealthRecord, skew: SkewJudge = AGAINST_HUB): string[] {
  const reasons: string[] = [];
  if (h.diskTotalBytes > 0 && h.diskUsedBytes / h.diskTotalBytes > DISK_PRESSURE_RATIO) reasons.push('disk-pressure');
  // The agent's (or k3s's) own data disk: full, and the agent cannot store certificates or journal commands.
  if ((h.disks ?? []).some((d) => d.totalBytes > 0 && d.usedBytes / d.totalBytes > DISK_PRESSURE_RATIO))
    reasons.push('data-disk-pressure');
  if (h.memoryTotalBytes > 0 && h.memoryUsedBytes / h.memoryTotalBytes > MEMORY_PRESSURE_RATIO)
    reasons.push('memory-pressure');
  if (skew.problem(h.clockSkewMs)) reasons.push('clock-skew');
  const k3s = h.k3s.state;
  if (k3s === 'crashed') reasons.push('k3s-crashed');
  else if (k3s === 'stopped') reasons.push('k3s-stopped');
  else if (k3s === 'running' && !h.k3s.kubeletHealthy) reasons.push('kubelet-unhealthy');
  return reasons;
}
