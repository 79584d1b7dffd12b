// The built-in autoscaler (issue 19), run by the leader of the 'autoscale' role: every interval it
// reads the cluster (kube-view.ts), and per pool that has autoscale on or a target set by hand:
// follows its machines in flight (machines.ts), scales up for unschedulable pods (bin-pack.ts) or up
// to its target/minSize, and scales down one idle node at a time (scale-down.ts). Autoheal's partition
// guard freezes it. Every decision is an event (decision-log.ts).
import { externallyDrivenPools } from './grpc/external-drive.js';
import type { NodeRecord, Pool } from '../store/types.js';
import { planScaleUp, type PoolCandidate } from './bin-pack.js';
import { DecisionLog } from './decision-log.js';
import type { AutoscaleDeps } from './deps.js';
import { autoscaleHookProblem } from './hook-support.js';
import { clusterView, type ClusterView } from './kube-view.js';
import { Machines } from './machines.js';
import { resourcesOf } from './quantity.js';
import { scaleDownStep } from './scale-down-step.js';
import { parseTaint, type NodeShape, type NodeView, type Taint } from './shapes.js';
import { readState, updateState } from './state.js';

export interface PoolGauge {
  size: number;
  target: number;
  min: number;
  max: number;
  unschedulable: number;
  /** Failures in a row (hook create or delete, machines not Ready in time); 0 after a success. */
  failures: number;
}

const HOOK_CHECK_MS = 5 * 60_000;

export class AutoscaleEngine {
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private ticking = false;
  private readonly now: () => number;
  readonly log: DecisionLog;
  private readonly machines: Machines;
  private readonly hookChecks = new Map<string, { at: number; hook: string; problem: string | undefined }>();
  /** What the metrics read: per pool, from the last tick. */
  readonly gauges = new Map<string, PoolGauge>();
  /** Unschedulable pods seen at the last tick that no pool scales up for, by reason (no-pool-fits, max-size). */
  readonly unplaced = new Map<string, number>();

  constructor(private readonly d: AutoscaleDeps) {
    this.now = d.now ?? Date.now;
    this.log = new DecisionLog(d.events, Math.max(60_000, d.intervalMs * 6), this.now);
    this.machines = new Machines(d, this.log, this.now);
  }

