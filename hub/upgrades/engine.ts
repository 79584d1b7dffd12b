// Rolling upgrades of the pools, k3s (control plane first) or the agents themselves. This module
// owns the rollouts' lifecycle: start one (admission.ts refuses what must not happen before anything
// changes), run it (rollout-loop.ts over control-plane-swap.ts and node-phases.ts), cancel it, act on
// a halted one (halted.ts), resume active ones after a hub restart (progress is stored after every
// step, rollout-state.ts), the auto-upgrade ticker (auto-upgrade.ts) and the version report.
import { randomBytes } from 'node:crypto';
import type { Store } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { NodeRegistry } from '../nodes/registry.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import type { NodeK3s } from '../k3s/node-k3s.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { AutohealSettings } from '../autoheal/settings.js';
import { systemClock, type Clock } from '../clock.js';
import { CancelRequests } from './cancel-requests.js';
import { HubError } from '../errors.js';
import { UpgradePolicy } from './policy.js';
import { ACTIVE_STATES, RolloutStore, type Rollout } from './rollout-state.js';
import { applyHaltedAction, type HaltedAction } from './halted.js';
import { Admission, type AgentUpgradeRequest, type RolloutSpec, type UpgradeRequest } from './admission.js';
import { RolloutRuntime, Stopping } from './runtime.js';
import { ControlPlaneSwap } from './control-plane-swap.js';
import { NodePhases } from './node-phases.js';
import { RolloutLoop } from './rollout-loop.js';
import { AutoUpgrade } from './auto-upgrade.js';
import type { VersionSupport } from '../versions/support-status.js';
import { agentVersionInfo, k3sVersionInfo, type AgentVersionInfo, type K3sVersionInfo } from './version-report.js';

export type { AgentUpgradeRequest, UpgradeRequest } from './admission.js';

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
  /** Wall time stamps progress and opens windows; monotonic time measures waits and dwell (default: the system's). */
  clock?: Clock;
  /** How a wait lets time pass (default a timer; tests advance a fake clock). */
  sleep?: (ms: number) => Promise<void>;
  /** A k3s version's support status now: auto-upgrade moves a cluster past its end of life (auto-target.ts). */
  versionSupport?: (version: string) => VersionSupport;
  /**
   * Whether this hub leads the upgrades (hub/cluster/leadership.ts; default: always). A rollout made on
   * another hub is only stored (through `unfenced`, since `store` fences its writes); the leader adopts it.
   * The operator's auto-upgrade policy and cancel requests are written through `unfenced` too (any hub).
   */
  leads?: () => boolean;
  unfenced?: Store;
  /** Several hubs: what an agent connected to another hub last reported (node-phases.ts). */
  heldElsewhere?: (nodeId: string) => Promise<{ k3sState: string } | undefined>;
}

/** How often the leader looks for active rollouts it does not run yet (made on another hub, or a leader's). */
const ADOPT_MS = 2000;

export class UpgradeEngine {
  readonly policy: UpgradePolicy;
  private readonly rollouts: RolloutStore;
  private readonly running = new Map<string, Promise<void>>();
  private readonly cancelled = new Set<string>();
  private readonly rt: RolloutRuntime;
  private readonly admission: Admission;
  private readonly loop: RolloutLoop;
  private readonly auto: AutoUpgrade;
  private adopter?: NodeJS.Timeout;
  private readonly cancels: CancelRequests;

  constructor(private readonly d: UpgradeEngineDeps) {
    const clock = d.clock ?? systemClock;
    this.policy = new UpgradePolicy(d.unfenced ?? d.store);
    this.rollouts = new RolloutStore(d.store);
    this.rt = new RolloutRuntime({
      rollouts: this.rollouts,
      events: d.events,
      logger: d.logger,
      controlPlane: d.controlPlane,
      clock,
      pollMs: d.pollMs ?? 500,
      sleep: d.sleep ?? ((ms) => new Promise((res) => setTimeout(res, ms).unref())),
    });
    this.admission = new Admission({ ...d, rollouts: this.rollouts });
    this.cancels = new CancelRequests(d.unfenced ?? d.store, this.cancelled);
    this.loop = new RolloutLoop(
      {
        events: d.events,
        controlPlane: d.controlPlane,
        policy: this.policy,
        cancelled: this.cancelled,
        refreshCancel: (id) => this.cancels.refresh(id),
        controlPlaneSwap: new ControlPlaneSwap(d, this.rt),
        nodes: new NodePhases(d, this.rt),
      },
      this.rt,
    );
    this.auto = new AutoUpgrade({
      policy: this.policy,
      rollouts: this.rollouts,
      controlPlane: d.controlPlane,
      artifacts: d.artifacts,
      logger: d.logger,
      clock,
      members: (pools) => this.admission.members(pools),
      begin: (req, actor) => this.begin(req, actor),
      intervalMs: d.autoTickMs ?? 30_000,
      support: d.versionSupport,
      notices: { store: d.store, events: d.events },
    });
  }

  /** Resumes stored rollouts that were active when the hub stopped; starts the auto-upgrade ticker. */
  /** Also when this hub becomes the leader: it goes on from each rollout's stored step. Restartable after stop(). */
  async start(): Promise<void> {
    this.rt.resume();
    await this.adopt('after a hub restart');
    this.auto.start();
    this.adopter = setInterval(
      () =>
        void this.adopt('on this hub').catch((err: unknown) =>
          this.d.logger.warn({ err: (err as Error).message }, 'looking for rollouts to run failed'),
        ),
      ADOPT_MS,
    );
    this.adopter.unref();
  }

