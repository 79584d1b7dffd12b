// What the registry holds in memory per node (the hot fields beside the stored record), the read-only
// snapshot it hands out, and the rule that turns a node's last report and Kubernetes view into a state.
import type { NodeRecord, NodeState } from '../store/types.js';
import type { Clock } from '../clock.js';
import type { AgentLink } from './agent-link.js';

/** What the Kubernetes API says about a node (kept minimal so the registry stays independent of k3s). */
export interface KubeView {
  ready: boolean | null;
  unschedulable: boolean;
  kubeletVersion: string;
  taints: string[];
  problems: string[];
  /** The Node's labels as Kubernetes has them (set by k3s, atoll's assignment, or kubectl). */
  labels?: Record<string, string>;
}

/** States set by a workflow (autoheal, upgrades) that a health report must not overwrite. */
export const WORKFLOW_STATES: ReadonlySet<NodeState> = new Set(['needs-attention', 'remediating', 'upgrading']);

export interface LiveNode {
  link?: AgentLink;
  /** Monotonic ms of the last frame (liveness), or of what the stored lastSeen says, at load. */
  lastSeenMs: number;
  createdMs: number;
  state: NodeState;
  reasons: string[];
  healthReasons: string[];
  k3sState: string;
  pool: string;
  name: string;
  kube?: KubeView;
  /** When the link last went down (monotonic ms), 0 if never. */
  disconnectedAt: number;
  /** When the link last came up (wall ms, shown to users), 0 if never since the hub started. */
  connectedAt: number;
  /** The last link closed to present a renewed certificate: the next connect is not a flap. */
  renewing?: boolean;
  /** Source address of the node's latest agent connection, as the hub saw it (kept after it drops). */
  lastAddress?: string;
}

/** A read-only view of one node for autoheal and metrics. */
export interface NodeSnapshot {
  id: string;
  name: string;
  pool: string;
  state: NodeState;
  reasons: string[];
  connected: boolean;
  /** Monotonic ms (the registry's clock). */
  lastSeenMs: number;
  /** Monotonic ms (the registry's clock); 0 if the link never dropped while this hub ran. */
  disconnectedAt: number;
  k3sState: string;
  kube?: KubeView;
  /** Link flaps (reconnects) within the registry's flap window (--autoheal-flap-window, at most 1 h). Always set by the registry. */
  linkFlaps?: number;
}

/** A stored node as the registry first holds it (after a hub start or a join): not connected. */
export function liveNodeOf(n: NodeRecord, clock: Clock): LiveNode {
  // Monotonic time of a stored wall time: elapsed by the wall clock, never in the future.
  const monoOf = (iso: string | null): number => {
    const t = iso ? Date.parse(iso) : NaN;
    return clock.mono() - (Number.isFinite(t) ? Math.max(0, clock.now() - t) : Number.MAX_SAFE_INTEGER / 2);
  };
  return {
    lastSeenMs: monoOf(n.lastSeen ?? n.createdAt),
    createdMs: monoOf(n.createdAt),
    state: n.state,
    reasons: [],
    healthReasons: [],
    k3sState: n.health?.k3s.state ?? 'unknown',
    pool: n.pool,
    name: n.name,
    disconnectedAt: 0,
    connectedAt: 0,
  };
}

export function view(id: string, e: LiveNode, linkFlaps: number): NodeSnapshot {
  return {
    id,
    name: e.name,
    pool: e.pool,
    state: e.state,
    reasons: [...e.reasons],
    connected: Boolean(e.link),
    lastSeenMs: e.lastSeenMs,
    disconnectedAt: e.disconnectedAt,
    k3sState: e.k3sState,
    kube: e.kube,
    linkFlaps,
  };
}

/** A connected node's reasons from its last report and its Kubernetes view, and the state they mean. */
export function judge(entry: LiveNode): { next: NodeState; reasons: string[] } {
  const reasons = [...entry.healthReasons];
  if (entry.kube && entry.kube.ready === false && entry.k3sState === 'running') reasons.push('kubelet-not-ready');
  for (const p of entry.kube?.problems ?? []) reasons.push(p.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase());
  const next: NodeState = entry.kube?.unschedulable ? 'cordoned' : reasons.length ? 'degraded' : 'ready';
  return { next, reasons };
}
