// Watches the hub's own wall clock against its monotonic clock. A step (the two disagree about how
// much time passed by more than a threshold) starts a hold: for a settle period the hub keeps its
// pre-step notion of wall time (steady: the last trusted wall time plus monotonic time since), so
// token expiry, certificate dates, health history and agent clock skew are judged as if the step
// had not happened, and autoheal does not act. After the settle period the hub follows its wall
// clock again. Outside a hold, now() is the wall clock itself.
import type { Clock } from './clock.js';

export interface ClockStep {
  /** Wall minus monotonic change at the step (+7_200_000: the clock jumped 2 h ahead). */
  offsetMs: number;
  /** When it was noticed, in the hub's steady time. */
  at: string;
}

export interface ClockHold {
  /** Net step since the hold began (0 when it was stepped back). */
  offsetMs: number;
  since: string;
  until: string;
}

export interface ClockWatchOptions {
  clock: Clock;
  /** A disagreement of at least this much between two checks is a step (default 5 s). */
  stepThresholdMs?: number;
  settleMs: number;
  onStep?(step: ClockStep, hold: ClockHold): void;
  /** The hold ended; `offsetMs`: how far wall time now differs from what steady time said. */
  onSettled?(offsetMs: number): void;
}

export class ClockWatch implements Clock {
  private lastWall: number;
  private lastMono: number;
  private anchorWall: number;
  private anchorMono: number;
  private hold?: { sinceMono: number; offsetMs: number; since: string };
  private readonly threshold: number;

  constructor(private readonly o: ClockWatchOptions) {
    this.threshold = o.stepThresholdMs ?? 5_000;
    this.lastWall = this.anchorWall = o.clock.now();
    this.lastMono = this.anchorMono = o.clock.mono();
  }

  mono(): number {
    return this.o.clock.mono();
  }

  /** The hub's best wall time: the wall clock, or during a hold the pre-step time carried forward. */
  now(): number {
    this.check();
    return this.anchorWall + (this.o.clock.mono() - this.anchorMono);
  }

  /** The raw wall clock, whatever it says. */
  wall(): number {
    return this.o.clock.now();
  }

  holding(): ClockHold | undefined {
    this.check();
    return this.holdInfo();
  }

  private holdInfo(): ClockHold | undefined {
    if (!this.hold) return undefined;
    return {
      offsetMs: this.hold.offsetMs,
      since: this.hold.since,
      until: new Date(this.anchorWall + (this.hold.sinceMono + this.o.settleMs - this.anchorMono)).toISOString(),
    };
  }

  /** Compares the two clocks since the last check (cheap; call it often, e.g. each second). */
  check(): void {
    const w = this.o.clock.now();
    const m = this.o.clock.mono();
    const drift = w - this.lastWall - (m - this.lastMono);
    this.lastWall = w;
    this.lastMono = m;
    if (Math.abs(drift) >= this.threshold) {
      const since = new Date(this.anchorWall + (m - this.anchorMono)).toISOString();
      // A step during a hold adds up (+2 h then -2 h: net 0) and starts the settle period again.
      this.hold = { sinceMono: m, offsetMs: (this.hold?.offsetMs ?? 0) + drift, since: this.hold?.since ?? since };
      this.o.onStep?.({ offsetMs: drift, at: since }, this.holdInfo()!);
      return;
    }
    if (this.hold && m - this.hold.sinceMono >= this.o.settleMs) {
      const offset = w - (this.anchorWall + (m - this.anchorMono));
      this.hold = undefined;
      this.anchorWall = w;
      this.anchorMono = m;
      this.o.onSettled?.(offset);
      return;
    }
    if (!this.hold) {
      // No step: follow the wall clock (NTP's slow slewing included).
      this.anchorWall = w;
      this.anchorMono = m;
    }
  }
}
