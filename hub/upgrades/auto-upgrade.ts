// The auto-upgrade ticker: every autoTickMs, with the policy on and its window open and no rollout
// active, it starts a rollout to the newest imported k3s artifact the scope allows (patch, or patch
// and next minor), or catches up nodes left behind on the control plane's version; a cluster past
// its end of life moves to the next minor (auto-target.ts), with a notice first (eol-notice.ts). A
// refusal is logged once (not at every tick) and the tick tries again later.
import type { Logger } from '../logger.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Clock } from '../clock.js';
import type { UpgradePolicy } from './policy.js';
import type { Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { VersionSupport } from '../versions/support-status.js';
import { windowOpen } from './window.js';
import { compareK3sVersions } from './versions.js';
import { ACTIVE_STATES, type Rollout, type RolloutStore } from './rollout-state.js';
import type { Member, UpgradeRequest } from './admission.js';
import { chooseAutoTarget } from './auto-target.js';
import { noteEndOfLifePlan } from './eol-notice.js';

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
  /** The support status of a k3s version now (absent: no end-of-life rule). */
  support?: (version: string) => VersionSupport;
  /** Where the end-of-life notice goes (with `support`). */
  notices?: { store: Store; events: EventLog };
}

export class AutoUpgrade {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private lastRefusal = '';

  constructor(private readonly d: AutoUpgradeDeps) {}

  start(): void {
    this.stopped = false;
    clearInterval(this.timer);
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
    if (!policy.enabled) return undefined;
    const now = new Date(this.d.clock.now());
    const open = windowOpen(policy.window, now);
    // Outside the window only a cluster past its end of life needs a look (to give notice ahead).
    if (!open && !this.d.support) return undefined;
    if ((await this.d.rollouts.list()).some((r) => ACTIVE_STATES.has(r.state))) return undefined;
    const current = this.d.controlPlane.version();
    if (!current || !this.d.controlPlane.running()) return undefined;
    const support = this.d.support?.(current);
    if (!open && support?.status !== 'end-of-life') return undefined;
    const members = await this.d.members(null);
    const lowest = [current, ...members.map((m) => m.version).filter(Boolean)].sort(compareK3sVersions)[0];
    const choice = chooseAutoTarget({
      current,
      lowest,
      scope: policy.scope,
      available: this.d.artifacts.listK3s().map((a) => a.version),
      status: support?.status ?? 'unknown',
    });
    if (choice.endOfLife && support && this.d.notices)
      await noteEndOfLifePlan(this.d.notices, {
        current,
        support,
        plan: choice.endOfLife,
        window: policy.window,
        windowOpen: open,
        at: now.toISOString(),
      });
    const target = choice.version;
    if (!open || !target) return undefined;
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
