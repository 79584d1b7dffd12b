// Node lifespan: the leader replaces nodes older than their pool's maxNodeAge through the pool's
// provider hook, inside the maintenance window, a budget at a time (one per pool): the hook creates
// the new machine with the pool's cloud-init, the new node joins with the single-use token in it, and
// once it is Ready the old node is drained, removed and its machine deleted. Without a hook, each
// over-age node gets one `lifespan.exceeded` notice. A failed create leaves the old node, alerts
// (alert-source.ts) and backs off, doubling. Every step is stored before it is taken (state.ts).
import type { RolloutHeader } from '../store/types.js';
import type { Logger } from '../logger.js';
import type { AutohealSettings, PoolAutoheal } from '../autoheal/settings.js';
import { hookNode, runHook } from '../autoheal/hook.js';
import { parseDuration } from '../duration.js';
import { UpgradePolicy } from '../upgrades/policy.js';
import { windowOpen } from '../upgrades/window.js';
import { backoffMs, decideLifespan, type LifespanMember } from './decide.js';
import { loadLifespans, saveLifespan, type PoolLifespan, type Replacement } from './state.js';
import { retireNode, type RetireDeps } from './retire.js';
import { ACTOR, EXCEEDED, FAILED, STEP } from './events.js';

export interface LifespanDeps extends RetireDeps {
  logger: Logger;
  settings: AutohealSettings;
  /** A #cloud-config that joins a new machine to the pool, and the id of the fresh single-use token in it. */
  cloudInit(pool: string): Promise<{ doc: string; tokenId: string }>;
  intervalMs: number;
  /** Wall time (ms), the hub's clock. */
  now: () => number;
  /** Whether this hub leads lifespan (hub/cluster/leadership.ts); a tick elsewhere does nothing. */
  leads?: () => boolean;
  /** Whether autoheal's partition guard holds now. */
  frozen?: () => boolean;
  /** Replacements at a time per pool (default 1). */
  budget?: number;
}

export class LifespanEngine {
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private ticking = false;
  private readonly joined = new Map<string, number>();
  private readonly policy: UpgradePolicy;

  constructor(private readonly d: LifespanDeps) {
    this.policy = new UpgradePolicy(d.store);
  }

