// Time, two ways. Wall time (ms since the epoch) is for what people read and for certificates; it
// can step (an operator's `date -s`, NTP after a long suspend). Monotonic time only advances; it
// measures liveness, heartbeats, timeouts, ladder ages and sampling. Injected so tests move both.
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Wall time, ms since the epoch. */
  now(): number;
  /** Monotonic ms from an arbitrary origin (this process's start): never steps. */
  mono(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now(), mono: () => performance.now() });

/** ms since a wall-time stamp, measured on the monotonic clock when this process took it. */
export class Stamps {
  /** owner (e.g. a node id) -> ISO stamp -> the monotonic time it was taken at (or derived at). */
  private readonly byOwner = new Map<string, Map<string, number>>();

  constructor(private readonly clock: Clock) {}

  /** A stamp for now: the ISO wall time that is stored and shown, remembered with its monotonic time. */
  take(owner: string): string {
    const iso = new Date(this.clock.now()).toISOString();
    this.remember(owner, iso, this.clock.mono());
    return iso;
  }

  /**
   * ms elapsed since `iso`: monotonic for stamps this process took; for older ones (a record from
   * before a hub restart) from wall time, never negative, then monotonic from that first look on.
   */
  since(owner: string, iso: string): number {
    const at = this.byOwner.get(owner)?.get(iso);
    if (at !== undefined) return this.clock.mono() - at;
    const parsed = Date.parse(iso);
    const elapsed = Number.isFinite(parsed) ? Math.max(0, this.clock.now() - parsed) : 0;
    this.remember(owner, iso, this.clock.mono() - elapsed);
    return elapsed;
  }

  /** Keeps only these stamps of an owner (the ones its record still holds): memory stays bounded. */
  keep(owner: string, isos: ReadonlyArray<string | null | undefined>): void {
    const m = this.byOwner.get(owner);
    if (!m) return;
    const live = new Set(isos.filter(Boolean));
    for (const k of m.keys()) if (!live.has(k)) m.delete(k);
    if (m.size === 0) this.byOwner.delete(owner);
  }

  forget(owner: string): void {
    this.byOwner.delete(owner);
  }

  private remember(owner: string, iso: string, mono: number): void {
    let m = this.byOwner.get(owner);
    if (!m) this.byOwner.set(owner, (m = new Map()));
    m.set(iso, mono);
  }
}
