// Agent clock skew, judged against the fleet. Each report says how far its agent's clock is from the
// hub's. When most agents disagree with the hub by more than the limit, the odd one out is the hub:
// its own skew is reported (GET /v1/cluster) and the nodes are judged against the fleet instead.
import type { Clock } from '../clock.js';
import { MAX_CLOCK_SKEW_MS } from './health-state.js';

export interface FleetSkewStatus {
  /** Hub clock minus the fleet's (median of agents' skews, negated) when most agents disagree with it; else null. */
  hubSkewMs: number | null;
  /** Reporting agents, and how many of them are further than the limit from the hub. */
  agents: number;
  disagreeing: number;
}

export class FleetSkew {
  private readonly latest = new Map<string, number>();
  private cache?: { atMono: number; offset: number; status: FleetSkewStatus };

  constructor(
    private readonly clock: Clock,
    private readonly recomputeMs = 1_000,
  ) {}

  observe(nodeId: string, skewMs: number): void {
    this.latest.set(nodeId, skewMs);
  }

  forget(nodeId: string): void {
    this.latest.delete(nodeId);
  }

  /** The hub's reference moved by deltaMs (it followed its stepped wall clock): known skews move with it. */
  shift(deltaMs: number): void {
    for (const [id, s] of this.latest) this.latest.set(id, s - deltaMs);
    this.cache = undefined;
  }

  /** Whether a node's clock is off: compared with the fleet's clock when the hub's own is the odd one. */
  problem(skewMs: number): boolean {
    return Math.abs(skewMs - this.compute().offset) > MAX_CLOCK_SKEW_MS;
  }

  status(): FleetSkewStatus {
    return { ...this.compute().status };
  }

  private compute(): { offset: number; status: FleetSkewStatus } {
    const m = this.clock.mono();
    if (this.cache && m - this.cache.atMono < this.recomputeMs) return this.cache;
    const skews = [...this.latest.values()];
    const disagreeing = skews.filter((s) => Math.abs(s) > MAX_CLOCK_SKEW_MS).length;
    let offset = 0;
    // At least 2 agents, and more than half of them off: the hub's clock is the one that is off.
    if (skews.length >= 2 && disagreeing * 2 > skews.length) {
      const sorted = skews.sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      offset = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
    this.cache = {
      atMono: m,
      offset,
      status: { hubSkewMs: offset ? -Math.round(offset) : null, agents: skews.length, disagreeing },
    };
    return this.cache;
  }
}