  start(): void {
    clearInterval(this.timer);
    // One tick at a time: a tick still running (a slow hook) makes the next ones skip, not queue.
    this.timer = setInterval(() => {
      if (this.ticking || (this.d.leads && !this.d.leads())) return;
      this.ticking = true;
      this.running = this.tick()
        .catch((err: unknown) => this.d.logger.error({ err }, 'lifespan tick failed'))
        .finally(() => (this.ticking = false));
    }, this.d.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async tick(): Promise<void> {
    const pools = await this.d.store.listPools();
    const nodes = this.d.registry.snapshot();
    const live = new Set(nodes.map((n) => n.id));
    for (const id of this.joined.keys()) if (!live.has(id)) this.joined.delete(id);
    const states = await loadLifespans(
      this.d.store,
      pools.map((p) => p.name),
    );
    const policy = await this.policy.get();
    const open = windowOpen(policy.window, new Date(this.d.now()));
    const rollouts = await this.d.store.listRollouts<RolloutHeader & { pools?: string[] | null }>({ active: true });
    for (const pool of pools) {
      const state = states.get(pool.name)!;
      if (!pool.maxNodeAge && state.inFlight.length === 0 && state.noticed.length === 0 && !state.failures) continue;
      const ps = await this.d.settings.pool(pool.name);
      const members = nodes.filter((n) => n.pool === pool.name);
      const before = JSON.stringify(state);
      for (const r of [...state.inFlight]) await this.progress(pool.name, r, state, ps);
      // Bookkeeping of nodes that are gone.
      const ids = new Set(members.map((m) => m.id));
      state.noticed = state.noticed.filter((id) => ids.has(id));
      for (const id of Object.keys(state.machines)) if (!ids.has(id)) delete state.machines[id];
      // Failures of a setting that changed since (no hook, no lifespan) are history, not a problem.
      if ((!pool.maxNodeAge || !ps.hook) && state.inFlight.length === 0) {
        state.failures = 0;
        state.backoffUntil = 0;
        state.lastError = null;
      }
      if (pool.maxNodeAge) {
        const list: LifespanMember[] = [];
        for (const m of members) list.push({ ...m, joinedAt: await this.joinedAt(m.id) });
        const decision = decideLifespan({
          maxNodeAgeMs: parseDuration(pool.maxNodeAge),
          hasHook: Boolean(ps.hook),
          windowOpen: open,
          frozen: this.d.frozen?.() ?? false,
          rolloutActive: rollouts.some((r) => !r.pools || r.pools.includes(pool.name)),
          budget: this.d.budget ?? 1,
          inFlight: state.inFlight.length,
          backoffUntil: state.backoffUntil,
          now: this.d.now(),
          members: list,
          busy: new Set(state.inFlight.flatMap((r) => [r.oldId, ...(r.newId ? [r.newId] : [])])),
          noticed: state.noticed,
        });
        for (const n of decision.notices) {
          state.noticed.push(n.id);
          await this.d.events.note({
            type: EXCEEDED,
            nodeId: n.id,
            pool: pool.name,
            actor: ACTOR,
            message: `${n.name} is older than pool ${pool.name}'s maxNodeAge (${pool.maxNodeAge}); the pool has no provider hook, so replace it by hand (lifespan-exceeded)`,
            data: { maxNodeAge: pool.maxNodeAge, joinedAt: new Date(n.joinedAt).toISOString() },
          });
        }
        if (decision.replace) await this.create(pool.name, decision.replace, state, ps);
      } else state.noticed = [];
      if (JSON.stringify(state) !== before) await saveLifespan(this.d.store, pool.name, state);
    }
  }

  private async joinedAt(id: string): Promise<number> {
    let t = this.joined.get(id);
    if (t === undefined) {
      const rec = await this.d.store.getNode(id);
      t = rec ? Date.parse(rec.createdAt) : this.d.now();
      this.joined.set(id, t);
    }
    return t;
  }

  private async note(type: string, pool: string, nodeId: string, message: string, data = {}): Promise<void> {
    await this.d.events.note({ type, nodeId, pool, actor: ACTOR, message, data });
  }

  /** Asks the hook for a new machine; the step is stored first, so a restart meanwhile never asks twice. */
  private async create(pool: string, old: LifespanMember, state: PoolLifespan, ps: PoolAutoheal): Promise<void> {
    const init = await this.d.cloudInit(pool);
    const r: Replacement = {
      oldId: old.id,
      oldName: old.name,
      tokenId: init.tokenId,
      machineId: null,
      requestedAt: new Date(this.d.now()).toISOString(),
      phase: 'creating',
    };
    state.inFlight.push(r);
    await saveLifespan(this.d.store, pool, state);
    await this.note(STEP, pool, old.id, `${old.name} is over its age: asking the provider hook for a replacement`, {
      action: 'create',
      tokenId: init.tokenId,
    });
    const res = await runHook(ps.hook!, { action: 'create', pool, cloudInit: init.doc });
    if (!res.ok) {
      state.inFlight = state.inFlight.filter((x) => x !== r);
      await this.fail(
        pool,
        old.id,
        state,
        ps,
        `${old.name}: the provider hook could not create a replacement: ${res.message}`,
      );
      return;
    }
    r.machineId = res.machineId ?? null;
    r.phase = 'waiting';
    await saveLifespan(this.d.store, pool, state);
    await this.note(
      STEP,
      pool,
      old.id,
      `${old.name}: replacement machine ${r.machineId ?? '(no id)'} created; waiting for it to join and be Ready`,
      { action: 'create', machineId: r.machineId },
    );
  }

  private async fail(pool: string, nodeId: string, state: PoolLifespan, ps: PoolAutoheal, why: string): Promise<void> {
    state.failures++;
    const wait = backoffMs(state.failures, parseDuration(ps.cooldownMin), parseDuration(ps.cooldownMax));
    state.backoffUntil = this.d.now() + wait;
    state.lastError = why;
    await this.note(
      FAILED,
      pool,
      nodeId,
      `${why}; the old node stays; failure ${state.failures}, next try in ${Math.round(wait / 1000)} s (after ${new Date(state.backoffUntil).toISOString()})`,
      { failures: state.failures, backoffMs: wait },
    );
  }

  /** Moves a replacement on: the new node Ready retires the old one; too long a wait fails it. */
  private async progress(pool: string, r: Replacement, state: PoolLifespan, ps: PoolAutoheal): Promise<void> {
    if (r.phase === 'creating') {
      // The hub stopped while the hook ran: whether it made a machine is not known. Never ask again:
      // the token is single-use, so at most one machine joins with it; wait for it as for any other.
      r.phase = 'waiting';
      await this.note(
        STEP,
        pool,
        r.oldId,
        `${r.oldName}: the hub restarted during the create; waiting for a machine that joins with token ${r.tokenId}`,
      );
    }
    if (r.phase === 'waiting') {
      const fresh = this.d.registry
        .snapshot()
        .filter((m) => m.pool === pool && m.id !== r.oldId && m.connected && m.state === 'ready');
      for (const m of fresh) {
        if ((await this.d.store.getNode(m.id))?.tokenId === r.tokenId) {
          r.newId = m.id;
          break;
        }
      }
      if (!r.newId) {
        if (this.d.now() - Date.parse(r.requestedAt) > parseDuration(ps.replaceTimeout)) {
          state.inFlight = state.inFlight.filter((x) => x !== r);
          if (r.machineId && ps.hook) await this.deleteUnjoined(pool, r, ps.hook);
          await this.fail(
            pool,
            r.oldId,
            state,
            ps,
            `${r.oldName}: the replacement was not Ready within ${ps.replaceTimeout}`,
          );
        }
        return;
      }
      if (r.machineId) state.machines[r.newId] = r.machineId;
      r.phase = 'retiring';
      await saveLifespan(this.d.store, pool, state);
      const name = this.d.registry.snapshotOf(r.newId)?.name ?? r.newId;
      await this.note(
        STEP,
        pool,
        r.oldId,
        `${r.oldName}: replacement ${name} is Ready; draining and removing the old node`,
        {
          action: 'retire',
          replacement: r.newId,
        },
      );
    }
    await retireNode(this.d, {
      id: r.oldId,
      name: r.oldName,
      pool,
      machineId: state.machines[r.oldId] ?? (await this.autohealMachineId(r.oldId)),
      hook: ps.hook,
      drainTimeoutMs: parseDuration(ps.drainTimeout),
    });
    state.inFlight = state.inFlight.filter((x) => x !== r);
    delete state.machines[r.oldId];
    state.failures = 0;
    state.backoffUntil = 0;
    state.lastError = null;
  }

  /** A machine that never became a Ready node in time is deleted through the hook (by its machine id only). */
  private async deleteUnjoined(pool: string, r: Replacement, hook: string): Promise<void> {
    const res = await runHook(hook, {
      action: 'delete',
      pool,
      node: hookNode(undefined, { id: '', name: '' }, r.machineId, []),
    });
    await this.note(
      res.ok ? STEP : FAILED,
      pool,
      r.oldId,
      res.ok
        ? `${r.oldName}: machine ${r.machineId} never became a Ready node; deleted through the provider hook`
        : `${r.oldName}: machine ${r.machineId} never became a Ready node, and the provider hook could not delete it: ${res.message}`,
      { action: 'delete', machineId: r.machineId, ok: res.ok },
    );
  }

  /** The machine id autoheal recorded for a node its replace made, if any. */
  private async autohealMachineId(id: string): Promise<string | null> {
    const rec = await this.d.store.getAutohealRecord<{ machineId?: string | null }>(id);
    return rec?.machineId ?? null;
  }
}
