// The auto-upgrade ticker: every autoTickMs, with the policy on and its window open and no rollout
// active, it starts a rollout to the newest imported k3s artifact the scope allows (patch, or patch
// and next minor), or catches up nodes left behind on the control plane's version. A refusal is
// logged once (not at every tick) and the tick tries again later.
import type { Logger } from '../logger.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Clock } from '../clock.js';
import type { UpgradePolicy } from './policy.js';
import { windowOpen } from './window.js';
import { classifyMove, compareK3sVersions } from './versions.js';
import { ACTIVE_STATES, type Rollout, type RolloutStore } from './rollout-state.js';
import type { Member, UpgradeRequest } from './admission.js';

export interface AutoUpgradeDeps {
  policy: UpgradePolicy;
  rollouts: RolloutStore;
  controlPlane: ControlPlane;
  artifacts: ArtifactStore;
  logger: Logger;
  clock: Clock;
  members(pools: null): Promise<Member[]>;
  begin(req: UpgradeRequest, actor: string): Promise<Rollout>;
  intervalMs: number;
}

export class AutoUpgrade {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private lastRefusal = '';

  constructor(private readonly d: AutoUpgradeDeps) {}

  start(): void {
    this.timer = setInterval(
      () =>
        void this.tick().catch((err: unknown) =>
          this.d.logger.warn({ err: (err as Error).message }, 'auto-upgrade check failed'),
        ),
      this.d.intervalMs,
    );
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** One look at the policy: the rollout it started, if any. */
  async tick(): Promise<Rollout | undefined> {
    if (this.stopped) return undefined;
    const policy = await this.d.policy.get();
    if (!policy.enabled || !windowOpen(policy.window, new Date(this.d.clock.now()))) return undefined;
    if ((await this.d.rollouts.list()).some((r) => ACTIVE_STATES.has(r.state))) return undefined;
    const current = this.d.controlPlane.version();
    if (!current || !this.d.controlPlane.running()) return undefined;
    const members = await this.d.members(null);
    const lowest = [current, ...members.map((m) => m.version).filter(Boolean)].sort(compareK3sVersions)[0];
    const allowed = (policy.scope === 'minor' ? ['patch', 'minor'] : ['patch']) as string[];
    const candidates = [...new Set(this.d.artifacts.listK3s().map((a) => a.version))]
      .filter(
        (v) =>
          allowed.includes(classifyMove(current, v)) ||
          (classifyMove(current, v) === 'same' && compareK3sVersions(lowest, v) < 0),
      )
      .sort(compareK3sVersions);
    const target = candidates.at(-1);
    if (!target) return undefined;
    try {
      const s = policy.rollout;
      return await this.d.begin(
        {
          version: target,
          window: 'next',
          maxUnavailable: s.maxUnavailable,
          dwell: s.dwell,
          verifyTimeout: s.verifyTimeout,
          ...(s.drainTimeout ? { drain: { timeout: s.drainTimeout } } : {}),
        },
        'auto-upgrade',
      );
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== this.lastRefusal) this.d.logger.warn({ target, err: msg }, 'auto-upgrade did not start');
      this.lastRefusal = msg;
      return undefined;
    }
  }
}
