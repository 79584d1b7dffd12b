// The link's status as `atoll-agent status` shows it (runner.ts writes it to status.json): its state
// and since when, the last error, when it connected, the hub's heartbeat interval, the reconnects.
import type { LinkState, LinkStatus } from './link-types.js';

export class LinkStatusBoard {
  private status: LinkStatus = {
    state: 'connecting',
    since: new Date().toISOString(),
    lastError: null,
    connectedAt: null,
    heartbeatIntervalMs: 10_000,
    reconnects: 0,
  };

  constructor(private readonly onStatus?: (s: LinkStatus) => void) {}

  get state(): LinkState {
    return this.status.state;
  }

  /** A new state, reported; `error` becomes the last error (a connect clears it, other states keep it). */
  set(state: LinkState, error: string | null): void {
    this.status = {
      ...this.status,
      state,
      since: new Date().toISOString(),
      lastError: error ?? (state === 'connected' ? null : this.status.lastError),
    };
    if (state === 'connected') this.status.connectedAt = this.status.since;
    this.onStatus?.(this.status);
  }

  /** Counts a reconnect (reported with the state that follows). */
  reconnecting(): void {
    this.status.reconnects++;
  }

  /** The hub dialed or connected to and the known ones (reported with the state that follows). */
  hubs(hub: string, known: string[]): void {
    this.status.hub = hub;
    this.status.knownHubs = known;
  }

  /** The heartbeat interval the hub gave (reported with the state that follows). */
  heartbeatInterval(ms: number): void {
    this.status.heartbeatIntervalMs = ms;
  }

  current(): LinkStatus {
    return { ...this.status };
  }
}
