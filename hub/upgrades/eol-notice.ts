// The notice auto-upgrade writes before it moves a cluster past its end of life to the next minor
// (or when it cannot: no artifact of that minor imported, nodes still behind). Written once per plan:
// the plan is kept in the store's support states (a compare-and-set), so neither a restart nor the
// next tick repeats it.
import type { Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { VersionSupport } from '../versions/support-status.js';
import type { MaintenanceWindow } from './window.js';
import type { AutoTarget } from './auto-target.js';

export const EOL_PLAN_SCOPE = 'auto-upgrade:end-of-life';

export interface EolNoticeInput {
  current: string;
  support: VersionSupport;
  plan: NonNullable<AutoTarget['endOfLife']>;
  window: MaintenanceWindow;
  windowOpen: boolean;
  at: string;
}

function windowText(w: MaintenanceWindow): string {
  return `${w.day === 'any' ? 'every day' : w.day} ${String(w.startHour).padStart(2, '0')}:00 for ${w.durationHours}h, ${w.timeZone}`;
}

/** Writes the notice when the plan is new; returns whether it did. */
export async function noteEndOfLifePlan(d: { store: Store; events: EventLog }, i: EolNoticeInput): Promise<boolean> {
  const { plan, support } = i;
  const key = plan.version ? `planned:${plan.version}` : `blocked:${plan.blockedBy ?? 'no-artifact'}:${plan.nextMinor}`;
  const changed = await d.store.recordSupportStates([{ scope: EOL_PLAN_SCOPE, status: key }], i.at);
  if (!changed.length) return false;
  const past = `k3s ${support.minor} of the control plane (${i.current}) is past its end of life (${support.endOfLife})`;
  const when = i.windowOpen
    ? 'now, in the open maintenance window'
    : `in the next maintenance window (${windowText(i.window)})`;
  const message = plan.version
    ? `${past}: auto-upgrade moves the cluster to ${plan.version} (the next minor, newest imported) ${when}`
    : plan.blockedBy === 'nodes-behind'
      ? `${past}: auto-upgrade first brings the nodes still on an older minor up to ${i.current}, then moves to ${plan.nextMinor}`
      : `${past}: auto-upgrade would move the cluster to ${plan.nextMinor}, but no k3s artifact of ${plan.nextMinor} is imported (atoll-hub artifact import k3s --version ${plan.nextMinor}.N+k3s1 ...)`;
  await d.events.note({
    type: plan.version ? 'upgrade.eol-planned' : 'upgrade.eol-blocked',
    actor: 'auto-upgrade',
    message,
    data: {
      current: i.current,
      endOfLife: support.endOfLife,
      nextMinor: plan.nextMinor,
      target: plan.version,
      blockedBy: plan.blockedBy ?? null,
      windowOpen: i.windowOpen,
    },
  });
  return true;
}
