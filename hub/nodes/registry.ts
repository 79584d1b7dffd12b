// The live view of every node: which agent link is attached, when it last spoke, and its state.
// The store holds the durable record; this keeps the hot fields in memory and writes changes through.
import type { HealthRecord, HostFactsRecord, NodeRecord, NodeState, Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { HealthBatcher } from './health-batcher.js';
import type { K3sAssignment } from '../../proto/index.js';
import { healthProblems, type SkewJudge } from './health-state.js';
import { HOUR_MS, LinkFlaps, linkInfo, type LinkInfo } from './link-flaps.js';
import { systemClock, type Clock } from '../clock.js';

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

export interface CommandOutcome {
  ok: boolean;
  errorCode: string;
  message: string;
}

/** One live agent connection, as the registry sees it (implemented by the gateway's session). */
export interface AgentLink {
  readonly nodeId: string;
  readonly connectedAt: number;
  readonly remoteAddress: string;
  readonly tlsResumed?: boolean;
  /** "off" when the agent runs no k3s (from its hello). */
  readonly k3sMode: string;
  /** Expiry (ms) of the client certificate the link authenticated with; absent when unknown. */
  readonly certNotAfterMs?: number;
  close(code: string, reason: string): void;
  /** Sends a close reason and waits for the agent to hang up (it stops its work first), or the timeout. */
  retire(code: string, reason: string, timeoutMs: number): Promise<boolean>;
  /** A durable command (see commands.ts): stored, sent, re-sent on reconnect; resolves with its result or a timeout. */
  command(action: string, args: Record<string, string>, timeoutMs: number): Promise<CommandOutcome>;
  sendCommand(cmd: { id: string; action: string; args: Record<string, string>; deadlineMs: number }): boolean;
  assignK3s(assignment: K3sAssignment): boolean;
  /** Whether the agent still answers within `timeoutMs` (a ping and any frame back). */
  probe?(timeoutMs: number): Promise<boolean>;
}

/** States set by a workflow (autoheal, upgrades) that a health report must not overwrite. */
const WORKFLOW_STATES: ReadonlySet<NodeState> = new Set(['needs-attention', 'remediating', 'upgrading']);

interface LiveNode {
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

export interface RegistryOptions {
  store: Store;
  events: EventLog;
  batcher: HealthBatcher;
  logger: Logger;
  unreachableAfterMs: number;
  /** The window of NodeSnapshot.linkFlaps (default 15 min, at most 1 h). */
  flapWindowMs?: number;
  /** Liveness is measured on its monotonic clock; stored times come from its wall clock. */
  clock?: Clock;
  /** Judges agents' clock skew (default: against the hub's clock). */
  skew?: SkewJudge & { observe?(nodeId: string, skewMs: number): void; forget?(nodeId: string): void };
}

function view(id: string, e: LiveNode, linkFlaps: number): NodeSnapshot {
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

export class NodeRegistry {
  private readonly live = new Map<string, LiveNode>();
  /** Node name -> id, for Kubernetes events and name uniqueness at join. */
  private readonly names = new Map<string, string>();
  private readonly clock: Clock;
  private readonly flaps: LinkFlaps;
  private readonly flapWindowMs: number;

  constructor(private readonly opts: RegistryOptions) {
    this.clock = opts.clock ?? systemClock;
    // Flap windows count on the monotonic clock: a step of the wall clock is not a burst of flaps.
    this.flaps = new LinkFlaps(() => this.clock.mono());
    this.flapWindowMs = Math.min(HOUR_MS, opts.flapWindowMs ?? 15 * 60_000);
  }

  /** Monotonic time of a stored wall time: elapsed by the wall clock, never in the future. */
  private monoOf(iso: string | null): number {
    const t = iso ? Date.parse(iso) : NaN;
    return this.clock.mono() - (Number.isFinite(t) ? Math.max(0, this.clock.now() - t) : Number.MAX_SAFE_INTEGER / 2);
  }

  /** Loads every stored node; none is connected yet after a hub start. */
  async load(): Promise<void> {
    for (const n of await this.opts.store.listNodes()) this.track(n);
  }

  track(n: NodeRecord): void {
    this.live.set(n.id, {
      lastSeenMs: this.monoOf(n.lastSeen ?? n.createdAt),
      createdMs: this.monoOf(n.createdAt),
      state: n.state,
      reasons: [],
      healthReasons: [],
      k3sState: n.health?.k3s.state ?? 'unknown',
      pool: n.pool,
      name: n.name,
      disconnectedAt: 0,
      connectedAt: 0,
    });
    this.names.set(n.name, n.id);
  }

  idByName(name: string): string | undefined {
    return this.names.get(name);
  }

  /** The Kubernetes API went away: what its watch said is stale, so kubelet readiness is unknown until it is back. */
  kubeUnknown(): void {
    for (const e of this.live.values()) if (e.kube) e.kube = { ...e.kube, ready: null };
  }

  kubeView(nodeId: string): KubeView | undefined {
    return this.live.get(nodeId)?.kube;
  }

  /** The Kubernetes Node changed (watch): cordon and kubelet readiness feed the node's state. */
  async kubeUpdate(name: string, view: KubeView | undefined): Promise<void> {
    const id = this.idByName(name);
    const entry = id ? this.live.get(id) : undefined;
    if (!id || !entry) return;
    entry.kube = view;
    if (entry.link)
      await this.reevaluate(
        id,
        view
          ? `kubernetes node ${view.ready ? 'Ready' : 'NotReady'}${view.unschedulable ? ', cordoned' : ''}`
          : 'kubernetes node deleted',
      );
  }

  /** Recomputes the state of a connected node from its last report and its Kubernetes view. */
  private async reevaluate(nodeId: string, why: string): Promise<void> {
    const entry = this.live.get(nodeId);
    if (!entry) return;
    const reasons = [...entry.healthReasons];
    if (entry.kube && entry.kube.ready === false && entry.k3sState === 'running') reasons.push('kubelet-not-ready');
    for (const p of entry.kube?.problems ?? []) reasons.push(p.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase());
    // In a workflow state the reasons stay current (autoheal reads them); the state does not move.
    if (WORKFLOW_STATES.has(entry.state)) {
      entry.reasons = reasons;
      return;
    }
    const next: NodeState = entry.kube?.unschedulable ? 'cordoned' : reasons.length ? 'degraded' : 'ready';
    const changed = next !== entry.state || reasons.join(',') !== entry.reasons.join(',');
    if (!changed) return;
    if (next === entry.state) {
      entry.reasons = reasons;
      if (next === 'degraded')
        await this.opts.events.note({
          type: 'node.health',
          nodeId,
          pool: entry.pool,
          actor: 'hub',
          message: `still degraded: ${reasons.join(', ')}`,
          data: { reasons },
        });
      return;
    }
    await this.setState(nodeId, next, reasons, reasons.length ? `${reasons.join(', ')}` : why);
  }

  link(nodeId: string): AgentLink | undefined {
    return this.live.get(nodeId)?.link;
  }

  connectedCount(): number {
    let n = 0;
    for (const l of this.live.values()) if (l.link) n++;
    return n;
  }

  /** Where the node's latest agent connection came from, as this hub saw it (not what the node says). */
  observedAddress(nodeId: string): string | undefined {
    return this.live.get(nodeId)?.lastAddress;
  }

  /** Connection facts for the API view. */
  liveInfo(nodeId: string): {
    connected: boolean;
    connectedAt: string | null;
    remoteAddress: string | null;
    reasons: string[];
    link: LinkInfo;
  } {
    const l = this.live.get(nodeId);
    return {
      connected: Boolean(l?.link),
      connectedAt: l?.link ? new Date(l.link.connectedAt).toISOString() : null,
      remoteAddress: l?.link?.remoteAddress ?? null,
      reasons: l?.reasons ?? [],
      // disconnectedAt is monotonic: shown as the wall time it corresponds to now.
      link: linkInfo(
        this.flaps.count(nodeId),
        l && {
          connectedAt: l.connectedAt,
          disconnectedAt: l.disconnectedAt > 0 ? this.clock.now() - (this.clock.mono() - l.disconnectedAt) : 0,
        },
      ),
    };
  }

  /** Reconnects of all nodes since the hub started (the atoll_agent_link_flaps_total metric). */
  linkFlapsTotal(): number {
    return this.flaps.allTime();
  }

  /** Nodes whose link flapped within the last hour, with their reconnect counts. */
  flappingLinks(): Array<{ name: string; pool: string; flaps1h: number }> {
    return this.flaps.lastHour().flatMap(({ nodeId, flaps1h }) => {
      const e = this.live.get(nodeId);
      return e ? [{ name: e.name, pool: e.pool, flaps1h }] : [];
    });
  }

  /** A hello arrived on a verified connection. A previous connection of the same node is replaced. */
  async attach(link: AgentLink, facts: HostFactsRecord | null, agentVersion: string): Promise<NodeRecord | undefined> {
    const entry = this.live.get(link.nodeId);
    if (!entry) return undefined;
    const previous = entry.link;
    entry.link = link;
    // A connect after an earlier one (in this hub run) is a flap: the link went down or was replaced.
    // A reconnect with a renewed certificate is planned, not a flap.
    this.flaps.connected(link.nodeId, entry.connectedAt > 0 && !entry.renewing);
    entry.renewing = false;
    entry.connectedAt = this.clock.now();
    entry.lastAddress = link.remoteAddress;

    entry.lastSeenMs = this.clock.mono();
    if (previous && previous !== link) previous.close('REPLACED', 'a newer connection of this node took over');
    const patch: Parameters<Store['updateNode']>[1] = {
      agentVersion,
      lastSeen: new Date(this.clock.now()).toISOString(),
    };
    if (facts) patch.facts = facts;
    let node: NodeRecord | undefined;
    try {
      node = await this.opts.store.updateNode(link.nodeId, patch);
    } catch (err) {
      // A full or failing disk must not lock agents out: welcome it with the stored record.
      this.opts.logger.warn(
        { nodeId: link.nodeId, err: (err as Error).message },
        'could not store the connect; welcoming the agent anyway',
      );
      node = await this.opts.store.getNode(link.nodeId);
    }
    if (!node) return undefined;
    await this.opts.events.note({
      type: 'node.connected',
      nodeId: node.id,
      pool: node.pool,
      actor: `node:${node.id}`,
      message: `agent ${agentVersion} connected from ${link.remoteAddress}`,
      data: { remoteAddress: link.remoteAddress, replaced: Boolean(previous), tlsResumed: Boolean(link.tlsResumed) },
    });
    await this.reevaluate(link.nodeId, 'agent connected');
    return node;
  }

  /** The link closed. The node keeps its state until the sweep finds it silent for too long. */
  async detach(link: AgentLink, reason: string): Promise<void> {
    const entry = this.live.get(link.nodeId);
    if (!entry || entry.link !== link) return;
    entry.link = undefined;
    entry.disconnectedAt = this.clock.mono();
    entry.renewing = reason.includes('CERT_RENEWED');
    await this.opts.events.note({
      type: 'node.disconnected',
      nodeId: link.nodeId,
      pool: entry.pool,
      actor: 'hub',
      message: `agent disconnected: ${reason}`,
    });
  }

  /** Any frame from the agent proves it is alive. */
  touch(nodeId: string): void {
    const entry = this.live.get(nodeId);
    if (entry) entry.lastSeenMs = this.clock.mono();
  }

  async report(nodeId: string, health: HealthRecord): Promise<void> {
    const entry = this.live.get(nodeId);
    if (!entry) return;
    entry.lastSeenMs = this.clock.mono();
    this.opts.batcher.push({ nodeId, lastSeen: new Date(this.clock.now()).toISOString(), health });
    this.opts.skew?.observe?.(nodeId, health.clockSkewMs);
    entry.healthReasons = healthProblems(health, this.opts.skew);
    entry.k3sState = health.k3s.state;
    await this.reevaluate(nodeId, 'health report is good');
  }

  snapshot(): NodeSnapshot[] {
    return [...this.live].map(([id, e]) => view(id, e, this.flaps.count(id, this.flapWindowMs)));
  }

  /** One node's view (what snapshot() has for it), without copying the whole fleet. */
  snapshotOf(nodeId: string): NodeSnapshot | undefined {
    const e = this.live.get(nodeId);
    return e && view(nodeId, e, this.flaps.count(nodeId, this.flapWindowMs));
  }

  /**
   * Puts a node into a workflow state (remediating, upgrading, needs-attention) that reports do not
   * overwrite, or releases it (null) so its state follows its reports again.
   */
  async setWorkflow(
    nodeId: string,
    state: 'remediating' | 'upgrading' | 'needs-attention' | null,
    why: string,
    actor = 'hub',
  ): Promise<void> {
    const entry = this.live.get(nodeId);
    if (!entry) return;
    if (state) {
      await this.setState(nodeId, state, entry.reasons, why, actor);
      return;
    }
    if (!WORKFLOW_STATES.has(entry.state)) return;
    const from = entry.state;
    // Leave the workflow state, then let the usual rules decide (connected: ready/degraded/cordoned).
    entry.state = entry.link ? 'ready' : 'unreachable';
    await this.opts.store.updateNode(nodeId, { state: entry.state });
    await this.opts.events.note({
      type: 'node.state',
      nodeId,
      pool: entry.pool,
      actor,
      message: `${from} -> ${entry.state}: ${why}`,
      data: { from, to: entry.state },
    });
    if (entry.link) await this.reevaluate(nodeId, why);
  }

  /** Agent links of every connected node. */
  links(): AgentLink[] {
    const out: AgentLink[] = [];
    for (const e of this.live.values()) if (e.link) out.push(e.link);
    return out;
  }

  /** Marks silent nodes unreachable. Called on a timer; cheap: one pass over memory. Never throws. */
  async sweep(): Promise<void> {
    try {
      await this.sweepOnce();
    } catch (err) {
      this.opts.logger.error({ err }, 'node sweep failed');
    }
  }

  private async sweepOnce(): Promise<void> {
    const now = this.clock.mono();
    for (const [id, entry] of this.live) {
      if (entry.state === 'unreachable') continue;
      const since = Math.max(entry.lastSeenMs, entry.createdMs);
      if (now - since >= this.opts.unreachableAfterMs) {
        if (entry.link) {
          // Connected but silent: the link is half-open. Close it; the agent reconnects if alive.
          entry.link.close('HEARTBEAT_TIMEOUT', 'no frame from the agent within the unreachable window');
          entry.link = undefined;
          entry.disconnectedAt = now;
        }
        // A workflow (a reboot in progress, an upgrade) owns the state; it decides what silence means.
        if (WORKFLOW_STATES.has(entry.state)) continue;
        await this.setState(id, 'unreachable', ['no-report'], `no report for ${Math.round((now - since) / 1000)}s`);
      }
    }
  }

  async setState(nodeId: string, state: NodeState, reasons: string[], why: string, actor = 'hub'): Promise<void> {
    const entry = this.live.get(nodeId);
    if (!entry) return;
    const from = entry.state;
    const fromReasons = entry.reasons;
    entry.state = state;
    entry.reasons = reasons;
    if (from === state) return;
    try {
      await this.opts.store.updateNode(nodeId, { state });
    } catch (err) {
      // Not stored (a full disk): keep the old state in memory too, so the next sweep or report
      // tries again and the API never shows a state the hub has forgotten.
      entry.state = from;
      entry.reasons = fromReasons;
      this.opts.logger.warn(
        { nodeId, from, to: state, err: (err as Error).message },
        'could not store a node state change; will retry',
      );
      return;
    }
    await this.opts.events.note({
      type: 'node.state',
      nodeId,
      pool: entry.pool,
      actor,
      message: `${from} -> ${state}: ${why}`,
      data: { from, to: state, reasons },
    });
    this.opts.logger.info({ nodeId, from, to: state, reasons }, 'node state changed');
  }

  /** Forget a removed node: tell its agent why and wait (bounded) until it has wound down and hung up. */
  /** true when a connected agent hung up by itself (it stopped its work); false when it was not there. */
  async retire(nodeId: string, reason: string, timeoutMs: number): Promise<boolean> {
    const entry = this.live.get(nodeId);
    this.live.delete(nodeId);
    this.flaps.forget(nodeId);
    this.opts.skew?.forget?.(nodeId);
    if (entry && this.names.get(entry.name) === nodeId) this.names.delete(entry.name);
    if (!entry?.link) return false;
    return entry.link.retire('NODE_REMOVED', reason, timeoutMs);
  }

  /** Closes every agent link (hub shutdown); agents reconnect with backoff. */
  closeAll(code: string, reason: string): void {
    for (const entry of this.live.values()) {
      entry.link?.close(code, reason);
      entry.link = undefined;
    }
  }

  has(nodeId: string): boolean {
    return this.live.has(nodeId);
  }
}
