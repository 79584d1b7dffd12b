// The partition guard: freezes all remediation when the problem is likely on the hub's side (many
// agents dropped at once, or the Kubernetes API is unhealthy), and lifts only after the condition
// stayed clear for a settle period (hysteresis), so reconnecting agents are not taken for sick ones.
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { NodeSnapshot } from '../nodes/registry.js';
import type { ControlPlaneInfo } from '../k3s/supervisor.js';
import { ACTOR } from './records.js';
import type { ClockHold } from '../clock-watch.js';

/** +2h 0m 5s style, for messages. */
export function signedDuration(ms: number): string {
  const a = Math.abs(Math.round(ms / 1000));
  const parts =
    a >= 3600
      ? `${Math.floor(a / 3600)}h ${Math.floor((a % 3600) / 60)}m ${a % 60}s`
      : a >= 60
        ? `${Math.floor(a / 60)}m ${a % 60}s`
        : `${a}s`;
  return `${ms < 0 ? '-' : '+'}${parts}`;
}

export interface GuardState {
  frozen: boolean;
  reason: string;
  since: string | null;
}

export interface GuardOptions {
  events: EventLog;
  logger: Logger;
  /** Drops within this window count as one mass drop. */
  windowMs: number;
  /** The condition must stay clear this long before remediation resumes. */
  settleMs: number;
}

/**
 * How many agents must drop within the window to freeze remediation: half the fleet (rounded down),
 * and at least 2, so that small fleets are guarded too (2 of 4, 2 of 5, 3 of 6, 500 of 1,000).
 */
export function dropThreshold(agents: number): number {
  return Math.max(2, Math.floor(agents / 2));
}

export class PartitionGuard {
  private state: GuardState = { frozen: false, reason: '', since: null };
  private clearSince?: number;
  /** A mass-drop freeze holds while enough of the agents that dropped since this time are still down. */
  private dropsSince = 0;
  /** When the last freeze ended (ms, the engine's clock); ladder ages restart there. */
  unfrozenAt = 0;

  constructor(private readonly o: GuardOptions) {}

  current(): GuardState {
    return { ...this.state };
  }

  get frozen(): boolean {
    return this.state.frozen;
  }

  /**
   * Re-evaluates the guard from the fleet, the control plane and the hub's own clock. `now` is
   * monotonic, like the nodes' drop times; `wallNow` is for the `since` people read.
   */
  async update(
    nodes: readonly NodeSnapshot[],
    cp: ControlPlaneInfo,
    now: number,
    wallNow: number,
    hold?: ClockHold,
  ): Promise<void> {
    const agents = nodes.length;
    const down = nodes.filter((n) => !n.connected);
    const recentDrops = down.filter((n) => n.disconnectedAt && now - n.disconnectedAt <= this.o.windowMs).length;
    const threshold = dropThreshold(agents);
    // Agents that were down before the mass drop (dead for days) do not keep a freeze going.
    const stillCut = down.filter((n) => n.disconnectedAt && n.disconnectedAt >= this.dropsSince).length;
    let reason = '';
    // Ages and silences right after a step of the hub's own clock are not to be trusted: hold.
    if (hold)
      reason = `the hub's own clock stepped (${signedDuration(hold.offsetMs)} net since ${hold.since}); holding until ${hold.until}`;
    else if (cp.state === 'starting' || cp.state === 'failed')
      reason = `the Kubernetes API is unhealthy (${cp.state}: ${cp.message})`;
    else if (!this.state.frozen && recentDrops >= threshold) {
      reason = `${recentDrops} of ${agents} agents dropped within ${Math.round(this.o.windowMs / 1000)}s: the problem is on the hub's side`;
      this.dropsSince = now - this.o.windowMs;
    } else if (this.state.frozen && this.state.reason.includes('agents dropped') && stillCut >= threshold)
      reason = this.state.reason;
    // Hysteresis: a freeze ends only after the condition stayed clear for a settle period (agents
    // are still reconnecting), and the nodes' unhealthy timers then restart from that moment.
    if (!reason && this.state.frozen) {
      this.clearSince ??= now;
      if (now - this.clearSince < this.o.settleMs) return;
      this.unfrozenAt = now;
    }
    if (reason) this.clearSince = undefined;
    const frozen = reason !== '';
    if (frozen === this.state.frozen && reason === this.state.reason) return;
    this.state = { frozen, reason, since: frozen ? new Date(wallNow).toISOString() : null };
    await this.o.events.note({
      type: frozen ? 'autoheal.frozen' : 'autoheal.unfrozen',
      actor: ACTOR,
      message: frozen ? `all remediation frozen: ${reason}` : 'remediation resumes: the guard condition cleared',
      data: { reason },
    });
    this.o.logger.warn({ frozen, reason }, 'autoheal guard');
  }
}
