// Alert sources over the hub's live state: the control plane, nodes unreachable or needing
// attention, the autoheal partition guard, and halted rollouts.
import type { ClusterInfo } from '../api/services.js';
import type { NodeSnapshot } from '../nodes/registry.js';
import type { GuardState } from '../autoheal/guard.js';
import type { Rollout } from '../upgrades/rollout-state.js';
import { capped, type AlertInput, type AlertSource } from './alert-source.js';

/** A control plane may take this long to start before it is a problem. */
export const STARTING_GRACE_MS = 5 * 60_000;

export function controlPlaneSource(cluster: () => ClusterInfo): AlertSource {
  return {
    name: 'control-plane',
    collect(nowMs) {
      const c = cluster();
      if (c.state === 'failed')
        return [
          {
            id: 'control-plane',
            severity: 'critical',
            message: `control plane down (k3s server failed): ${c.message}${c.nextRetryAt ? `; next retry at ${c.nextRetryAt}` : ''}`,
            link: '#/cluster',
          },
        ];
      const since = c.since ? Date.parse(c.since) : Number.NaN;
      if (c.state === 'starting' && Number.isFinite(since) && nowMs - since > STARTING_GRACE_MS)
        return [
          {
            id: 'control-plane',
            severity: 'warning',
            message: `control plane not serving: k3s server starting since ${c.since}: ${c.message}`,
            link: '#/cluster',
          },
        ];
      return [];
    },
  };
}

export function nodeSource(snapshot: () => NodeSnapshot[]): AlertSource {
  return {
    name: 'nodes',
    collect() {
      const unreachable: AlertInput[] = [];
      const attention: AlertInput[] = [];
      for (const n of snapshot()) {
        const link = `#/node/${encodeURIComponent(n.id)}`;
        if (n.state === 'unreachable')
          unreachable.push({
            id: `node-unreachable:${n.id}`,
            severity: 'critical',
            message: `node ${n.name} (pool ${n.pool}) is unreachable: no word from its agent`,
            link,
          });
        else if (n.state === 'needs-attention')
          attention.push({
            id: `node-needs-attention:${n.id}`,
            severity: 'warning',
            message: `node ${n.name} (pool ${n.pool}) needs attention${n.reasons.length ? `: ${n.reasons.join(', ')}` : ': autoheal gave up or may not act'}`,
            link,
          });
      }
      return [
        ...capped('node-unreachable', unreachable, (more) => ({
          severity: 'critical',
          message: `and ${more} more unreachable node${more === 1 ? '' : 's'}`,
          link: '#/nodes?state=unreachable',
        })),
        ...capped('node-needs-attention', attention, (more) => ({
          severity: 'warning',
          message: `and ${more} more node${more === 1 ? '' : 's'} needing attention`,
          link: '#/nodes?state=needs-attention',
        })),
      ];
    },
  };
}

export function autohealSource(guard: () => GuardState): AlertSource {
  return {
    name: 'autoheal',
    collect() {
      const g = guard();
      return g.frozen
        ? [
            {
              id: 'autoheal-frozen',
              severity: 'warning',
              message: `autoheal frozen by the partition guard${g.reason ? `: ${g.reason}` : ''}; no node is remediated until it thaws`,
              link: '#/pools',
            },
          ]
        : [];
    },
  };
}

/** Halted rollouts that nobody dismissed; `recent` lists the newest rollouts (one bounded query). */
export function rolloutSource(recent: () => Promise<Rollout[]>): AlertSource {
  return {
    name: 'rollouts',
    async collect() {
      return (await recent())
        .filter((r) => r.state === 'halted' && !r.dismissedAt)
        .map((r) => ({
          id: `rollout-halted:${r.id}`,
          severity: 'warning' as const,
          message: `rollout ${r.id} (${r.kind === 'agent' ? 'agent' : 'k3s'} ${r.version}) halted: ${r.message.replace(/^halted:\s*/, '')}`,
          link: `#/upgrades/${encodeURIComponent(r.id)}`,
        }));
    },
  };
}
