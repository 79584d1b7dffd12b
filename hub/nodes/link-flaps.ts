// Link flaps of one node: reconnects counted in one-minute buckets over the last hour. Fixed memory
// (60 counters) however fast the node flaps; counts are exact to the minute. And the `link` object
// of the node API view.
const MINUTE_MS = 60_000;
const BUCKETS = 60;
export const HOUR_MS = BUCKETS * MINUTE_MS;

export class FlapCounter {
  private readonly buckets = new Uint32Array(BUCKETS);
  private minute = 0;

  record(nowMs: number): void {
    this.advance(nowMs);
    this.buckets[this.minute % BUCKETS]++;
  }

  /** Reconnects within the last `windowMs` (at most an hour), to the minute. */
  count(nowMs: number, windowMs = HOUR_MS): number {
    this.advance(nowMs);
    const n = Math.min(BUCKETS, Math.max(1, Math.ceil(windowMs / MINUTE_MS)));
    let sum = 0;
    for (let i = 0; i < n; i++) sum += this.buckets[(this.minute - i + BUCKETS * 2) % BUCKETS];
    return sum;
  }

  /** Zeroes the buckets of the minutes that passed since the last call. */
  private advance(nowMs: number): void {
    const minute = Math.floor(nowMs / MINUTE_MS);
    if (minute <= this.minute) return;
    if (minute - this.minute >= BUCKETS) this.buckets.fill(0);
    else for (let m = this.minute + 1; m <= minute; m++) this.buckets[m % BUCKETS] = 0;
    this.minute = minute;
  }
}

/** Every node's flap counter (made at its first reconnect; forgotten with the node). */
export class LinkFlaps {
  private readonly counters = new Map<string, FlapCounter>();
  private total = 0;

  constructor(private readonly now: () => number) {}

  /** A node's link came up; `again`: it had come up before in this hub run, so this is a flap. */
  connected(nodeId: string, again: boolean): void {
    if (!again) return;
    let c = this.counters.get(nodeId);
    if (!c) this.counters.set(nodeId, (c = new FlapCounter()));
    c.record(this.now());
    this.total++;
  }

  /** Flaps of one node within `windowMs` (at most an hour). */
  count(nodeId: string, windowMs = HOUR_MS): number {
    return this.counters.get(nodeId)?.count(this.now(), windowMs) ?? 0;
  }

  /** Flaps of all nodes since the hub started. */
  allTime(): number {
    return this.total;
  }

  /** Nodes that flapped within the last hour, with their counts. */
  lastHour(): Array<{ nodeId: string; flaps1h: number }> {
    const out: Array<{ nodeId: string; flaps1h: number }> = [];
    for (const [nodeId, c] of this.counters) {
      const flaps1h = c.count(this.now(), HOUR_MS);
      if (flaps1h > 0) out.push({ nodeId, flaps1h });
    }
    return out;
  }

  forget(nodeId: string): void {
    this.counters.delete(nodeId);
  }
}

export interface LinkInfo {
  /** Reconnects within the last hour (to the minute). */
  flaps1h: number;
  lastConnectAt: string | null;
  lastDisconnectAt: string | null;
}

export function linkInfo(flaps1h: number, e: { connectedAt: number; disconnectedAt: number } | undefined): LinkInfo {
  const iso = (ms: number | undefined): string | null => (ms ? new Date(ms).toISOString() : null);
  return { flaps1h, lastConnectAt: iso(e?.connectedAt), lastDisconnectAt: iso(e?.disconnectedAt) };
}
