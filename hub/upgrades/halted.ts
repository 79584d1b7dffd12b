// What an operator may do with a halted rollout, decided on the stored rollout before the engine runs
// it again: resume (go on from the step each node stopped at; a failed node stays failed), retry
// (what failed, the control plane or nodes, starts over from pending) or dismiss (acknowledged: it
// stays halted but leaves the list of active problems). Pure: the engine stores, records and runs.
import { HubError } from '../errors.js';
import type { Rollout } from './rollout-state.js';

export const HALTED_ACTIONS = ['resume', 'retry', 'dismiss'] as const;
export type HaltedAction = (typeof HALTED_ACTIONS)[number];

export interface HaltedNote {
  /** The audit event's type: upgrade.resume, upgrade.retry or upgrade.dismiss. */
  type: string;
  message: string;
  /** Whether the engine runs the rollout again. */
  run: boolean;
}

/** Checks that `action` applies to `r` (HubError CONFLICT if not) and changes `r` for it. */
export function applyHaltedAction(r: Rollout, action: HaltedAction, actor: string, at: string): HaltedNote {
  if (r.state !== 'halted')
    throw new HubError(
      'CONFLICT',
      `rollout ${r.id} is ${r.state}: only a halted rollout can be resumed, retried or dismissed`,
    );
  if (action === 'dismiss') {
    if (r.dismissedAt)
      throw new HubError(
        'CONFLICT',
        `rollout ${r.id} was already dismissed by ${r.dismissedBy ?? 'someone'} at ${r.dismissedAt}`,
      );
    r.dismissedAt = at;
    r.dismissedBy = actor;
    return {
      type: 'upgrade.dismiss',
      message: `rollout ${r.id} to ${r.version} dismissed; it stays halted`,
      run: false,
    };
  }
  const cp = r.controlPlane;
  const failedNodes = r.nodes.filter((n) => n.phase === 'upgrade-failed');
  let what: string;
  if (action === 'resume') {
    if (cp?.phase === 'upgrade-failed')
      throw new HubError(
        'CONFLICT',
        `rollout ${r.id}: the control plane upgrade failed, so no node may go past it; retry it or dismiss the rollout`,
      );
    what = failedNodes.length
      ? `resumed without ${failedNodes.map((n) => n.name).join(', ')}`
      : 'resumed from the stored step';
  } else {
    const cpFailed = cp?.phase === 'upgrade-failed';
    if (!cpFailed && !failedNodes.length)
      throw new HubError('CONFLICT', `rollout ${r.id}: nothing failed to retry; resume it instead`);
    if (cp && cpFailed)
      Object.assign(cp, {
        phase: 'pending',
        startedAt: null,
        finishedAt: null,
        message: `retry requested by ${actor}`,
      });
    for (const n of failedNodes)
      Object.assign(n, {
        phase: 'pending',
        startedAt: null,
        finishedAt: null,
        swapped: false,
        message: `retry requested by ${actor}`,
      });
    what = `retrying ${[...(cpFailed ? ['the control plane'] : []), ...failedNodes.map((n) => n.name)].join(', ')}`;
  }
  // Paused: the engine's loop turns it running (upgrade.resumed) or waits for the window.
  r.state = 'paused';
  r.message = `${what} by ${actor}`;
  r.finishedAt = null;
  r.dismissedAt = null;
  delete r.dismissedBy;
  return { type: `upgrade.${action}`, message: `rollout ${r.id} to ${r.version}: ${what}`, run: true };
}
