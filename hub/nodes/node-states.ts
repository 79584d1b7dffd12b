// A node's state changes, written through: the store first, then a node.state event. A report or a
// Kubernetes change re-judges a connected node; a workflow (autoheal, upgrades) holds its state
// until it lets go; silence past the unreachable window makes a node unreachable.
import type { NodeState, Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import { judge, WORKFLOW_STATES, type LiveNode } from './live-node.js';

export interface NodeStatesDeps {
  store: Store;
  events: EventLog;
  logger: Logger;
}

/** State changes of the nodes in `live` (the registry's map, shared); a node not in it is left alone. */
export class NodeStates {
  constructor(
    private readonly d: NodeStatesDeps,
    private readonly live: ReadonlyMap<string, LiveNode>,
  ) {}

  /** Recomputes the state of a connected node from its last report and its Kubernetes view. */
  async reevaluate(nodeId: string, why: string): Promise<void> {
    const entry = this.live.get(nodeId);
    if (!entry) return;
    const { next, reasons } = judge(entry);
    // In a workflow state the reasons stay current (autoheal reads them); the state does not move.
    if (WORKFLOW_STATES.has(entry.state)) {
      entry.reasons = reasons;
      return;
    }
    const changed = next !== entry.state || reasons.join(',') !== entry.reasons.join(',');
    if (!changed) return;
    if (next === entry.state) {
      entry.reasons = reasons;
      if (next === 'degraded')
        await this.d.events.note({
          type: 'node.health',
          nodeId,
          pool: entry.pool,
          actor: 'hub',
          message: `still degraded: ${reasons.join(', ')}`,
          data: { reasons },
        });
      return;
    }
    await this.set(nodeId, next, reasons, reasons.length ? `${reasons.join(', ')}` : why);
  }

  async set(nodeId: string, state: NodeState, reasons: string[], why: string, actor = 'hub'): Promise<void> {
    const entry = this.live.get(nodeId);
    if (!entry) return;
    const from = entry.state;
    const fromReasons = entry.reasons;
    entry.state = state;
    entry.reasons = reasons;
    if (from === state) return;
    try {
      await this.d.store.updateNode(nodeId, { state });
    } catch (err) {
      // Not stored (a full disk): keep the old state in memory too, so the next sweep or report
      // tries again and the API never shows a state the hub has forgotten.
      entry.state = from;
      entry.reasons = fromReasons;
      this.d.logger.warn(
        { nodeId, from, to: state, err: (err as Error).message },
        'could not store a node state change; will retry',
      );
      return;
    }
    await this.d.events.note({
      type: 'node.state',
      nodeId,
      pool: entry.pool,
      actor,
      message: `${from} -> ${state}: ${why}`,
      data: { from, to: state, reasons },
    });
    this.d.logger.info({ nodeId, from, to: state, reasons }, 'node state changed');
  }

  /** A workflow lets go of a node: its state follows its reports again. */
  async release(nodeId: string, why: string, actor: string): Promise<void> {
    const entry = this.live.get(nodeId);
    if (!entry || !WORKFLOW_STATES.has(entry.state)) return;
    const from = entry.state;
    // Leave the workflow state, then let the usual rules decide (connected: ready/degraded/cordoned).
    entry.state = entry.link ? 'ready' : 'unreachable';
    await this.d.store.updateNode(nodeId, { state: entry.state });
    await this.d.events.note({
      type: 'node.state',
      nodeId,
      pool: entry.pool,
      actor,
      message: `${from} -> ${entry.state}: ${why}`,
      data: { from, to: entry.state },
    });
    if (entry.link) await this.reevaluate(nodeId, why);
  }

  /**
   * Marks nodes silent for `unreachableAfterMs` (monotonic `now`) unreachable: one pass over memory.
   * A node whose link is not here may be connected to another hub (shared store): it is judged by the
   * lastSeen that hub stores (`wallNow`: this hub's wall clock), read only once it looks silent here.
   */
  async sweep(now: number, unreachableAfterMs: number, wallNow = Date.now()): Promise<void> {
    for (const [id, entry] of this.live) {
      if (entry.state === 'unreachable') continue;
      const since = Math.max(entry.lastSeenMs, entry.createdMs);
      if (now - since >= unreachableAfterMs && !entry.link && (await this.seenElsewhere(id, entry, now, wallNow)))
        continue;
      if (now - since >= unreachableAfterMs) {
        if (entry.link) {
          // Connected but silent: the link is half-open. Close it; the agent reconnects if alive.
          entry.link.close('HEARTBEAT_TIMEOUT', 'no frame from the agent within the unreachable window');
          entry.link = undefined;
          entry.disconnectedAt = now;
        }
        // A workflow (a reboot in progress, an upgrade) owns the state; it decides what silence means.
        if (WORKFLOW_STATES.has(entry.state)) continue;
        await this.set(id, 'unreachable', ['no-report'], `no report for ${Math.round((now - since) / 1000)}s`);
      }
    }
  }

  /**
   * Whether the store says the node was seen within the window (by the hub holding its link) or is
   * already unreachable: then its entry takes the stored lastSeen and state, and this hub leaves it be.
   */
  private async seenElsewhere(id: string, entry: LiveNode, now: number, wallNow: number): Promise<boolean> {
    let stored;
    try {
      stored = await this.d.store.getNode(id);
    } catch {
      return true; // the store cannot say (and could not record a change): judged at the next sweep
    }
    if (!stored) return false;
    const lastSeen = stored.lastSeen ? Date.parse(stored.lastSeen) : NaN;
    const ago = Number.isFinite(lastSeen) ? Math.max(0, wallNow - lastSeen) : Infinity;
    if (now - Math.max(entry.lastSeenMs, entry.createdMs) <= ago) return false; // nothing newer than here
    entry.lastSeenMs = now - ago;
    entry.state = stored.state;
    return true;
  }
}
