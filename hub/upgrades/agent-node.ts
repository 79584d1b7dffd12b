// One node of an agent self-upgrade rollout: the agent is told to fetch the bundle (SHA-256 given),
// restart into it and reach the hub within the confirm limit; the hub waits for it to come back on
// the new version and stay connected. If it does not, the agent (or its wrapper) puts the old
// bundle back by itself; the hub waits to see it back on the old version and marks the node failed.
import type { Store } from '../store/types.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { AgentBundleStore } from '../artifacts/agent-bundles.js';
import type { NodePhase, NodeProgress, Rollout } from './rollout-state.js';

export interface AgentNodeHooks {
  phase(r: Rollout, n: NodeProgress, phase: NodePhase, message: string): Promise<void>;
  /** The engine's wait: `ok` holds continuously for `dwellMs` (true), or the last reason after `limitMs`. */
  waitUntil(ok: () => Promise<string | true>, limitMs: number, dwellMs: number): Promise<string | true>;
}

/** Slack after the agent's own deadline for the old version to restart and reconnect. */
const COMEBACK_MS = 60_000;
/** How long the new version must stay connected. */
const AGENT_DWELL_MS = 3_000;
/** Errors that mean "this node cannot do it; nothing changed": the rollout goes on without it. */
const NODE_LOCAL = new Set(['SELF_UPGRADE_UNSUPPORTED', 'UNKNOWN_COMMAND', 'AGENT_OFFLINE']);

export class AgentNodeUpgrader {
  constructor(private readonly d: { store: Store; registry: NodeRegistry; bundles: AgentBundleStore }) {}

  private async on(nodeId: string): Promise<{ connected: boolean; version: string }> {
    const connected = Boolean(this.d.registry.snapshotOf(nodeId)?.connected);
    return { connected, version: (await this.d.store.getNode(nodeId))?.agentVersion ?? '' };
  }

  /** Waits until the agent is connected on `version` for the dwell time, or `limitMs` passes. */
  private async waitOn(nodeId: string, version: string, limitMs: number, h: AgentNodeHooks): Promise<boolean> {
    const on = async (): Promise<string | true> => {
      const s = await this.on(nodeId);
      return s.connected && s.version === version ? true : `agent ${s.connected ? 'on' : 'last seen on'} ${s.version}`;
    };
    return (await h.waitUntil(on, limitMs, AGENT_DWELL_MS)) === true;
  }

  async upgrade(r: Rollout, n: NodeProgress, h: AgentNodeHooks): Promise<void> {
    const bundle = this.d.bundles.get(r.version);
    if (n.phase === 'pending' || n.phase === 'preflight') {
      await h.phase(r, n, 'preflight', 'agent connected?');
      const s = await this.on(n.id);
      if (s.version === r.version) return h.phase(r, n, 'skipped', `already on ${r.version}`);
      if (!s.connected) return h.phase(r, n, 'upgrade-blocked', 'the agent is not connected; nothing was changed');
      if (!bundle)
        return h.phase(
          r,
          n,
          'upgrade-failed',
          `the hub has no agent ${r.version} bundle any more; nothing was changed`,
        );
      n.swapped = true;
      await h.phase(r, n, 'swap', `${n.from} -> ${r.version}`);
      const link = this.d.registry.link(n.id);
      const out = link
        ? await link.command(
            'upgrade-agent',
            {
              version: r.version,
              url: bundle.urlPath,
              sha256: bundle.sha256,
              confirmWithinMs: String(r.verifyTimeoutMs),
            },
            120_000,
          )
        : { ok: false, errorCode: 'AGENT_OFFLINE', message: 'the agent went away before the command' };
      if (!out.ok) {
        const phase = NODE_LOCAL.has(out.errorCode) ? 'upgrade-blocked' : 'upgrade-failed';
        return h.phase(r, n, phase, `the agent refused: [${out.errorCode}] ${out.message}; nothing was changed`);
      }
    }
    if (n.phase === 'swap' || n.phase === 'verify') {
      await h.phase(r, n, 'verify', `back on ${r.version} within ${Math.round(r.verifyTimeoutMs / 1000)}s?`);
      if (await this.waitOn(n.id, r.version, r.verifyTimeoutMs + 15_000, h))
        return h.phase(r, n, 'done', `upgraded ${n.from} -> ${r.version}`);
      await h.phase(
        r,
        n,
        'rollback',
        `not connected on ${r.version} within ${Math.round(r.verifyTimeoutMs / 1000)}s; the agent goes back to ${n.from} by itself`,
      );
    }
    const back = await this.waitOn(n.id, n.from, COMEBACK_MS, h);
    return h.phase(
      r,
      n,
      'upgrade-failed',
      back
        ? `agent ${r.version} did not reach the hub in time; it came back on ${n.from} by itself`
        : `agent ${r.version} did not reach the hub in time, and ${n.from} has not come back either (look at the node)`,
    );
  }
}
