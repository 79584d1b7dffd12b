// The agent's side of the heartbeat: health reports on the interval the hub gave in its welcome, and
// a watchdog that notices a silent hub (gone without a FIN: a half-open link) within about two intervals.

export interface HeartbeatDeps {
  /** Sends one health report (its failures are its own to log). */
  report(): void;
  /** The hub said nothing for more than two intervals: the link is to be dropped. */
  silent(silentMs: number): void;
}

export class LinkHeartbeat {
  private intervalMs = 10_000;
  private lastInbound = 0;
  private reportTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;

  constructor(private readonly d: HeartbeatDeps) {}

  /** The hub's interval (from its welcome; at least 100 ms); returns the one in use. */
  use(intervalMs: number): number {
    this.intervalMs = Math.max(100, intervalMs);
    return this.intervalMs;
  }

  /** A frame from the hub: it is alive. */
  heard(): void {
    this.lastInbound = Date.now();
  }

  /** (Re)arms the watchdog for the current interval. */
  watch(): void {
    clearInterval(this.watchdog);
    this.watchdog = setInterval(
      () => {
        if (Date.now() - this.lastInbound > 2 * this.intervalMs + 1000) this.d.silent(Date.now() - this.lastInbound);
      },
      Math.max(250, Math.floor(this.intervalMs / 2)),
    );
    this.watchdog.unref();
  }

  /** A report now and one every interval from now on. */
  startReports(): void {
    this.d.report();
    clearInterval(this.reportTimer);
    this.reportTimer = setInterval(() => this.d.report(), this.intervalMs);
  }

  /** The link is down: no reports, no watchdog. */
  stop(): void {
    clearInterval(this.reportTimer);
    clearInterval(this.watchdog);
    this.reportTimer = undefined;
    this.watchdog = undefined;
  }
}
