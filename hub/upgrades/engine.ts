// Rolling k3s upgrades of the pools: refuse what must not happen before anything changes, then node
// by node (maxUnavailable at a time): preflight, cordon, drain, swap (a new assignment with the new
// version), verify (Ready on the new kubeletVersion and a healthy agent for a dwell time), uncordon.
// A failed verify rolls the node back to its previous version, uncordons it, halts the rollout.
// Progress is stored after every step, so a hub restart resumes a rollout where it was.
import { randomBytes } from 'node:crypto';
import type { Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import type { NodeK3s } from '../k3s/node-k3s.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { AutohealSettings } from '../autoheal/settings.js';
import type { KubeClient } from '../k3s/kube.js';
import { HubError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { validateK3sVersion } from '../artifacts/artifact-store.js';
import { preflightChecks, type CheckNode, type Refusal } from './checks.js';
import { classifyMove, compareK3sVersions, minorDistance, minorOf } from './versions.js';
import { windowOpen } from './window.js';
import { UpgradePolicy } from './policy.js';
import { ACTIVE_STATES, CP_FINAL, FINAL_PHASES, RolloutStore, type ControlPlanePhase, type NodePhase, type NodeProgress, type Rollout } from './rollout-state.js';
import { ManagedBinaryError } from '../k3s/managed-binary.js';
import { AgentNodeUpgrader } from './agent-node.js';
import { compareAgentVersions } from '../artifacts/agent-bundles.js';
import { applyHaltedAction, type HaltedAction } from './halted.js';

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

export interface UpgradeEngineDeps {
  store: Store;
  events: EventLog;
  registry: NodeRegistry;
  controlPlane: ControlPlane;
  nodeK3s: NodeK3s;
  artifacts: ArtifactStore;
  autohealSettings: AutohealSettings;
  logger: Logger;
  /** How often waits poll and the auto-upgrade policy is looked at (default 500 ms / 30 s). */
  pollMs?: number;
  autoTickMs?: number;
  now?: () => Date;
}

/** The newest minors a release line is supported in (k3s follows upstream: three). */
const SUPPORTED_MINORS = 3;
/** The newest k3s minor this hub knows was released (for the end-of-support notice without imports). */
const KNOWN_LATEST_MINOR = 'v1.33';
const ORDER: NodePhase[] = ['pending', 'preflight', 'cordon', 'drain', 'swap', 'verify', 'uncordon'];

class Stopping extends Error {}

/** A request's duration setting (e.g. "2m"), or VALIDATION. */
function duration(value: string | undefined, fallback: string): number {
  try {
    return parseDuration(value ?? fallback);
  } catch (err) {
    throw new HubError('VALIDATION', (err as Error).message);
  }
}

export class UpgradeEngine {
  readonly policy: UpgradePolicy;
  private readonly rollouts: RolloutStore;
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;
  private autoTimer?: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();
  private lastAutoRefusal = '';

  private readonly agentUpgrader: AgentNodeUpgrader;

  constructor(private readonly d: UpgradeEngineDeps) {
    this.policy = new UpgradePolicy(d.store);
    this.rollouts = new RolloutStore(d.store);
    this.agentUpgrader = new AgentNodeUpgrader({ store: d.store, registry: d.registry, bundles: d.artifacts.agents });
  }

  private now(): Date {
    return this.d.now?.() ?? new Date();
  }

  private get pollMs(): number {
    return this.d.pollMs ?? 500;
  }

  /** Resumes stored rollouts that were active when the hub stopped; starts the auto-upgrade ticker. */
  async start(): Promise<void> {
    for (const r of await this.rollouts.list()) {
      if (!ACTIVE_STATES.has(r.state)) continue;
      await this.d.events.note({ type: 'upgrade.resumed', actor: 'hub', message: `rollout ${r.id} to ${r.version} resumes after a hub restart`, data: { rolloutId: r.id } });
      this.launch(r);
    }
    this.autoTimer = setInterval(() => void this.autoTick().catch((err: unknown) => this.d.logger.warn({ err: (err as Error).message }, 'auto-upgrade check failed')), this.d.autoTickMs ?? 30_000);
    this.autoTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.autoTimer);
    await Promise.allSettled([...this.running.values()]);
    await this.saving;
  }

  list(): Promise<Rollout[]> {
    return this.rollouts.list();
  }

  get(id: string): Promise<Rollout | undefined> {
    return this.rollouts.get(id);
  }

  /** Starts a rollout, or throws HubError CONFLICT with every refusal reason (nothing changed). */
  async begin(req: UpgradeRequest, actor: string): Promise<Rollout> {
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
    const cpFirst = req.controlPlane !== false && this.d.controlPlane.upgradable() && cpVersion !== null && compareK3sVersions(cpVersion, req.version) < 0;
    await this.refuseIfAny(`upgrade to ${req.version}`, await this.check(req.version, members, cpFirst), actor, { version: req.version });
    return this.create({
      kind: 'k3s', version: req.version, pools, maxUnavailable: req.maxUnavailable, window: req.window, dwellMs, verifyTimeoutMs,
      drain: { timeoutMs: drainTimeoutMs, ignoreDaemonSets: req.drain?.ignoreDaemonSets ?? true, deleteEmptyDirData: req.drain?.deleteEmptyDirData ?? true, force: req.drain?.force ?? false },
      controlPlane: cpFirst ? { from: cpVersion!, phase: 'pending', startedAt: null, finishedAt: null, message: '' } : null,
      nodes: members.map((n) => ({ id: n.id, name: n.name, pool: n.pool, from: n.version })),
    }, actor, `k3s to ${req.version} on ${cpFirst ? 'the control plane, then ' : ''}`);
  }

  /** Starts an agent self-upgrade rollout, or throws HubError CONFLICT with every refusal reason (nothing changed). */
  async beginAgent(req: AgentUpgradeRequest, actor: string): Promise<Rollout> {
    const confirmMs = duration(req.confirmTimeout, '2m');
    if (confirmMs < 10_000) throw new HubError('VALIDATION', 'confirmTimeout must be at least 10s (an agent restart takes a few seconds)');
    const pools = await this.startablePools(req.pools);
    const nodes = (await this.d.store.listNodes()).filter((n) => !pools || pools.includes(n.pool)).sort((a, b) => a.pool.localeCompare(b.pool) || a.name.localeCompare(b.name));
    const refusals: Refusal[] = [];
    if (!this.d.artifacts.agents.get(req.version)) {
      const have = this.d.artifacts.agents.list().map((b) => b.version).join(', ') || 'none';
      refusals.push({ code: 'ARTIFACT_MISSING', message: `no agent ${req.version} bundle (the hub has ${have}); import one with atoll-hub artifact import agent --version ${req.version} --file F` });
    }
    const newer = nodes.filter((n) => /^\d+\.\d+\.\d+/.test(n.agentVersion) && compareAgentVersions(n.agentVersion, req.version) > 0);
    if (newer.length) refusals.push({ code: 'DOWNGRADE', message: `${req.version} is older than the agent on ${newer.map((n) => `${n.name} (${n.agentVersion})`).join(', ')}: downgrades are refused` });
    await this.refuseIfAny(`agent upgrade to ${req.version}`, refusals, actor, { kind: 'agent', version: req.version });
    return this.create({
      kind: 'agent', version: req.version, pools, maxUnavailable: req.maxUnavailable, window: req.window, dwellMs: 3_000, verifyTimeoutMs: confirmMs,
      drain: { timeoutMs: 0, ignoreDaemonSets: true, deleteEmptyDirData: true, force: false },
      controlPlane: null,
      nodes: nodes.map((n) => ({ id: n.id, name: n.name, pool: n.pool, from: n.agentVersion })),
    }, actor, `agents to ${req.version} on `);
  }

  /** One rollout at a time, over pools that exist; null: every pool. */
  private async startablePools(requested: string[] | undefined): Promise<string[] | null> {
    const active = (await this.rollouts.list()).find((r) => ACTIVE_STATES.has(r.state));
    if (active) throw new HubError('CONFLICT', `rollout ${active.id} to ${active.version} is still ${active.state}; wait for it or cancel it`, { rolloutId: active.id });
    const pools = requested?.length ? requested : null;
    for (const p of pools ?? []) if (!(await this.d.store.getPool(p))) throw new HubError('NOT_FOUND', `pool ${p} does not exist`);
    return pools;
  }

  /** Records the refusals as one event and throws CONFLICT with all of them; nothing when there are none. */
  private async refuseIfAny(what: string, refusals: Refusal[], actor: string, data: Record<string, unknown>): Promise<void> {
    if (!refusals.length) return;
    const why = `${what} refused: ${refusals.map((r) => `[${r.code}] ${r.message}`).join('; ')}`;
    await this.d.events.record({ type: 'upgrade.refused', actor, message: why, data: { ...data, refusals } });
    throw new HubError('CONFLICT', why, { refusals });
  }

  /** Stores a new rollout (every node pending), records upgrade.started and runs it. */
  private async create(
    spec: Pick<Rollout, 'kind' | 'version' | 'pools' | 'drain' | 'dwellMs' | 'verifyTimeoutMs' | 'controlPlane'> & { maxUnavailable?: number; window?: 'now' | 'next'; nodes: Array<Pick<NodeProgress, 'id' | 'name' | 'pool' | 'from'>> },
    actor: string,
    what: string,
  ): Promise<Rollout> {
    const at = this.now().toISOString();
    const r: Rollout = {
      ...spec,
      id: `upg-${randomBytes(5).toString('hex')}`,
      maxUnavailable: Math.max(1, spec.maxUnavailable ?? 1),
      window: spec.window ?? 'next',
      state: 'waiting-window',
      message: 'created',
      actor,
      createdAt: at,
      updatedAt: at,
      finishedAt: null,
      nodes: spec.nodes.map((n) => ({ ...n, phase: 'pending', startedAt: null, finishedAt: null, message: '', cordoned: false, swapped: false })),
    };
    await this.rollouts.save(r);
    const pools = r.pools;
    await this.d.events.record({
      type: 'upgrade.started', actor,
      message: `rollout ${r.id}: ${what}${r.nodes.length} node(s)${pools ? ` in ${pools.join(', ')}` : ''}, ${r.maxUnavailable} at a time, window ${r.window}`,
      data: { rolloutId: r.id, ...(r.kind === 'agent' ? { kind: 'agent' } : {}), version: r.version, pools, nodes: r.nodes.map((n) => n.id) },
    });
    this.launch(r);
    return r;
  }

  /** Stops an active rollout before its next node (a node in progress finishes). */
  async cancel(id: string, actor: string): Promise<Rollout> {
    const r = await this.rollouts.get(id);
    if (!r) throw new HubError('NOT_FOUND', `rollout ${id} does not exist`);
    if (!ACTIVE_STATES.has(r.state)) throw new HubError('CONFLICT', `rollout ${id} is ${r.state}`);
    this.cancelled.add(id);
    await this.d.events.record({ type: 'upgrade.cancel', actor, message: `rollout ${id} cancel requested; a node in progress finishes first`, data: { rolloutId: id } });
    return r;
  }

  private readonly cancelled = new Set<string>();

  /** Resumes, retries or dismisses a halted rollout (halted.ts); resume and retry run it again. */
  async actOnHalted(id: string, action: HaltedAction, actor: string): Promise<Rollout> {
    const r = await this.rollouts.get(id);
    if (!r) throw new HubError('NOT_FOUND', `rollout ${id} does not exist`);
    const active = action === 'dismiss' ? undefined : (await this.rollouts.list()).find((x) => x.id !== id && ACTIVE_STATES.has(x.state));
    if (active) throw new HubError('CONFLICT', `rollout ${active.id} to ${active.version} is ${active.state}; one rollout at a time`, { rolloutId: active.id });
    if (this.running.has(id)) throw new HubError('CONFLICT', `rollout ${id} is still stopping; try again in a moment`);
    const note = applyHaltedAction(r, action, actor, this.now().toISOString());
    await this.save(r);
    await this.d.events.record({ type: note.type, actor, message: note.message, data: { rolloutId: id, action } });
    if (note.run) this.launch(r);
    return r;
  }

  /** The nodes a rollout covers: k3s nodes of the pools, in a stable order. */
  private async members(pools: string[] | null): Promise<Array<CheckNode & { state: string }>> {
    const nodes = await this.d.store.listNodes();
    const snaps = new Map(this.d.registry.snapshot().map((s) => [s.id, s]));
    return nodes
      .filter((n) => (!pools || pools.includes(n.pool)) && n.health?.k3s.state !== 'disabled' && (this.d.registry.kubeView(n.id) || n.health?.k3s.version))
      .sort((a, b) => a.pool.localeCompare(b.pool) || a.name.localeCompare(b.name))
      .map((n) => {
        const s = snaps.get(n.id);
        const state = s?.state ?? n.state;
        return {
          id: n.id, name: n.name, pool: n.pool, arch: n.facts.arch, state,
          version: this.d.registry.kubeView(n.id)?.kubeletVersion || n.health?.k3s.version || '',
          unhealthy: ['degraded', 'unreachable', 'needs-attention', 'remediating'].includes(state),
        };
      });
  }

  private async check(version: string, members: CheckNode[], controlPlaneFirst: boolean): Promise<Refusal[]> {
    const poolCaps = new Map<string, number>();
    for (const p of new Set(members.map((m) => m.pool))) poolCaps.set(p, (await this.d.autohealSettings.pool(p)).maxUnhealthyPercent);
    return preflightChecks({
      target: version,
      controlPlaneVersion: this.d.controlPlane.version(),
      controlPlaneFirst,
      controlPlaneArch: this.d.controlPlane.arch(),
      nodes: members,
      artifactArches: new Set(this.d.artifacts.listK3s().filter((a) => a.version === version).map((a) => a.arch)),
      poolCaps,
    });
  }

  private save(r: Rollout): Promise<void> {
    this.saving = this.saving.then(() => this.rollouts.save(r)).catch((err: unknown) => this.d.logger.error({ err: (err as Error).message }, 'could not store rollout progress'));
    return this.saving;
  }

  private launch(r: Rollout): void {
    if (this.running.has(r.id)) return;
    const p = this.run(r)
      .catch((err: unknown) => {
        if (err instanceof Stopping) return;
        this.d.logger.error({ rolloutId: r.id, err: (err as Error).message }, 'rollout failed');
        r.state = 'halted';
        r.message = `internal error: ${(err as Error).message}`;
        return this.save(r);
      })
      .finally(() => this.running.delete(r.id));
    this.running.set(r.id, p);
  }

  private async sleep(ms: number): Promise<void> {
    if (this.stopped) throw new Stopping();
    await new Promise((res) => setTimeout(res, ms).unref());
    if (this.stopped) throw new Stopping();
  }

  private async windowIsOpen(r: Rollout): Promise<boolean> {
    if (r.window === 'now') return true;
    return windowOpen((await this.policy.get()).window, this.now());
  }

  private async setRolloutState(r: Rollout, state: Rollout['state'], message: string, type?: string): Promise<void> {
    if (r.state === state && r.message === message) return;
    r.state = state;
    r.message = message;
    if (!ACTIVE_STATES.has(state)) r.finishedAt = this.now().toISOString();
    await this.save(r);
    if (type) await this.d.events.note({ type, actor: 'hub', message: `rollout ${r.id} to ${r.version}: ${message}`, data: { rolloutId: r.id, state } });
  }

  private async run(r: Rollout): Promise<void> {
    for (;;) {
      const open = await this.windowIsOpen(r);
      const left = r.nodes.filter((n) => !FINAL_PHASES.has(n.phase));
      if (!left.length) {
        const failed = r.nodes.filter((n) => n.phase === 'upgrade-failed' || n.phase === 'upgrade-blocked');
        await this.setRolloutState(r, 'done', `finished: ${r.nodes.filter((n) => n.phase === 'done').length} upgraded, ${r.nodes.filter((n) => n.phase === 'skipped').length} already there${failed.length ? `, ${failed.length} blocked` : ''}`, 'upgrade.done');
        return;
      }
      const inProgress = left.filter((n) => n.phase !== 'pending');
      if (this.cancelled.has(r.id) && !inProgress.length) {
        this.cancelled.delete(r.id);
        await this.setRolloutState(r, 'cancelled', `cancelled with ${left.length} node(s) not upgraded`, 'upgrade.cancelled');
        return;
      }
      const cp = r.controlPlane;
      if (cp && !CP_FINAL.has(cp.phase)) {
        if (cp.phase === 'pending' && this.cancelled.has(r.id)) {
          this.cancelled.delete(r.id);
          await this.setRolloutState(r, 'cancelled', 'cancelled before the control plane was upgraded; nothing changed', 'upgrade.cancelled');
          return;
        }
        if (cp.phase === 'pending' && !open) {
          const waiting = r.state === 'running' ? 'paused' : r.state;
          await this.setRolloutState(r, waiting, 'outside the maintenance window; the control plane and every node wait for the next one', waiting === 'paused' ? 'upgrade.paused' : undefined);
          await this.sleep(this.pollMs);
          continue;
        }
        if (r.state !== 'running') await this.setRolloutState(r, 'running', `upgrading the control plane ${cp.from} -> ${r.version}`, r.state === 'paused' ? 'upgrade.resumed' : 'upgrade.running');
        await this.upgradeControlPlane(r);
        if (r.controlPlane?.phase === 'upgrade-failed') {
          await this.setRolloutState(r, 'halted', `halted: the control plane upgrade failed (${r.controlPlane.message}); no node was changed`, 'upgrade.halted');
          return;
        }
        continue;
      }
      if (r.kind !== 'agent' && !this.d.controlPlane.client()) {
        await this.setRolloutState(r, r.state, r.state === 'running' ? 'waiting for the control plane' : r.message);
        await this.sleep(this.pollMs);
        continue;
      }
      const startable = open && !this.cancelled.has(r.id) ? left : inProgress;
      const batch = startable.slice(0, Math.max(r.maxUnavailable, inProgress.length));
      if (!batch.length) {
        const waiting = r.state === 'running' ? 'paused' : r.state;
        await this.setRolloutState(r, waiting, `outside the maintenance window; ${left.length} node(s) wait for the next one`, waiting === 'paused' ? 'upgrade.paused' : undefined);
        await this.sleep(this.pollMs);
        continue;
      }
      if (r.state !== 'running') await this.setRolloutState(r, 'running', `upgrading ${batch.map((n) => n.name).join(', ')}`, r.state === 'paused' ? 'upgrade.resumed' : 'upgrade.running');
      await Promise.all(batch.map((n) => (r.kind === 'agent' ? this.upgradeAgentNode(r, n) : this.upgradeNode(r, n))));
      const failed = batch.find((n) => n.phase === 'upgrade-failed');
      if (failed) {
        await this.setRolloutState(r, 'halted', `halted: ${failed.name} failed (${failed.message})${r.kind === 'agent' ? '' : `; it was rolled back to ${failed.from}`}`, 'upgrade.halted');
        return;
      }
    }
  }

  private async cpPhase(r: Rollout, phase: ControlPlanePhase, message: string): Promise<void> {
    const cp = r.controlPlane!;
    cp.phase = phase;
    cp.message = message;
    cp.startedAt ??= this.now().toISOString();
    if (CP_FINAL.has(phase)) cp.finishedAt = this.now().toISOString();
    await this.save(r);
    await this.d.events.note({ type: phase === 'upgrade-failed' ? 'upgrade.control-plane-failed' : 'upgrade.step', actor: 'hub', message: `control plane: ${phase}${message ? `: ${message}` : ''}`, data: { rolloutId: r.id, version: r.version, target: 'control-plane', phase } });
  }

  /** Whether the hub's k3s server serves `version`: running, kube API ready. */
  private cpServing(version: string): () => string | true {
    return () => {
      const info = this.d.controlPlane.info();
      if (this.d.controlPlane.version() !== version) return `k3s ${this.d.controlPlane.version() ?? 'none'} runs, not ${version}`;
      if (info.state !== 'running' || !this.d.controlPlane.client()) return `k3s server ${info.state}: ${info.message}`;
      return true;
    };
  }

  private cpFatal(): string | undefined {
    const info = this.d.controlPlane.info();
    return info.state === 'failed' ? `k3s server failed: ${info.message}` : undefined;
  }

  /** Control plane first: swap the server's binary, restart it, wait for the API; restore the old one if it does not come back. */
  private async upgradeControlPlane(r: Rollout): Promise<void> {
    const cp = r.controlPlane!;
    if (cp.phase === 'rollback') return this.rollbackControlPlane(r, cp.message);
    if (cp.phase === 'pending' || cp.phase === 'swap') {
      if (this.d.controlPlane.version() !== r.version) {
        await this.cpPhase(r, 'swap', `${cp.from} -> ${r.version}`);
        const art = this.d.artifacts.getK3s(r.version, this.d.controlPlane.arch());
        if (!art) return this.cpPhase(r, 'upgrade-failed', `no k3s ${r.version} artifact for ${this.d.controlPlane.arch()}; nothing was changed`);
        try {
          await this.d.controlPlane.upgradeTo(art);
        } catch (err) {
          if (err instanceof ManagedBinaryError) return this.cpPhase(r, 'upgrade-failed', err.message);
          return this.rollbackControlPlane(r, `the swap failed: ${(err as Error).message}`);
        }
      }
    }
    await this.cpPhase(r, 'verify', `API ready on ${r.version} for ${Math.round(r.dwellMs / 1000)}s within ${Math.round(r.verifyTimeoutMs / 1000)}s`);
    const ok = await this.waitUntil(this.cpServing(r.version), r.verifyTimeoutMs, r.dwellMs, () => this.cpFatal());
    if (ok !== true) return this.rollbackControlPlane(r, `verify failed: ${ok}`);
    await this.cpPhase(r, 'done', `upgraded ${cp.from} -> ${r.version}`);
  }

  private async rollbackControlPlane(r: Rollout, reason: string): Promise<void> {
    const cp = r.controlPlane!;
    await this.cpPhase(r, 'rollback', reason);
    if (this.d.controlPlane.version() !== cp.from) {
      try {
        await this.d.controlPlane.rollbackUpgrade();
      } catch (err) {
        return this.cpPhase(r, 'upgrade-failed', `${reason}; the rollback failed: ${(err as Error).message}`);
      }
    }
    const back = await this.waitUntil(this.cpServing(cp.from), r.verifyTimeoutMs, 0, () => this.cpFatal());
    await this.cpPhase(r, 'upgrade-failed', back === true ? `${reason}; restored k3s ${cp.from}, which serves again` : `${reason}; restored k3s ${cp.from}, but it is not serving (${back})`);
  }

  private async phase(r: Rollout, n: NodeProgress, phase: NodePhase, message: string): Promise<void> {
    n.phase = phase;
    n.message = message;
    n.startedAt ??= this.now().toISOString();
    if (FINAL_PHASES.has(phase)) n.finishedAt = this.now().toISOString();
    await this.save(r);
    await this.d.events.note({ type: phase === 'upgrade-failed' ? 'upgrade.node-failed' : 'upgrade.step', nodeId: n.id, pool: n.pool, actor: 'hub', message: `${n.name}: ${phase}${message ? `: ${message}` : ''}`, data: { rolloutId: r.id, version: r.version, phase } });
  }

  private async kube(): Promise<KubeClient> {
    for (;;) {
      const k = this.d.controlPlane.client();
      if (k) return k;
      await this.sleep(this.pollMs);
    }
  }

  /** Waits until `ok` holds (continuously for `dwellMs`) or `limitMs` passes; returns the last reason on failure. */
  private async waitUntil(ok: () => string | true | Promise<string | true>, limitMs: number, dwellMs = 0, fatal?: () => string | undefined): Promise<true | string> {
    const deadline = Date.now() + limitMs;
    let since = 0;
    for (;;) {
      const dead = fatal?.();
      if (dead) return dead;
      const v = await ok();
      if (v === true) {
        since ||= Date.now();
        if (Date.now() - since >= dwellMs) return true;
      } else {
        since = 0;
        if (Date.now() > deadline) return v;
      }
      if (Date.now() > deadline + dwellMs) return 'did not stay healthy for the dwell time';
      await this.sleep(Math.min(this.pollMs, 250));
    }
  }

  /** Whether the node serves on `version`: agent connected with k3s running, kube Node Ready on that kubeletVersion. */
  private serving(n: NodeProgress, version: string): () => string | true {
    return () => {
      const s = this.d.registry.snapshotOf(n.id);
      const kube = this.d.controlPlane.kubeNode(n.name);
      if (!s?.connected) return 'the agent is not connected';
      if (!kube) return 'no Kubernetes node';
      if (kube.ready !== true) return `the node is not Ready (${kube.readyReason || 'unknown'})`;
      if (kube.kubeletVersion !== version) return `kubelet runs ${kube.kubeletVersion}, not ${version}`;
      if (s.k3sState !== 'running') return `the agent reports k3s ${s.k3sState}`;
      return true;
    };
  }

  private async release(n: NodeProgress, why: string): Promise<void> {
    await this.d.registry.setWorkflow(n.id, null, why);
  }

  private async uncordon(r: Rollout, n: NodeProgress): Promise<void> {
    if (!n.cordoned) return;
    await (await this.kube()).uncordon(n.name);
    n.cordoned = false;
    await this.save(r);
  }

  private async upgradeNode(r: Rollout, n: NodeProgress): Promise<void> {
    const at = ORDER.indexOf(n.phase);
    if (n.phase === 'rollback') return this.rollback(r, n, n.message);
    if (at <= ORDER.indexOf('preflight')) {
      await this.phase(r, n, 'preflight', 'agent connected and node Ready?');
      const kube = this.d.controlPlane.kubeNode(n.name);
      if (kube?.kubeletVersion === r.version) return this.phase(r, n, 'skipped', `already on ${r.version}`);
      const ready = await this.waitUntil(this.serving(n, kube?.kubeletVersion ?? n.from), Math.min(r.verifyTimeoutMs, 30_000));
      if (ready !== true) return this.phase(r, n, 'upgrade-blocked', `preflight failed: ${ready}; nothing was changed`);
    }
    await this.d.registry.setWorkflow(n.id, 'upgrading', `k3s upgrade to ${r.version} (rollout ${r.id})`);
    const kube = await this.kube();
    if (at <= ORDER.indexOf('cordon')) {
      await this.phase(r, n, 'cordon', '');
      await kube.cordon(n.name);
      n.cordoned = true;
      await this.save(r);
    }
    if (at <= ORDER.indexOf('drain')) {
      await this.phase(r, n, 'drain', `timeout ${Math.round(r.drain.timeoutMs / 1000)}s${r.drain.force ? ', force' : ''}`);
      try {
        const res = await kube.drain(n.name, { timeoutMs: r.drain.timeoutMs, ignoreDaemonSets: r.drain.ignoreDaemonSets, deleteEmptyDirData: r.drain.deleteEmptyDirData, force: r.drain.force });
        await this.d.events.note({ type: 'upgrade.step', nodeId: n.id, pool: n.pool, actor: 'hub', message: `${n.name}: drained, ${res.evicted.length} pod(s) evicted`, data: { rolloutId: r.id, ...res } });
      } catch (err) {
        // Never changed: always uncordoned; the others go on.
        await this.uncordon(r, n);
        await this.release(n, 'upgrade blocked by its drain');
        return this.phase(r, n, 'upgrade-blocked', `drain did not finish: ${(err as Error).message}; uncordoned, not upgraded`);
      }
    }
    if (at <= ORDER.indexOf('swap')) {
      n.swapped = true;
      await this.phase(r, n, 'swap', `${n.from} -> ${r.version}`);
      await this.d.nodeK3s.setDesiredVersion(n.id, r.version);
    }
    if (at <= ORDER.indexOf('verify')) {
      await this.phase(r, n, 'verify', `Ready on ${r.version} for ${Math.round(r.dwellMs / 1000)}s within ${Math.round(r.verifyTimeoutMs / 1000)}s`);
      // A resumed verify re-sends the assignment (idempotent on the agent).
      if (at === ORDER.indexOf('verify')) await this.d.nodeK3s.setDesiredVersion(n.id, r.version);
      const ok = await this.waitUntil(this.serving(n, r.version), r.verifyTimeoutMs, r.dwellMs);
      if (ok !== true) return this.rollback(r, n, `verify failed: ${ok}`);
    }
    await this.phase(r, n, 'uncordon', '');
    await this.uncordon(r, n);
    await this.release(n, `k3s upgraded to ${r.version}`);
    await this.phase(r, n, 'done', `upgraded ${n.from} -> ${r.version}`);
  }

  private async upgradeAgentNode(r: Rollout, n: NodeProgress): Promise<void> {
    const hooks = { phase: (rr: Rollout, nn: NodeProgress, p: NodePhase, m: string) => this.phase(rr, nn, p, m), waitUntil: (ok: () => Promise<string | true>, limitMs: number, dwellMs: number) => this.waitUntil(ok, limitMs, dwellMs) };
    await this.d.registry.setWorkflow(n.id, 'upgrading', `agent upgrade to ${r.version} (rollout ${r.id})`);
    try {
      await this.agentUpgrader.upgrade(r, n, hooks);
    } finally {
      if (!this.stopped) await this.release(n, `agent upgrade to ${r.version}: ${n.phase}`);
    }
  }

  /** The agent goes back to its previous version (it kept the binary; the download is SHA-checked), then the node is uncordoned. */
  private async rollback(r: Rollout, n: NodeProgress, reason: string): Promise<void> {
    await this.phase(r, n, 'rollback', reason);
    await this.d.nodeK3s.setDesiredVersion(n.id, n.from);
    const back = await this.waitUntil(this.serving(n, n.from), r.verifyTimeoutMs);
    if (back === true) {
      await this.uncordon(r, n);
      await this.release(n, `k3s upgrade to ${r.version} failed and was rolled back`);
      await this.phase(r, n, 'upgrade-failed', `${reason}; rolled back to ${n.from} and uncordoned`);
    } else {
      await this.release(n, `k3s upgrade to ${r.version} failed; the rollback did not come back`);
      await this.phase(r, n, 'upgrade-failed', `${reason}; rolled back to ${n.from} but the node did not come back (${back}); left cordoned`);
    }
  }

  /** Agent versions across the fleet: what runs where, what the hub offers, and whether they differ (skew). */
  async agentVersions(): Promise<{ latest: string | null; available: string[]; running: Array<{ version: string; nodes: number }>; skew: boolean; behind: number }> {
    const available = this.d.artifacts.agents.list().map((b) => b.version);
    const latest = available.at(-1) ?? null;
    const counts = new Map<string, number>();
    for (const n of await this.d.store.listNodes()) counts.set(n.agentVersion, (counts.get(n.agentVersion) ?? 0) + 1);
    const running = [...counts].map(([version, nodes]) => ({ version, nodes })).sort((a, b) => compareAgentVersions(a.version, b.version));
    const behind = latest ? running.filter((x) => x.version !== latest).reduce((a, x) => a + x.nodes, 0) : 0;
    return { latest, available, running, skew: running.length > 1, behind };
  }

  /** Version information for GET /v1/cluster. */
  versionInfo(): { current: string | null; available: Array<{ version: string; kind: 'patch' | 'minor'; arches: string[] }>; endOfSupport: string | null } {
    const current = this.d.controlPlane.version();
    const byVersion = new Map<string, string[]>();
    for (const a of this.d.artifacts.listK3s()) byVersion.set(a.version, [...(byVersion.get(a.version) ?? []), a.arch]);
    const available: Array<{ version: string; kind: 'patch' | 'minor'; arches: string[] }> = [];
    if (current) {
      for (const [version, arches] of byVersion) {
        const move = classifyMove(current, version);
        if (move === 'patch' || move === 'minor') available.push({ version, kind: move, arches });
      }
    }
    let endOfSupport: string | null = null;
    if (current) {
      const newest = [...byVersion.keys(), `${KNOWN_LATEST_MINOR}.0+k3s1`].sort(compareK3sVersions).at(-1)!;
      const behind = minorDistance(current, newest);
      if (behind >= SUPPORTED_MINORS) endOfSupport = `k3s ${minorOf(current)} is older than the newest ${SUPPORTED_MINORS} minors (newest ${minorOf(newest)}): it is out of support; upgrade one minor at a time`;
    }
    return { current, available, endOfSupport };
  }

  /** With auto-upgrade on and the window open, upgrades to the newest imported artifact the scope allows. */
  async autoTick(): Promise<Rollout | undefined> {
    if (this.stopped) return undefined;
    const policy = await this.policy.get();
    if (!policy.enabled || !windowOpen(policy.window, this.now())) return undefined;
    if ((await this.rollouts.list()).some((r) => ACTIVE_STATES.has(r.state))) return undefined;
    const current = this.d.controlPlane.version();
    if (!current || !this.d.controlPlane.running()) return undefined;
    const members = await this.members(null);
    const lowest = [current, ...members.map((m) => m.version).filter(Boolean)].sort(compareK3sVersions)[0];
    const allowed = (policy.scope === 'minor' ? ['patch', 'minor'] : ['patch']) as string[];
    const candidates = [...new Set(this.d.artifacts.listK3s().map((a) => a.version))]
      .filter((v) => allowed.includes(classifyMove(current, v)) || (classifyMove(current, v) === 'same' && compareK3sVersions(lowest, v) < 0))
      .sort(compareK3sVersions);
    const target = candidates.at(-1);
    if (!target) return undefined;
    try {
      const s = policy.rollout;
      return await this.begin({
        version: target, window: 'next', maxUnavailable: s.maxUnavailable, dwell: s.dwell, verifyTimeout: s.verifyTimeout,
        ...(s.drainTimeout ? { drain: { timeout: s.drainTimeout } } : {}),
      }, 'auto-upgrade');
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== this.lastAutoRefusal) this.d.logger.warn({ target, err: msg }, 'auto-upgrade did not start');
      this.lastAutoRefusal = msg;
      return undefined;
    }
  }
}
