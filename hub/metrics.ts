// Prometheus metrics (prom-client), one registry per hub. Most counters are derived from the event
// log, so there is one source of truth; gauges are read from the live registry at scrape time.
import { Registry, Counter, Gauge, collectDefaultMetrics } from 'prom-client';
import type { EventLog } from './events.js';
import type { NodeRegistry } from './nodes/registry.js';
import type { ControlPlane } from './k3s/control-plane.js';
import type { AutohealEngine } from './autoheal/engine.js';
import type { Store } from './store/types.js';
import type { Rollout } from './upgrades/rollout-state.js';
import {
  REFUSAL_REASONS,
  type ConnectionGuard,
  type ConnectionObserver,
  type GuardedListener,
} from './http/connection-limits.js';

export interface HubMetrics {
  registry: Registry;
  /** A promise rejected with nobody to catch it (hub/main.ts logs it). */
  unhandledRejection(): void;
  reportReceived(): void;
  joinAttempt(result: string): void;
  /** Counts open and refused connections of the listeners (hub/http/connection-limits.ts). */
  connections: ConnectionObserver;
  /** A second machine presented a node identity in use and was refused. */
  identityConflict(): void;
}

const CP_STATES = ['running', 'starting', 'failed', 'absent', 'stopped'];

export function createMetrics(deps: {
  events: EventLog;
  nodes: NodeRegistry;
  controlPlane: ControlPlane;
  autoheal: () => AutohealEngine | undefined;
  store?: Store;
  certWarnBeforeMs?: number;
}): HubMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'atoll_hub_' });
  // Gauges named *_total break Prometheus naming (promtool check metrics); the per-type series stay.
  for (const m of ['active_handles_total', 'active_requests_total', 'active_resources_total'])
    registry.removeSingleMetric(`atoll_hub_nodejs_${m}`);
  new Gauge({
    name: 'atoll_agents_connected',
    help: 'Agents with a live WebSocket to the hub.',
    registers: [registry],
    collect() {
      this.set(deps.nodes.connectedCount());
    },
  });
  new Gauge({
    name: 'atoll_nodes',
    help: 'Nodes by state and pool.',
    labelNames: ['state', 'pool'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const n of deps.nodes.snapshot())
        counts.set(`${n.state}\u0000${n.pool}`, (counts.get(`${n.state}\u0000${n.pool}`) ?? 0) + 1);
      for (const [k, v] of counts) {
        const [state, pool] = k.split('\u0000');
        this.set({ state, pool }, v);
      }
    },
  });
  new Gauge({
    name: 'atoll_k3s_server_state',
    help: 'Control plane state (1 for the current state).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const s = deps.controlPlane.info().state;
      for (const st of CP_STATES) this.set({ state: st }, st === s ? 1 : 0);
    },
  });
  // Link flaps: reconnects of agents (the first connect after a hub start does not count).
  let flapsSeen = 0;
  new Counter({
    name: 'atoll_agent_link_flaps_total',
    help: 'Agent reconnects (link flaps) since the hub started.',
    registers: [registry],
    collect() {
      const total = deps.nodes.linkFlapsTotal();
      if (total > flapsSeen) this.inc(total - flapsSeen);
      flapsSeen = total;
    },
  });
  new Gauge({
    name: 'atoll_node_link_flaps_1h',
    help: 'Reconnects of each node whose link flapped in the last hour (nodes without flaps are left out).',
    labelNames: ['node', 'pool'],
    registers: [registry],
    collect() {
      this.reset();
      for (const n of deps.nodes.flappingLinks()) this.set({ node: n.name, pool: n.pool }, n.flaps1h);
    },
  });
  new Gauge({
    name: 'atoll_autoheal_frozen',
    help: '1 while the partition guard freezes all remediation.',
    registers: [registry],
    collect() {
      this.set(deps.autoheal()?.guardState().frozen ? 1 : 0);
    },
  });
  // Certificate expiry: per node the certificate it uses now (one query), the soonest of those, and
  // how many nodes are within the warning window (renewal has not happened).
  const certExpiries = async (): Promise<Array<{ node: string; pool: string; notAfter: number }>> => {
    if (!deps.store) return [];
    const names = new Map(deps.nodes.snapshot().map((n) => [n.id, n]));
    const out: Array<{ node: string; pool: string; notAfter: number }> = [];
    for (const c of await deps.store.currentCerts().catch(() => [])) {
      const n = names.get(c.nodeId);
      if (n) out.push({ node: n.name, pool: n.pool, notAfter: Date.parse(c.notAfter) / 1000 });
    }
    return out;
  };
  new Gauge({
    name: 'atoll_node_cert_expiry_timestamp_seconds',
    help: 'Expiry (Unix seconds) of the current client certificate of each node.',
    labelNames: ['node', 'pool'],
    registers: [registry],
    async collect() {
      const list = await certExpiries();
      this.reset();
      for (const c of list) this.set({ node: c.node, pool: c.pool }, c.notAfter);
    },
  });
  new Gauge({
    name: 'atoll_cert_expiry_soonest_timestamp_seconds',
    help: 'Expiry (Unix seconds) of the node certificate that expires first; 0 without nodes.',
    registers: [registry],
    async collect() {
      const list = await certExpiries();
      this.set(list.length ? Math.min(...list.map((c) => c.notAfter)) : 0);
    },
  });
  new Gauge({
    name: 'atoll_nodes_cert_expiring',
    help: 'Nodes whose current client certificate expires within the warning window (--cert-warn-before) or has expired: renewal has not happened.',
    registers: [registry],
    async collect() {
      const limit = (Date.now() + (deps.certWarnBeforeMs ?? 7 * 86_400_000)) / 1000;
      this.set((await certExpiries()).filter((c) => c.notAfter <= limit).length);
    },
  });
  // Upgrade progress: the nodes of active rollouts by phase (a dashboard divides done by the total).
  new Gauge({
    name: 'atoll_upgrade_nodes',
    help: 'Nodes of active (waiting, running or paused) rollouts by kind and phase; the control plane counts as one.',
    labelNames: ['kind', 'phase'],
    registers: [registry],
    async collect() {
      this.reset();
      // One query for the active rollouts only (finished ones are never read here).
      const active = (await deps.store?.listRollouts<Rollout>({ active: true }).catch(() => [])) ?? [];
      for (const r of active) {
        for (const phase of [...r.nodes.map((n) => n.phase), ...(r.controlPlane ? [r.controlPlane.phase] : [])])
          this.inc({ kind: r.kind, phase });
      }
    },
  });
  const upgradeSteps = new Counter({
    name: 'atoll_upgrade_steps_total',
    help: 'Upgrade steps on nodes by phase (upgrade-failed for failures).',
    labelNames: ['phase'],
    registers: [registry],
  });
  const rollouts = new Counter({
    name: 'atoll_upgrade_rollout_events_total',
    help: 'Upgrade rollout events (started, cancel, resumed, refused).',
    labelNames: ['event'],
    registers: [registry],
  });
  const reports = new Counter({
    name: 'atoll_health_reports_total',
    help: 'Health reports received from agents.',
    registers: [registry],
  });
  const conflicts = new Counter({
    name: 'atoll_node_identity_conflicts_total',
    help: 'Connections refused because another machine holds the node identity (cloned VMs, copied data dirs).',
    registers: [registry],
  });
  const joins = new Counter({
    name: 'atoll_join_attempts_total',
    help: 'Join attempts by result.',
    labelNames: ['result'],
    registers: [registry],
  });
  const steps = new Counter({
    name: 'atoll_remediation_steps_total',
    help: 'Autoheal remediation steps by action and result.',
    labelNames: ['action', 'result'],
    registers: [registry],
  });
  const freezes = new Counter({
    name: 'atoll_autoheal_guard_freezes_total',
    help: 'Times the partition guard froze remediation.',
    registers: [registry],
  });
  const unhandled = new Counter({
    name: 'atoll_unhandled_rejections_total',
    help: 'Promises that rejected with nobody to catch them (a bug; the hub logged each and kept running).',
    registers: [registry],
  });
  const transitions = new Counter({
    name: 'atoll_node_state_transitions_total',
    help: 'Node state changes by new state.',
    labelNames: ['to'],
    registers: [registry],
  });
  const guards = new Map<GuardedListener, ConnectionGuard>();
  new Gauge({
    name: 'atoll_connections',
    help: 'Open TCP connections by listener (api, gateway, autoscaler-grpc).',
    labelNames: ['listener'],
    registers: [registry],
    collect() {
      for (const [listener, g] of guards) this.set({ listener }, g.open());
    },
  });
  const refused = new Counter({
    name: 'atoll_connections_refused_total',
    help: 'Connections closed by the hub: over the per-source or total cap, or no TLS handshake or no request in time.',
    labelNames: ['listener', 'reason'],
    registers: [registry],
  });
  for (const listener of ['api', 'gateway']) for (const reason of REFUSAL_REASONS) refused.inc({ listener, reason }, 0);
  const connections: ConnectionObserver = {
    refused: (listener, reason) => refused.inc({ listener, reason }),
    track: (listener, guard) => void guards.set(listener, guard),
  };
  deps.events.subscribe((e) => {
    switch (e.type) {
      case 'autoheal.step':
        steps.inc({ action: String(e.data.action ?? 'unknown'), result: e.data.ok ? 'ok' : 'failed' });
        break;
      case 'autoheal.frozen':
        freezes.inc();
        break;
      case 'node.state':
        transitions.inc({ to: String(e.data.to ?? 'unknown') });
        break;
      case 'upgrade.step':
        // A resumed swap (the same assignment sent again) is no step of its own.
        if (e.data.resumed === undefined) upgradeSteps.inc({ phase: String(e.data.phase ?? 'drain') });
        break;
      case 'upgrade.node-failed':
        upgradeSteps.inc({ phase: 'upgrade-failed' });
        break;
      case 'upgrade.started':
      case 'upgrade.cancel':
      case 'upgrade.resumed':
      case 'upgrade.refused':
        rollouts.inc({ event: e.type.slice('upgrade.'.length) });
        break;
      default:
    }
  });
  return {
    registry,
    unhandledRejection: () => unhandled.inc(),
    reportReceived: () => reports.inc(),
    joinAttempt: (result) => joins.inc({ result }),
    connections,
    identityConflict: () => conflicts.inc(),
  };
}
