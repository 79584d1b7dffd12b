// The lifespan decision for one pool, pure: which over-age nodes get a `lifespan-exceeded` notice
// (a pool without a provider hook), and which one node, if any, is replaced now (the oldest Ready
// one, inside the maintenance window, within the budget, not backing off, no rollout on the pool).
import type { NodeState } from '../store/types.js';

export interface LifespanMember {
  id: string;
  name: string;
  state: NodeState;
  connected: boolean;
  /** When the node joined (ms, wall time). */
  joinedAt: number;
}

export interface LifespanView {
  maxNodeAgeMs: number;
  hasHook: boolean;
  windowOpen: boolean;
  /** Autoheal's partition guard holds (hub/autoheal/guard.ts): nothing is replaced meanwhile. */
  frozen: boolean;
  rolloutActive: boolean;
  /** Replacements at a time in this pool. */
  budget: number;
  inFlight: number;
  backoffUntil: number;
  now: number;
  members: readonly LifespanMember[];
  /** Nodes already part of a replacement (the old ones and their new ones). */
  busy: ReadonlySet<string>;
  /** Nodes already given their notice. */
  noticed: readonly string[];
}

export interface LifespanDecision {
  overAge: LifespanMember[];
  /** Over-age nodes to give their notice now (no hook; once per node). */
  notices: LifespanMember[];
  replace: LifespanMember | null;
  /** Why nothing is replaced (empty when one is). */
  why: string;
}

/** Only a healthy, connected node is retired: the others are autoheal's or an upgrade's. */
const REPLACEABLE: ReadonlySet<NodeState> = new Set(['ready']);

export function decideLifespan(v: LifespanView): LifespanDecision {
  const overAge = v.members
    .filter((m) => !v.busy.has(m.id) && v.now - m.joinedAt > v.maxNodeAgeMs)
    .sort((a, b) => a.joinedAt - b.joinedAt);
  const none = (why: string, notices: LifespanMember[] = []): LifespanDecision => ({
    overAge,
    notices,
    replace: null,
    why,
  });
  if (overAge.length === 0) return none('no node is over its age');
  if (!v.hasHook)
    return none(
      'the pool has no provider hook',
      overAge.filter((m) => !v.noticed.includes(m.id)),
    );
  if (!v.windowOpen) return none('outside the maintenance window');
  if (v.frozen) return none('the partition guard holds: nothing is replaced until it lifts');
  if (v.rolloutActive) return none('a rollout is in progress on the pool');
  if (v.inFlight >= v.budget) return none(`${v.inFlight} replacement(s) in flight (budget ${v.budget})`);
  if (v.now < v.backoffUntil)
    return none(`backing off after a failure until ${new Date(v.backoffUntil).toISOString()}`);
  const replace = overAge.find((m) => m.connected && REPLACEABLE.has(m.state)) ?? null;
  if (!replace) return none('no over-age node is Ready (upgrading, remediated or unhealthy nodes are left alone)');
  return { overAge, notices: [], replace, why: '' };
}

/** The wait before the next try after `failures` failed ones: doubling from `baseMs`, at most `maxMs`. */
export function backoffMs(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(30, failures - 1)));
}