  private async adopt(why: string): Promise<void> {
    for (const r of await this.rollouts.list()) {
      if (!ACTIVE_STATES.has(r.state) || this.running.has(r.id) || this.rt.isStopped) continue;
      await this.d.events.note({
        type: 'upgrade.resumed',
        actor: 'hub',
        message: `rollout ${r.id} to ${r.version} resumes ${why} from its stored step`,
        data: { rolloutId: r.id },
      });
      this.launch(r);
    }
  }

  /** Also when this hub stops leading: running rollouts end at their next wait; their writes are fenced. */
  async stop(): Promise<void> {
    clearInterval(this.adopter);
    this.rt.stop();
    this.auto.stop();
    await Promise.allSettled([...this.running.values()]);
    await this.rt.flushed();
  }

  list(): Promise<Rollout[]> {
    return this.rollouts.list();
  }

  get(id: string): Promise<Rollout | undefined> {
    return this.rollouts.get(id);
  }

  /** Starts a rollout, or throws HubError CONFLICT with every refusal reason (nothing changed). */
  async begin(req: UpgradeRequest, actor: string): Promise<Rollout> {
    return this.create(await this.admission.k3s(req, actor), actor);
  }

  /** Starts an agent self-upgrade rollout, or throws HubError CONFLICT with every refusal reason (nothing changed). */
  async beginAgent(req: AgentUpgradeRequest, actor: string): Promise<Rollout> {
    return this.create(await this.admission.agent(req, actor), actor);
  }

  /** Stops an active rollout before its next node (a node in progress finishes). */
  async cancel(id: string, actor: string): Promise<Rollout> {
    const r = await this.rollouts.get(id);
    if (!r) throw new HubError('NOT_FOUND', `rollout ${id} does not exist`);
    if (!ACTIVE_STATES.has(r.state)) throw new HubError('CONFLICT', `rollout ${id} is ${r.state}`);
    await this.cancels.request(id, actor);
    await this.d.events.record({
      type: 'upgrade.cancel',
      actor,
      message: `rollout ${id} cancel requested; a node in progress finishes first`,
      data: { rolloutId: id },
    });
    return r;
  }

  /** Resumes, retries or dismisses a halted rollout (halted.ts); resume and retry run it again. */
  async actOnHalted(id: string, action: HaltedAction, actor: string): Promise<Rollout> {
    const r = await this.rollouts.get(id);
    if (!r) throw new HubError('NOT_FOUND', `rollout ${id} does not exist`);
    const active =
      action === 'dismiss'
        ? undefined
        : (await this.rollouts.list()).find((x) => x.id !== id && ACTIVE_STATES.has(x.state));
    if (active)
      throw new HubError(
        'CONFLICT',
        `rollout ${active.id} to ${active.version} is ${active.state}; one rollout at a time`,
        { rolloutId: active.id },
      );
    if (this.running.has(id)) throw new HubError('CONFLICT', `rollout ${id} is still stopping; try again in a moment`);
    const note = applyHaltedAction(r, action, actor, this.rt.now().toISOString());
    const leads = await this.keep(r);
    await this.d.events.record({ type: note.type, actor, message: note.message, data: { rolloutId: id, action } });
    if (note.run && leads) this.launch(r); // else the leader adopts it
    return r;
  }

  /** Agent versions across the fleet: what runs where, what the hub offers, and whether they differ (skew). */
  agentVersions(): Promise<AgentVersionInfo> {
    return agentVersionInfo(this.d.store, this.d.artifacts);
  }

  /** Version information for GET /v1/cluster. */
  versionInfo(): K3sVersionInfo {
    return k3sVersionInfo(this.d.controlPlane, this.d.artifacts);
  }

  /** With auto-upgrade on and the window open, upgrades to the newest imported artifact the scope allows. */
  autoTick(): Promise<Rollout | undefined> {
    return this.auto.tick();
  }

  /** Stores a new rollout (every node pending), records upgrade.started and runs it. */
  private async create({ spec, what }: RolloutSpec, actor: string): Promise<Rollout> {
    const at = this.rt.now().toISOString();
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
      nodes: spec.nodes.map((n) => ({
        ...n,
        phase: 'pending',
        startedAt: null,
        finishedAt: null,
        message: '',
        cordoned: false,
        swapped: false,
      })),
    };
    const leads = await this.keep(r);
    const pools = r.pools;
    await this.d.events.record({
      type: 'upgrade.started',
      actor,
      message: `rollout ${r.id}: ${what}${r.nodes.length} node(s)${pools ? ` in ${pools.join(', ')}` : ''}, ${r.maxUnavailable} at a time, window ${r.window}`,
      data: {
        rolloutId: r.id,
        ...(r.kind === 'agent' ? { kind: 'agent' } : {}),
        version: r.version,
        pools,
        nodes: r.nodes.map((n) => n.id),
      },
    });
    if (leads) this.launch(r);
    return r;
  }

  /** Stores a rollout an operator changed: fenced on the leader, else unfenced for the leader to adopt. */
  private async keep(r: Rollout): Promise<boolean> {
    const leads = this.d.leads?.() ?? true;
    if (leads || !this.d.unfenced) await this.rollouts.save(r);
    else await this.d.unfenced.saveRollout({ ...r, updatedAt: new Date().toISOString() } as Rollout);
    return leads;
  }

  private launch(r: Rollout): void {
    if (this.running.has(r.id)) return;
    const p = this.loop
      .run(r)
      .catch((err: unknown) => {
        if (err instanceof Stopping) return;
        this.d.logger.error({ rolloutId: r.id, err: (err as Error).message }, 'rollout failed');
        r.state = 'halted';
        r.message = `internal error: ${(err as Error).message}`;
        return this.rt.save(r);
      })
      .finally(() => this.running.delete(r.id));
    this.running.set(r.id, p);
  }
}