  start(): void {
    clearInterval(this.timer);
    // One tick at a time: a tick still running (a slow hook) makes the next ones skip, not queue.
    this.timer = setInterval(() => {
      if (!this.d.leads()) {
        // Another hub leads: its series are the live ones; this one's last tick would go stale.
        this.gauges.clear();
        this.unplaced.clear();
        return;
      }
      if (this.ticking) return;
      this.ticking = true;
      this.running = this.tick()
        .catch((err: unknown) => this.d.logger.error({ err }, 'autoscale tick failed'))
        .finally(() => (this.ticking = false));
    }, this.d.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Failed hook calls since this hub started, per `<pool>\n<action>`. */
  get hookFailures(): ReadonlyMap<string, number> {
    return this.machines.hookFailures;
  }

  async tick(): Promise<void> {
    const client = this.d.controlPlane.client();
    if (!client) return;
    this.unplaced.clear();
    const all = await Promise.all(
      (await this.d.store.listPools()).map(async (p) => [p, await readState(this.d.store, p.name)] as const),
    );
    // One autoscaler per pool: a pool cluster-autoscaler drives (externalgrpc) is left to it.
    const external = await externallyDrivenPools(this.d.store, this.now());
    const wanted = all
      .filter(([p, s]) => p.autoscale.enabled || s.target !== null || s.inFlight.length > 0)
      .map(([p]) => p);
    for (const p of wanted.filter((x) => external.has(x.name)))
      await this.log.whyNot(
        p.name,
        'external',
        `pool ${p.name}: an external autoscaler drives it; the built-in one steps aside`,
      );
    const active = wanted.filter((p) => !external.has(p.name));
    if (active.length === 0) return;
    const guard = this.d.guard();
    if (guard.frozen) {
      for (const p of active)
        await this.log.whyNot(
          p.name,
          'partition-guard',
          `pool ${p.name}: autoscale frozen by autoheal's partition guard (${guard.reason})`,
        );
      return;
    }
    const view = clusterView(await client.cluster());
    const records = await this.d.store.listNodes();
    const unschedulable = view.pods.filter((p) => p.unschedulable && !p.node && !p.finished);
    const candidates: PoolCandidate[] = [];
    const hooks = new Map<string, string>();
    for (const pool of active) {
      const hook = await this.hookFor(pool);
      const state = await readState(this.d.store, pool.name);
      const nodes = records.filter((n) => n.pool === pool.name);
      const ready = (name: string): boolean => view.nodes.some((n) => n.name === name && n.ready);
      await this.machines.reconcile(pool, hook ?? null, state, nodes, ready);
      const fresh = await readState(this.d.store, pool.name);
      const size = nodes.length;
      this.gauges.set(pool.name, {
        size,
        target: fresh.target ?? size + fresh.inFlight.length,
        min: pool.minSize,
        max: pool.maxSize,
        unschedulable: 0,
        failures: fresh.failures,
      });
      if (!hook) continue;
      hooks.set(pool.name, hook);
      if (this.now() < fresh.backoffUntil) {
        await this.log.whyNot(pool.name, 'backoff', `pool ${pool.name}: waiting after ${fresh.failures} failure(s)`);
        continue;
      }
      const pending = fresh.inFlight.length;
      const floor = Math.min(pool.maxSize, Math.max(pool.minSize, fresh.target ?? 0));
      if (size + pending < floor) {
        await this.machines.create(pool, hook, floor - size - pending, `to reach size ${floor}`);
        continue;
      }
      const shape = this.shapeOf(pool, nodes, view);
      if (pool.autoscale.enabled && shape)
        candidates.push({ pool: pool.name, shape, pending, room: Math.max(0, pool.maxSize - size - pending) });
      else if (pool.autoscale.enabled)
        await this.log.whyNot(
          pool.name,
          'no-template',
          `pool ${pool.name}: no Ready node to take a node template from, and no autoscale.template`,
        );
    }
    if (unschedulable.length > 0) await this.scaleUp(unschedulable, candidates, hooks, active);
    for (const pool of active) {
      const hook = hooks.get(pool.name);
      if (hook)
        await scaleDownStep(
          { d: this.d, log: this.log, machines: this.machines, now: this.now },
          pool,
          hook,
          records,
          view,
        );
    }
  }

  private async scaleUp(
    pods: ClusterView['pods'],
    candidates: PoolCandidate[],
    hooks: Map<string, string>,
    active: Pool[],
  ): Promise<void> {
    const plan = planScaleUp(pods, candidates);
    for (const [pool, ids] of plan.placed) {
      const g = this.gauges.get(pool);
      if (g) g.unschedulable = ids.length;
    }
    const byReason = new Map<string, string[]>();
    for (const n of plan.notPlaced) byReason.set(n.reason, [...(byReason.get(n.reason) ?? []), n.pod]);
    for (const [reason, ids] of byReason) this.unplaced.set(reason, ids.length);
    for (const [reason, ids] of byReason) {
      const data = { pods: ids.slice(0, 20), count: ids.length };
      if (reason === 'no-pool-fits')
        await this.log.whyNot(
          null,
          reason,
          `no scale-up for ${ids.length} unschedulable pod(s): no autoscaled pool has a node they would fit (node selector, taints or size)`,
          data,
        );
      else
        for (const c of candidates.filter((x) => x.room === 0))
          await this.log.whyNot(
            c.pool,
            reason,
            `pool ${c.pool}: no scale-up for ${ids.length} unschedulable pod(s): the pool is at maxSize`,
            data,
          );
    }
    for (const [pool, n] of plan.adds) {
      const p = active.find((x) => x.name === pool);
      const hook = hooks.get(pool);
      if (!p || !hook) continue;
      const c = candidates.find((x) => x.pool === pool);
      const size = this.gauges.get(pool)?.size ?? 0;
      await updateState(this.d.store, pool, (s) => {
        s.target = Math.min(p.maxSize, size + (c?.pending ?? 0) + n);
      });
      const g = this.gauges.get(pool);
      if (g) g.target = Math.min(p.maxSize, size + (c?.pending ?? 0) + n);
      await this.machines.create(p, hook, n, `${plan.placed.get(pool)?.length ?? 0} unschedulable pod(s)`);
    }
  }

  /** The pool's hook when it supports create and delete (checked every 5 min), else undefined with an event. */
  private async hookFor(pool: Pool): Promise<string | undefined> {
    const hook = (await this.d.autohealSettings.pool(pool.name)).hook;
    const cached = this.hookChecks.get(pool.name);
    let problem = cached?.problem;
    if (!cached || cached.hook !== hook || this.now() - cached.at > HOOK_CHECK_MS) {
      problem = await autoscaleHookProblem(hook, pool.name);
      this.hookChecks.set(pool.name, { at: this.now(), hook: hook ?? '', problem });
    }
    if (problem) {
      await this.log.whyNot(pool.name, 'hook', `pool ${pool.name}: ${problem}`);
      return undefined;
    }
    return hook ?? undefined;
  }

  /** A new node of the pool: the resources of its largest Ready node, the labels all its nodes share, its taints. */
  private shapeOf(pool: Pool, nodes: NodeRecord[], view: ClusterView): NodeShape | undefined {
    const names = new Set(nodes.map((n) => n.name));
    const kube: NodeView[] = view.nodes.filter((n) => names.has(n.name) && n.ready);
    const taints = pool.taints.map(parseTaint).filter((t): t is Taint => t !== undefined);
    const template = pool.autoscale.template;
    if (kube.length === 0)
      return template ? { allocatable: resourcesOf(template), labels: { ...pool.labels }, taints } : undefined;
    const biggest = kube.reduce((a, b) => (b.allocatable.cpu > a.allocatable.cpu ? b : a));
    const shared = Object.fromEntries(
      Object.entries(kube[0].labels).filter(
        ([k, v]) => k !== 'kubernetes.io/hostname' && kube.every((n) => n.labels[k] === v),
      ),
    );
    return { allocatable: biggest.allocatable, labels: { ...shared, ...pool.labels }, taints };
  }
}
