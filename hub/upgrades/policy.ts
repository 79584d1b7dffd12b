// The cluster auto-upgrade policy (PUT /v1/cluster/auto-upgrade): on/off, the maintenance window, and
// the scope (patch releases only by default, as on Scaleway).
import type { Store } from '../store/types.js';
import { DEFAULT_WINDOW, type MaintenanceWindow } from './window.js';

/** How an automatic rollout runs (defaults: the manual ones: 1 at a time, 2m dwell, 10m verify, 30m drain). */
export interface AutoRolloutSettings {
  maxUnavailable?: number;
  dwell?: string;
  verifyTimeout?: string;
  drainTimeout?: string;
}

export interface AutoUpgradePolicy {
  enabled: boolean;
  window: MaintenanceWindow;
  scope: 'patch' | 'minor';
  rollout: AutoRolloutSettings;
}

const KEY = 'upgrades.auto-upgrade';
export const DEFAULT_POLICY: AutoUpgradePolicy = Object.freeze({
  enabled: false,
  window: DEFAULT_WINDOW,
  scope: 'patch',
  rollout: {},
});

function withDefaults(p: Partial<AutoUpgradePolicy> | undefined): AutoUpgradePolicy {
  return { ...DEFAULT_POLICY, ...p, window: { ...DEFAULT_WINDOW, ...p?.window }, rollout: { ...p?.rollout } };
}

export class UpgradePolicy {
  constructor(private readonly store: Store) {}

  async get(): Promise<AutoUpgradePolicy> {
    return withDefaults(await this.store.getSetting<Partial<AutoUpgradePolicy>>(KEY));
  }

  async set(patch: {
    enabled?: boolean;
    scope?: 'patch' | 'minor';
    window?: Partial<MaintenanceWindow>;
    rollout?: AutoRolloutSettings;
  }): Promise<AutoUpgradePolicy> {
    // A compare-and-set: two concurrent patches both land.
    const next = await this.store.updateSetting<Partial<AutoUpgradePolicy>>(KEY, (stored) => {
      const cur = withDefaults(stored);
      return {
        enabled: patch.enabled ?? cur.enabled,
        scope: patch.scope ?? cur.scope,
        window: { ...cur.window, ...patch.window },
        rollout: { ...cur.rollout, ...patch.rollout },
      };
    });
    return withDefaults(next);
  }
}
