// The live view of every node: which agent link is attached, when it last spoke, and its state.
// The store holds the durable record; this keeps the hot fields in memory and writes changes through.
import type { HealthRecord, HostFactsRecord, NodeRecord, NodeState, Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { HealthBatcher } from './health-batcher.js';
import type { AgentLink } from './agent-link.js';
import { liveNodeOf, view, type KubeView, type LiveNode, type NodeSnapshot } from './live-node.js';
import { NodeStates } from './node-states.js';
import { healthProblems, type SkewJudge } from './health-state.js';
import { HOUR_MS, LinkFlaps, linkInfo, type LinkInfo } from './link-flaps.js';
import { systemClock, type Clock } from '../clock.js';
import { nodeOfKubeView } from './kube-node-id.js';

export type { AgentLink, CommandOutcome } from './agent-link.js';
export type { KubeView, NodeSnapshot } from './live-node.js';

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

export class NodeRegistry {
  private readonly live = new Map<string, LiveNode>();
  /** Node name -> id, for Kubernetes events and name uniqueness at join. */
  private readonly names = new Map<string, string>();
  private readonly clock: Clock;
  private readonly flaps: LinkFlaps;
  private readonly flapWindowMs: number;
  private readonly states: NodeStates;

  constructor(private readonly opts: RegistryOptions) {
    this.clock = opts.clock ?? systemClock;
    this.states = new NodeStates(opts, this.live);
    // Flap windows count on the monotonic clock: a step of the wall clock is not a burst of flaps.
    this.flaps = new LinkFlaps(() => this.clock.mono());
    this.flapWindowMs = Math.min(HOUR_MS, opts.flapWindowMs ?? 15 * 60_000);
  }

  /** Loads every stored node; none is connected yet after a hub start. */
  async load(): Promise<void> {
    for (const n of await this.opts.store.listNodes()) this.track(n);
  }

  track(n: NodeRecord): void {
    this.live.set(n.id, liveNodeOf(n, this.clock));
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
    // A node that joined through another hub (shared store) is loaded by the id its Node is labelled with.
    const id = this.idByName(name) ?? (await nodeOfKubeView(this.opts.store, name, view, (n) => this.track(n)));
    const entry = id ? this.live.get(id) : undefined;
    if (!id || !entry) return;
    entry.kube = view;
    if (entry.link)
      await this.states.reevaluate(
        id,
        view
          ? `kubernetes node ${view.ready ? 'Ready' : 'NotReady'}${view.unschedulable ? ', cordoned' : ''}`
          : 'kubernetes node deleted',
      );
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
    await this.states.reevaluate(link.nodeId, 'agent connected');
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
    await this.states.reevaluate(nodeId, 'health report is good');
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
    await this.states.release(nodeId, why, actor);
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
      await this.states.sweep(this.clock.mono(), this.opts.unreachableAfterMs, this.clock.now());
    } catch (err) {
      this.opts.logger.error({ err }, 'node sweep failed');
    }
  }

  async setState(nodeId: string, state: NodeState, reasons: string[], why: string, actor = 'hub'): Promise<void> {
    await this.states.set(nodeId, state, reasons, why, actor);
  }

  /**
   * Forget a removed node: tell its agent why and wait (bounded) until it has wound down and hung up.
   * true when a connected agent hung up by itself (it stopped its work); false when it was not there.
   */
  async retire(nodeId: string, reason: string, timeoutMs: number): Promise<boolean> {
    const entry = this.live.get(nodeId);
    this.live.delete(nodeId);
    this.flaps.forget(nodeId);
    this.opts.skew?.forget?.(nodeId);
    if (entry && this.names.get(entry.name) === nodeId) this.names.delete(entry.name);
    if (!entry?.link) return false;
    return entry.link.retire('NODE_REMOVED', reason, timeoutMs);
  }

  /** Closes every agent link but the hub goes on (it sheds its agents): each is detached as it closes. */
  shedAll(code: string, reason: string): void {
    for (const entry of [...this.live.values()]) entry.link?.close(code, reason);
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
