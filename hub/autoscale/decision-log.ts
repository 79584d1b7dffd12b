// Every autoscale decision is an event (type autoscale.*, actor "autoscale"). A "why not" is noted
// once per pool and reason per interval, so a flood of unschedulable pods gives one event per reason,
// not one per pod and tick; decisions that act (scale up, scale down, failures) are always noted.
import type { EventLog } from '../events.js';

export const ACTOR = 'autoscale';

export class DecisionLog {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly events: EventLog,
    private readonly everyMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  act(
    type: string,
    pool: string,
    message: string,
    data: Record<string, unknown> = {},
    nodeId?: string,
  ): Promise<unknown> {
    return this.events.note({ type, pool, actor: ACTOR, message, data, ...(nodeId ? { nodeId } : {}) });
  }

  /** A decision not to act, at most once per `everyMs` for the same pool and reason. */
  async whyNot(
    pool: string | null,
    reason: string,
    message: string,
    data: Record<string, unknown> = {},
  ): Promise<void> {
    const key = `${pool ?? ''}\n${reason}`;
    const at = this.now();
    const prev = this.last.get(key);
    if (prev !== undefined && at - prev < this.everyMs) return;
    this.last.set(key, at);
    if (this.last.size > 10_000) this.last.clear(); // bounded; a cleared key only notes once more
    await this.events.note({ type: 'autoscale.skipped', pool, actor: ACTOR, message, data: { reason, ...data } });
  }
}
