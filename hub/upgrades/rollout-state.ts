// A rollout as stored: every step of every node, so a hub restart resumes a rollout and never
// restarts it. Kept in the store's rollouts table, one row per rollout; finished ones beyond the newest
// 200 are pruned when a rollout is saved.
import type { Store } from '../store/types.js';

export type NodePhase =
  | 'pending'
  | 'preflight'
  | 'cordon'
  | 'drain'
  | 'swap'
  | 'verify'
  | 'uncordon'
  | 'rollback'
  | 'done'
  | 'skipped'
  | 'upgrade-failed'
  | 'upgrade-blocked';

export const FINAL_PHASES: ReadonlySet<NodePhase> = new Set(['done', 'skipped', 'upgrade-failed', 'upgrade-blocked']);

export interface NodeProgress {
  id: string;
  name: string;
  pool: string;
  from: string;
  phase: NodePhase;
  startedAt: string | null;
  finishedAt: string | null;
  message: string;
  /** Whether the node was cordoned by this rollout (so it is always uncordoned again). */
  cordoned: boolean;
  /** Whether the node was sent the new version (a change that a failure must undo). */
  swapped: boolean;
}

/** The hub's own k3s server, upgraded before any node (control plane first). */
export type ControlPlanePhase = 'pending' | 'swap' | 'verify' | 'rollback' | 'done' | 'skipped' | 'upgrade-failed';
export const CP_FINAL: ReadonlySet<ControlPlanePhase> = new Set(['done', 'skipped', 'upgrade-failed']);

export interface ControlPlaneProgress {
  from: string;
  phase: ControlPlanePhase;
  startedAt: string | null;
  finishedAt: string | null;
  message: string;
}

export type RolloutState = 'waiting-window' | 'running' | 'paused' | 'done' | 'halted' | 'cancelled';
export const ACTIVE_STATES: ReadonlySet<RolloutState> = new Set(['waiting-window', 'running', 'paused']);

export interface DrainSettings {
  timeoutMs: number;
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  force: boolean;
}

export interface Rollout {
  id: string;
  /** k3s: the control plane then the nodes' kubelets; agent: the agents upgrade themselves. */
  kind: 'k3s' | 'agent';
  version: string;
  pools: string[] | null;
  maxUnavailable: number;
  drain: DrainSettings;
  dwellMs: number;
  verifyTimeoutMs: number;
  /** "now": start at once; "next": only inside the maintenance window (PUT /v1/cluster/auto-upgrade). */
  window: 'now' | 'next';
  state: RolloutState;
  message: string;
  actor: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** A halted rollout an operator acknowledged (POST /v1/upgrades/{id}/dismiss): no longer an active problem. */
  dismissedAt?: string | null;
  dismissedBy?: string;
  /** Null when the control plane already runs the target (or the request left it out). */
  controlPlane?: ControlPlaneProgress | null;
  nodes: NodeProgress[];
}

export class RolloutStore {
  constructor(private readonly store: Store) {}

  get(id: string): Promise<Rollout | undefined> {
    return this.store.getRollout<Rollout>(id);
  }

  /** Newest first (one query). */
  list(): Promise<Rollout[]> {
    return this.store.listRollouts<Rollout>();
  }

  /** The rollouts still in progress, newest first (one query). */
  active(): Promise<Rollout[]> {
    return this.store.listRollouts<Rollout>({ active: true });
  }

  async save(r: Rollout): Promise<void> {
    r.updatedAt = new Date().toISOString();
    await this.store.saveRollout(r);
  }
}
