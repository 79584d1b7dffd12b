// The loop that drives one rollout to its end: control plane first, then batches of maxUnavailable
// nodes, only while the maintenance window is open (a node already running finishes). A cancel takes
// effect before the next node; a failed control plane or node halts the rollout. The state moves
// waiting-window / running / paused, then done, halted or cancelled, each with its event.
import type { EventLog } from '../events.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import type { UpgradePolicy } from './policy.js';
import { windowOpen } from './window.js';
import { ACTIVE_STATES, CP_FINAL, FINAL_PHASES, type Rollout } from './rollout-state.js';
import type { RolloutRuntime } from './runtime.js';
import type { ControlPlaneSwap } from './control-plane-swap.js';
import type { NodePhases } from './node-phases.js';

export interface RolloutLoopDeps {
  events: EventLog;
  controlPlane: ControlPlane;
  policy: UpgradePolicy;
  controlPlaneSwap: ControlPlaneSwap;
  nodes: NodePhases;
  /** Ids of rollouts whose cancel was requested (taken out once the cancel took effect). */
  cancelled: Set<string>;
  /** Reads a cancel request made through another hub into `cancelled` (cancel-requests.ts). */
  refreshCancel?: (rolloutId: string) => Promise<void>;
}

export class RolloutLoop {
  constructor(
    private readonly d: RolloutLoopDeps,
    private readonly rt: RolloutRuntime,
  ) {}

  async run(r: Rollout): Promise<void> {
    for (;;) {
      const open = await this.windowIsOpen(r);
      const left = r.nodes.filter((n) => !FINAL_PHASES.has(n.phase));
      if (!left.length) {
        const failed = r.nodes.filter((n) => n.phase === 'upgrade-failed' || n.phase === 'upgrade-blocked');
        await this.setState(
          r,
          'done',
          `finished: ${r.nodes.filter((n) => n.phase === 'done').length} upgraded, ${r.nodes.filter((n) => n.phase === 'skipped').length} already there${failed.length ? `, ${failed.length} blocked` : ''}`,
          'upgrade.done',
        );
        return;
      }
      const inProgress = left.filter((n) => n.phase !== 'pending');
      await this.d.refreshCancel?.(r.id);
      if (this.d.cancelled.has(r.id) && !inProgress.length) {
        this.d.cancelled.delete(r.id);
        await this.setState(r, 'cancelled', `cancelled with ${left.length} node(s) not upgraded`, 'upgrade.cancelled');
        return;
      }
      const cp = r.controlPlane;
      if (cp && !CP_FINAL.has(cp.phase)) {
        if (cp.phase === 'pending' && this.d.cancelled.has(r.id)) {
          this.d.cancelled.delete(r.id);
          await this.setState(
            r,
            'cancelled',
            'cancelled before the control plane was upgraded; nothing changed',
            'upgrade.cancelled',
          );
          return;
        }
        if (cp.phase === 'pending' && !open) {
          const waiting = r.state === 'running' ? 'paused' : r.state;
          await this.setState(
            r,
            waiting,
            'outside the maintenance window; the control plane and every node wait for the next one',
            waiting === 'paused' ? 'upgrade.paused' : undefined,
          );
          await this.rt.sleep(this.rt.pollMs);
          continue;
        }
        if (r.state !== 'running')
          await this.setState(
            r,
            'running',
            `upgrading the control plane ${cp.from} -> ${r.version}`,
            r.state === 'paused' ? 'upgrade.resumed' : 'upgrade.running',
          );
        await this.d.controlPlaneSwap.run(r);
        if (r.controlPlane?.phase === 'upgrade-failed') {
          await this.setState(
            r,
            'halted',
            `halted: the control plane upgrade failed (${r.controlPlane.message}); no node was changed`,
            'upgrade.halted',
          );
          return;
        }
        continue;
      }
      if (r.kind !== 'agent' && !this.d.controlPlane.client()) {
        await this.setState(r, r.state, r.state === 'running' ? 'waiting for the control plane' : r.message);
        await this.rt.sleep(this.rt.pollMs);
        continue;
      }
      const startable = open && !this.d.cancelled.has(r.id) ? left : inProgress;
      const batch = startable.slice(0, Math.max(r.maxUnavailable, inProgress.length));
      if (!batch.length) {
        const waiting = r.state === 'running' ? 'paused' : r.state;
        await this.setState(
          r,
          waiting,
          `outside the maintenance window; ${left.length} node(s) wait for the next one`,
          waiting === 'paused' ? 'upgrade.paused' : undefined,
        );
        await this.rt.sleep(this.rt.pollMs);
        continue;
      }
      if (r.state !== 'running')
        await this.setState(
          r,
          'running',
          `upgrading ${batch.map((n) => n.name).join(', ')}`,
          r.state === 'paused' ? 'upgrade.resumed' : 'upgrade.running',
        );
      await Promise.all(batch.map((n) => (r.kind === 'agent' ? this.d.nodes.agent(r, n) : this.d.nodes.k3s(r, n))));
      const failed = batch.find((n) => n.phase === 'upgrade-failed');
      if (failed) {
        await this.setState(
          r,
          'halted',
          `halted: ${failed.name} failed (${failed.message})${r.kind === 'agent' ? '' : `; it was rolled back to ${failed.from}`}`,
          'upgrade.halted',
        );
        return;
      }
    }
  }

  private async windowIsOpen(r: Rollout): Promise<boolean> {
    if (r.window === 'now') return true;
    return windowOpen((await this.d.policy.get()).window, this.rt.now());
  }

  private async setState(r: Rollout, state: Rollout['state'], message: string, type?: string): Promise<void> {
    if (r.state === state && r.message === message) return;
    r.state = state;
    r.message = message;
    if (!ACTIVE_STATES.has(state)) r.finishedAt = this.rt.now().toISOString();
    await this.rt.save(r);
    if (type)
      await this.d.events.note({
        type,
        actor: 'hub',
        message: `rollout ${r.id} to ${r.version}: ${message}`,
        data: { rolloutId: r.id, state },
      });
  }
}
