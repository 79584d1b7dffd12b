// Whether a rollout may start, decided before anything changes: the request is validated (VALIDATION),
// one rollout runs at a time over pools that exist (CONFLICT, NOT_FOUND), and every refusal reason
// (checks.ts) is recorded as one upgrade.refused event and thrown as CONFLICT. What passes becomes the
// spec of a new rollout: its settings and the nodes it covers, in a stable order.
import type { Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { AutohealSettings } from '../autoheal/settings.js';
import { HubError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { validateK3sVersion } from '../artifacts/artifact-store.js';
import { compareAgentVersions } from '../artifacts/agent-bundles.js';
import { preflightChecks, type CheckNode, type Refusal } from './checks.js';
import { compareK3sVersions } from './versions.js';
import { ACTIVE_STATES, type NodeProgress, type Rollout, type RolloutStore } from './rollout-state.js';

export interface UpgradeRequest {
  version: string;
  pools?: string[];
  maxUnavailable?: number;
  drain?: { timeout?: string; ignoreDaemonSets?: boolean; deleteEmptyDirData?: boolean; force?: boolean };
  window?: 'now' | 'next';
  /** How long a node must stay Ready on the new version (default 2m). */
  dwell?: string;
  /** How long verify may take in all (default 10m). */
  verifyTimeout?: string;
  /** Upgrade the hub's own k3s server first when it is older than `version` (default true). */
  controlPlane?: boolean;
}

export interface AgentUpgradeRequest {
  version: string;
  pools?: string[];
  maxUnavailable?: number;
  window?: 'now' | 'next';
  /** How long a restarted agent has to reach the hub on the new version before it goes back (default 2m). */
  confirmTimeout?: string;
}

/** A rollout to create, and how upgrade.started describes it ("k3s to v… on "). */
export interface RolloutSpec {
  spec: Pick<Rollout, 'kind' | 'version' | 'pools' | 'drain' | 'dwellMs' | 'verifyTimeoutMs' | 'controlPlane'> & {
    maxUnavailable?: number;
    window?: 'now' | 'next';
    nodes: Array<Pick<NodeProgress, 'id' | 'name' | 'pool' | 'from'>>;
  };
  what: string;
}

/** A k3s node a rollout covers, with its live state. */
export type Member = CheckNode & { state: string };

export interface AdmissionDeps {
  store: Store;
  events: EventLog;
  registry: NodeRegistry;
  controlPlane: ControlPlane;
  artifacts: ArtifactStore;
  autohealSettings: AutohealSettings;
  rollouts: RolloutStore;
}

/** A request's duration setting (e.g. "2m"), or VALIDATION. */
function duration(value: string | undefined, fallback: string): number {
  try {
    return parseDuration(value ?? fallback);
  } catch (err) {
    throw new HubError('VALIDATION', (err as Error).message);
  }
}

export class Admission {
  constructor(private readonly d: AdmissionDeps) {}

  /** A k3s rollout's spec (control plane first when it is older), or the refusal. */
  async k3s(req: UpgradeRequest, actor: string): Promise<RolloutSpec> {
    try {
      validateK3sVersion(req.version);
    } catch (err) {
      throw new HubError('VALIDATION', (err as Error).message);
    }
    const dwellMs = duration(req.dwell, '2m');
    const verifyTimeoutMs = duration(req.verifyTimeout, '10m');
    const drainTimeoutMs = duration(req.drain?.timeout, '30m');
    if (dwellMs >= verifyTimeoutMs) throw new HubError('VALIDATION', 'dwell must be shorter than verifyTimeout');
    const pools = await this.startablePools(req.pools);
    const members = await this.members(pools);
    const cpVersion = this.d.controlPlane.version();
    const cpFirst =
      req.controlPlane !== false &&
      this.d.controlPlane.upgradable() &&
      cpVersion !== null &&
      compareK3sVersions(cpVersion, req.version) < 0;
    await this.refuseIfAny(`upgrade to ${req.version}`, await this.check(req.version, members, cpFirst), actor, {
      version: req.version,
    });
    return {
      spec: {
        kind: 'k3s',
        version: req.version,
        pools,
        maxUnavailable: req.maxUnavailable,
        window: req.window,
        dwellMs,
        verifyTimeoutMs,
        drain: {
          timeoutMs: drainTimeoutMs,
          ignoreDaemonSets: req.drain?.ignoreDaemonSets ?? true,
          deleteEmptyDirData: req.drain?.deleteEmptyDirData ?? true,
          force: req.drain?.force ?? false,
        },
        controlPlane: cpFirst
          ? { from: cpVersion!, phase: 'pending', startedAt: null, finishedAt: null, message: '' }
          : null,
        nodes: members.map((n) => ({ id: n.id, name: n.name, pool: n.pool, from: n.version })),
      },
      what: `k3s to ${req.version} on ${cpFirst ? 'the control plane, then ' : ''}`,
    };
  }

  /** An agent self-upgrade rollout's spec, or the refusal. */
  async agent(req: AgentUpgradeRequest, actor: string): Promise<RolloutSpec> {
    const confirmMs = duration(req.confirmTimeout, '2m');
    if (confirmMs < 10_000)
      throw new HubError('VALIDATION', 'confirmTimeout must be at least 10s (an agent restart takes a few seconds)');
    const pools = await this.startablePools(req.pools);
    const nodes = (await this.d.store.listNodes())
      .filter((n) => !pools || pools.includes(n.pool))
      .sort((a, b) => a.pool.localeCompare(b.pool) || a.name.localeCompare(b.name));
    const refusals: Refusal[] = [];
    if (!this.d.artifacts.agents.get(req.version)) {
      const have =
        this.d.artifacts.agents
          .list()
          .map((b) => b.version)
          .join(', ') || 'none';
      refusals.push({
        code: 'ARTIFACT_MISSING',
        message: `no agent ${req.version} bundle (the hub has ${have}); import one with atoll-hub artifact import agent --version ${req.version} --file F`,
      });
    }
    const newer = nodes.filter(
      (n) => /^\d+\.\d+\.\d+/.test(n.agentVersion) && compareAgentVersions(n.agentVersion, req.version) > 0,
    );
    if (newer.length)
      refusals.push({
        code: 'DOWNGRADE',
        message: `${req.version} is older than the agent on ${newer.map((n) => `${n.name} (${n.agentVersion})`).join(', ')}: downgrades are refused`,
      });
    await this.refuseIfAny(`agent upgrade to ${req.version}`, refusals, actor, { kind: 'agent', version: req.version });
    return {
      spec: {
        kind: 'agent',
        version: req.version,
        pools,
        maxUnavailable: req.maxUnavailable,
        window: req.window,
        dwellMs: 3_000,
        verifyTimeoutMs: confirmMs,
        drain: { timeoutMs: 0, ignoreDaemonSets: true, deleteEmptyDirData: true, force: false },
        controlPlane: null,
        nodes: nodes.map((n) => ({ id: n.id, name: n.name, pool: n.pool, from: n.agentVersion })),
      },
      what: `agents to ${req.version} on `,
    };
  }

  /** The nodes a k3s rollout covers: k3s nodes of the pools (null: all), in a stable order. */
  async members(pools: string[] | null): Promise<Member[]> {
    const nodes = await this.d.store.listNodes();
    const snaps = new Map(this.d.registry.snapshot().map((s) => [s.id, s]));
    return nodes
      .filter(
        (n) =>
          (!pools || pools.includes(n.pool)) &&
          n.health?.k3s.state !== 'disabled' &&
          (this.d.registry.kubeView(n.id) || n.health?.k3s.version),
      )
      .sort((a, b) => a.pool.localeCompare(b.pool) || a.name.localeCompare(b.name))
      .map((n) => {
        const s = snaps.get(n.id);
        // A node linked to another hub: the state that hub stores (as GET /v1/nodes shows it).
        const state = s?.connected ? s.state : n.state;
        return {
          id: n.id,
          name: n.name,
          pool: n.pool,
          arch: n.facts.arch,
          state,
          version: this.d.registry.kubeView(n.id)?.kubeletVersion || n.health?.k3s.version || '',
          unhealthy: ['degraded', 'unreachable', 'needs-attention', 'remediating'].includes(state),
        };
      });
  }

  /** One rollout at a time, over pools that exist; null: every pool. */
  private async startablePools(requested: string[] | undefined): Promise<string[] | null> {
    const active = (await this.d.rollouts.list()).find((r) => ACTIVE_STATES.has(r.state));
    if (active)
      throw new HubError(
        'CONFLICT',
        `rollout ${active.id} to ${active.version} is still ${active.state}; wait for it or cancel it`,
        { rolloutId: active.id },
      );
    const pools = requested?.length ? requested : null;
    for (const p of pools ?? [])
      if (!(await this.d.store.getPool(p))) throw new HubError('NOT_FOUND', `pool ${p} does not exist`);
    return pools;
  }

  /** Records the refusals as one event and throws CONFLICT with all of them; nothing when there are none. */
  private async refuseIfAny(
    what: string,
    refusals: Refusal[],
    actor: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    if (!refusals.length) return;
    const why = `${what} refused: ${refusals.map((r) => `[${r.code}] ${r.message}`).join('; ')}`;
    await this.d.events.record({ type: 'upgrade.refused', actor, message: why, data: { ...data, refusals } });
    throw new HubError('CONFLICT', why, { refusals });
  }

  private async check(version: string, members: CheckNode[], controlPlaneFirst: boolean): Promise<Refusal[]> {
    const poolCaps = new Map<string, number>();
    for (const p of new Set(members.map((m) => m.pool)))
      poolCaps.set(p, (await this.d.autohealSettings.pool(p)).maxUnhealthyPercent);
    return preflightChecks({
      target: version,
      controlPlaneVersion: this.d.controlPlane.version(),
      controlPlaneFirst,
      controlPlaneArch: this.d.controlPlane.arch(),
      nodes: members,
      artifactArches: new Set(
        this.d.artifacts
          .listK3s()
          .filter((a) => a.version === version)
          .map((a) => a.arch),
      ),
      poolCaps,
    });
  }
}
