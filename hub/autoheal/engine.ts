// Autoheal: notices sick and lost nodes and works through a remediation ladder (restart k3s,
// reboot, replace), with guards that keep it from making an outage worse: a partition guard, a
// pool cap, paced repairs, flap detection and exclusions. Every step, timer and count is durable
// (store settings), so a hub restart neither repeats a step nor forgets one. Every decision,
// including a decision not to act, is an event (once per change).
import type { Store, NodeRecord } from '../store/types.js';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { NodeRegistry, NodeSnapshot } from '../nodes/registry.js';
import type { ControlPlane } from '../k3s/control-plane.js';
import { parseDuration } from '../duration.js';
import { AutohealSettings, allowedUnhealthy, type PoolAutoheal } from './settings.js';
import { runHook } from './hook.js';

export type Condition = 'healthy' | 'degraded' | 'unreachable' | 'link-problem';

export interface NodeHeal {
  condition: Condition;
  since: string;
  unhealthySince: string | null;
  /** 0: nothing done yet in this ladder; 1: k3s restarted; 2: rebooted; 3: replaced / handed over. */
  step: number;
  ladders: number;
  attempts: number;
  lastAction: string | null;
  lastActionAt: string | null;
  healthySince: string | null;
  /** Times the node turned healthy <-> unhealthy (for flap detection). */
  flips: string[];
  flapping: boolean;
  /** The node was cordoned by a reboot's drain: uncordon it once healthy. */
  cordonedByUs: boolean;
  /** A step was taken and not yet proven (healthy for provenAfter) or failed. */
  unproven: boolean;
  replacement: { requestedAt: string; machineId: string | null } | null;
  lastDecision: string;
  forced: boolean;
}

export interface GuardState {
  frozen: boolean;
  reason: string;
  since: string | null;
}

export interface AutohealDeps {
  store: Store;
  events: EventLog;
  registry: NodeRegistry;
  controlPlane: ControlPlane;
  logger: Logger;
  settings: AutohealSettings;
  /** Removes a node the way DELETE /v1/nodes/{id} does. */
  removeNode(id: string, actor: string): Promise<boolean>;
  /** A #cloud-config that joins a new machine to the pool (fresh single-use token). */
  cloudInit(pool: string): Promise<string>;
  intervalMs: number;
  /** Mass-drop window of the partition guard (default 2 min). */
  guardWindowMs: number;
  /** No action right after a hub start: agents are still reconnecting. */
  startupGraceMs: number;
  /** Flap window (default 15 min); more than 2 changes in it mark a node flapping. */
  flapWindowMs: number;
  now?: () => number;
}

const KEY = (id: string): string => `autoheal.node.${id}`;
const PACING_KEY = (pool: string): string => `autoheal.pool.${pool}.pacing`;
const ACTOR = 'autoheal';
const MAX_LADDERS = 3;

function freshRecord(condition: Condition, at: string): NodeHeal {
  return {
    condition, since: at, unhealthySince: null, step: 0, ladders: 0, attempts: 0, lastAction: null, lastActionAt: null,
    healthySince: null, flips: [], flapping: false, cordonedByUs: false, unproven: false, replacement: null, lastDecision: '', forced: false,
  };
}

export function classify(n: NodeSnapshot): Condition {
  // Connected: what the reports say (reasons stay current in workflow states too).
  if (n.connected) return n.state === 'degraded' || n.reasons.some((r) => r !== 'no-report') ? 'degraded' : 'healthy';
  // Lost agent: a kube Node that is still Ready means only our link broke.
  if (n.kube?.ready === true) return 'link-problem';
  return n.state === 'unreachable' || n.state === 'remediating' || n.state === 'needs-attention' ? 'unreachable' : 'healthy';
}

export class AutohealEngine {
  private timer?: NodeJS.Timeout;
  private readonly startedAt: number;
  private guard: GuardState = { frozen: false, reason: '', since: null };
  private running: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly inFlight = new Set<string>();
  private graceOver = false;
  private clearSince?: number;
  private unfrozenAt = 0;
  private readonly cache = new Map<string, NodeHeal | undefined>();

  constructor(private readonly d: AutohealDeps) {
    this.now = d.now ?? Date.now;
    this.startedAt = this.now();
  }

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.tick()).catch((err: unknown) => this.d.logger.error({ err }, 'autoheal tick failed'));
    }, this.d.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  guardState(): GuardState {
    return { ...this.guard };
  }

  async record(id: string): Promise<NodeHeal | undefined> {
    if (!this.cache.has(id)) this.cache.set(id, await this.d.store.getSetting<NodeHeal>(KEY(id)));
    const r = this.cache.get(id);
    return r && structuredClone(r);
  }

  /** The last known record, from memory (for the API's node view). */
  cached(id: string): NodeHeal | undefined {
    return this.cache.get(id);
  }

  private async save(id: string, rec: NodeHeal | undefined): Promise<void> {
    await this.d.store.setSetting(KEY(id), rec);
    this.cache.set(id, rec && structuredClone(rec));
  }

  /** POST /v1/nodes/{id}/actions/remediate: the next step now, through the same guards. */
  async remediateNow(id: string): Promise<string> {
    const snap = this.d.registry.snapshotOf(id);
    if (!snap) return 'no such node';
    const at = new Date(this.now()).toISOString();
    const rec = (await this.record(id)) ?? freshRecord(classify(snap), at);
    rec.forced = true;
    rec.unhealthySince ??= at;
    await this.save(id, rec);
    await this.tick([id]);
    return (await this.record(id))?.lastDecision ?? 'no decision';
  }

  private async decide(n: NodeSnapshot, rec: NodeHeal, decision: string, data: Record<string, unknown> = {}): Promise<void> {
    if (rec.lastDecision === decision) return;
    rec.lastDecision = decision;
    await this.d.events.note({ type: 'autoheal.decision', nodeId: n.id, pool: n.pool, actor: ACTOR, message: `${n.name}: ${decision}`, data: { condition: rec.condition, step: rec.step, ...data } });
  }

  private async updateGuard(nodes: NodeSnapshot[]): Promise<void> {
    const now = this.now();
    const cp = this.d.controlPlane.info();
    const agents = nodes.length;
    const down = nodes.filter((n) => !n.connected);
    const recentDrops = down.filter((n) => n.disconnectedAt && now - n.disconnectedAt <= this.d.guardWindowMs).length;
    const threshold = Math.max(3, Math.ceil(agents / 2));
    let reason = '';
    if (cp.state === 'starting' || cp.state === 'failed') reason = `the Kubernetes API is unhealthy (${cp.state}: ${cp.message})`;
    else if (!this.guard.frozen && recentDrops >= threshold) reason = `${recentDrops} of ${agents} agents dropped within ${Math.round(this.d.guardWindowMs / 1000)}s: the problem is on the hub's side`;
    else if (this.guard.frozen && this.guard.reason.includes('agents dropped') && down.length >= threshold) reason = this.guard.reason;
    // Hysteresis: a freeze ends only after the condition stayed clear for a settle period (agents
    // are still reconnecting), and the nodes' unhealthy timers then restart from that moment.
    if (!reason && this.guard.frozen) {
      this.clearSince ??= now;
      if (now - this.clearSince < this.d.startupGraceMs) return;
      this.unfrozenAt = now;
    }
    if (reason) this.clearSince = undefined;
    const frozen = reason !== '';
    if (frozen === this.guard.frozen && reason === this.guard.reason) return;
    this.guard = { frozen, reason, since: frozen ? new Date(now).toISOString() : null };
    await this.d.events.note({ type: frozen ? 'autoheal.frozen' : 'autoheal.unfrozen', actor: ACTOR, message: frozen ? `all remediation frozen: ${reason}` : 'remediation resumes: the guard condition cleared', data: { reason } });
    this.d.logger.warn({ frozen, reason }, 'autoheal guard');
  }

  async tick(only?: string[]): Promise<void> {
    const now = this.now();
    const at = new Date(now).toISOString();
    if (now - this.startedAt < this.d.startupGraceMs) return; // agents are still reconnecting
    if (!this.graceOver) {
      this.graceOver = true;
      // Nothing is in flight after a start: a node left 'remediating' goes back to its reports;
      // its durable record keeps the ladder step, so the ladder continues where it was.
      for (const n of this.d.registry.snapshot()) {
        if (n.state === 'remediating') await this.d.registry.setWorkflow(n.id, null, 'hub restarted; the remediation ladder continues from its recorded step', ACTOR);
      }
    }
    const nodes = this.d.registry.snapshot();
    await this.updateGuard(nodes);
    const cluster = await this.d.settings.cluster();
    const byPool = new Map<string, NodeSnapshot[]>();
    for (const n of nodes) {
      const list = byPool.get(n.pool);
      if (list) list.push(n);
      else byPool.set(n.pool, [n]);
    }
    for (const [pool, members] of byPool) {
      const ps = await this.d.settings.pool(pool);
      const recs = new Map<string, NodeHeal>();
      // Observations are written in one transaction per pool: after a hub restart or a partition,
      // 10,000 nodes changing condition in one tick is one commit, not 10,000.
      const observed: Array<[string, NodeHeal]> = [];
      for (const n of members) {
        const { rec, changed } = await this.observe(n, ps, at, now);
        recs.set(n.id, rec);
        if (changed) observed.push([n.id, rec]);
      }
      await this.saveMany(observed);
      const unhealthy = members.filter((n) => { const c = recs.get(n.id)!.condition; return c === 'degraded' || c === 'unreachable'; });
      const allowed = allowedUnhealthy(members.length, ps.maxUnhealthyPercent);
      const pacing = (await this.d.store.getSetting<{ width: number; cooldownUntil: number }>(PACING_KEY(pool))) ?? { width: 1, cooldownUntil: 0 };
      let busy = members.filter((n) => recs.get(n.id)!.step > 0 && recs.get(n.id)!.unhealthySince).length;
      for (const n of unhealthy.sort((a, b) => (recs.get(a.id)!.unhealthySince ?? '').localeCompare(recs.get(b.id)!.unhealthySince ?? ''))) {
        if (only && !only.includes(n.id)) continue;
        const rec = recs.get(n.id)!;
        const sw = await this.d.settings.node(n.id);
        let why = '';
        if (this.guard.frozen) why = `not acting: remediation is frozen (${this.guard.reason})`;
        else if (!cluster.enabled || cluster.paused) why = `not acting: autoheal is ${cluster.enabled ? 'paused' : 'off'} for the cluster`;
        else if (!ps.enabled || ps.paused) why = `not acting: autoheal is ${ps.enabled ? 'paused' : 'off'} for pool ${pool}`;
        else if (!sw.enabled || sw.paused) why = `not acting: autoheal is ${sw.enabled ? 'paused' : 'off'} for this node`;
        else if (n.state === 'upgrading') why = 'not acting: the node is being upgraded';
        else if (n.state === 'needs-attention') why = 'not acting: the node needs an operator (autoheal gave up)';
        else if (unhealthy.length > allowed) why = `not acting: ${unhealthy.length} of ${members.length} nodes in pool ${pool} are unhealthy (over the ${ps.maxUnhealthyPercent}% cap: at most ${allowed})`;
        else if (rec.step === 0 && busy >= pacing.width) why = `waiting: ${busy} repair(s) already running in pool ${pool} (width ${pacing.width})`;
        else if (rec.step === 0 && pacing.cooldownUntil > now) why = `waiting: pool ${pool} cools down after a failed repair until ${new Date(pacing.cooldownUntil).toISOString()}`;
        if (why) {
          await this.decide(n, rec, why);
        } else {
          const before = rec.step;
          await this.advance(n, rec, ps, members.length, now);
          if (before === 0 && rec.step > 0) busy++;
        }
        await this.save(n.id, rec);
      }
      await this.settlePacing(pool, members, recs, ps, pacing, now);
    }
  }

  /** Updates a node's durable record from what is seen now (condition, timers, flaps, recovery). */
  private async saveMany(entries: Array<[string, NodeHeal]>): Promise<void> {
    await this.d.store.setSettings(entries.map(([id, rec]) => [KEY(id), rec] as const));
    for (const [id, rec] of entries) this.cache.set(id, structuredClone(rec));
  }

  /** A node's record brought up to date with what the hub sees now; `changed`: it must be saved. */
  private async observe(n: NodeSnapshot, ps: PoolAutoheal, at: string, now: number): Promise<{ rec: NodeHeal; changed: boolean }> {
    const cond = classify(n);
    // The common case at scale: healthy, was healthy, nothing to settle. Read-only (the tick does not
    // change such a record), so no copy and no write: a tick over 10,000 nodes stays a few ms.
    const known = this.cache.get(n.id);
    if (known && cond === 'healthy' && known.condition === 'healthy' && !known.unhealthySince && !known.unproven && !(known.ladders > 0 || known.flapping)) return { rec: known, changed: false };
    const existing = await this.record(n.id);
    // A first sight counts as a change from healthy (so a link problem alerts), but not as a flip.
    const rec = existing ?? freshRecord('healthy', at);
    const wasBad = rec.condition === 'degraded' || rec.condition === 'unreachable';
    const isBad = cond === 'degraded' || cond === 'unreachable';
    let changed = false;
    if (cond !== rec.condition) {
      if (wasBad !== isBad && existing) {
        rec.flips = [...rec.flips, at].filter((t) => now - Date.parse(t) <= this.d.flapWindowMs);
        const flapping = rec.flips.length > 2;
        if (flapping && !rec.flapping) await this.d.events.note({ type: 'autoheal.flapping', nodeId: n.id, pool: n.pool, actor: ACTOR, message: `${n.name} changed health ${rec.flips.length} times within ${Math.round(this.d.flapWindowMs / 60000)} min: capped at reboot` });
        rec.flapping = flapping || rec.flapping;
      }
      if (cond === 'link-problem') {
        await this.d.events.note({ type: 'autoheal.alert', nodeId: n.id, pool: n.pool, actor: ACTOR, message: `${n.name}: the agent link is lost but the Kubernetes node is still Ready; alert only, no remediation` });
      }
      rec.condition = cond;
      rec.since = at;
      changed = true;
    }
    if (isBad) {
      if (!rec.unhealthySince) {
        rec.unhealthySince = at;
        rec.healthySince = null;
        changed = true;
      }
    } else if (cond === 'healthy') {
      if (rec.unhealthySince) {
        if (rec.step > 0) await this.d.events.note({ type: 'autoheal.recovered', nodeId: n.id, pool: n.pool, actor: ACTOR, message: `${n.name} is healthy again after step ${rec.step} (${rec.lastAction ?? 'none'})` });
        rec.unhealthySince = null;
        rec.step = 0;
        rec.forced = false;
        rec.replacement = null;
        rec.healthySince = at;
        rec.lastDecision = '';
        changed = true;
        if (rec.cordonedByUs) {
          await this.d.controlPlane.client()?.uncordon(n.name).catch(() => undefined);
          rec.cordonedByUs = false;
        }
      }
      if (rec.healthySince && now - Date.parse(rec.healthySince) >= parseDuration(ps.minHealthyPeriod) && (rec.ladders > 0 || rec.flapping)) {
        rec.ladders = 0;
        rec.flapping = false;
        changed = true;
      }
    }
    // A first sight of a healthy node needs no durable record (a restart makes the same fresh one).
    if (!changed && !this.cache.get(n.id)) this.cache.set(n.id, structuredClone(rec));
    return { rec, changed };
  }

  private async settlePacing(pool: string, members: NodeSnapshot[], recs: Map<string, NodeHeal>, ps: PoolAutoheal, pacing: { width: number; cooldownUntil: number }, now: number): Promise<void> {
    let next = { ...pacing };
    for (const n of members) {
      const rec = recs.get(n.id)!;
      if (rec.unproven && rec.condition === 'healthy' && rec.healthySince && now - Date.parse(rec.healthySince) >= parseDuration(ps.provenAfter)) {
        rec.unproven = false;
        next = { ...next, width: Math.min(64, next.width * 2) };
        await this.save(n.id, rec);
        await this.d.events.note({ type: 'autoheal.proven', nodeId: n.id, pool, actor: ACTOR, message: `repair of ${n.name} proven (healthy for ${ps.provenAfter}); pool ${pool} may repair ${next.width} at a time` });
      }
    }
    if (next.width !== pacing.width || next.cooldownUntil !== pacing.cooldownUntil) await this.d.store.setSetting(PACING_KEY(pool), next);
  }

  private async failed(n: NodeSnapshot, rec: NodeHeal, ps: PoolAutoheal, what: string): Promise<void> {
    const lo = parseDuration(ps.cooldownMin);
    const hi = parseDuration(ps.cooldownMax);
    const cooldownUntil = this.now() + lo + Math.random() * (hi - lo);
    await this.d.store.setSetting(PACING_KEY(n.pool), { width: 1, cooldownUntil });
    rec.unproven = false;
    await this.d.events.note({ type: 'autoheal.failed', nodeId: n.id, pool: n.pool, actor: ACTOR, message: `${n.name}: ${what}; pool ${n.pool} back to one repair at a time, cooling down until ${new Date(cooldownUntil).toISOString()}` });
  }

  private async giveUp(n: NodeSnapshot, rec: NodeHeal, ps: PoolAutoheal, why: string): Promise<void> {
    await this.d.registry.setWorkflow(n.id, 'needs-attention', why, ACTOR);
    rec.step = 3;
    await this.decide(n, rec, `needs attention: ${why}`);
    await this.failed(n, rec, ps, why);
  }

  /** Takes the step that is due for this node, if any. */
  private async advance(n: NodeSnapshot, rec: NodeHeal, ps: PoolAutoheal, poolSize: number, now: number): Promise<void> {
    if (this.inFlight.has(n.id)) return;
    const forNow = rec.forced;
    // Time spent frozen does not count: the ladder's timers restart when a freeze ends.
    const age = rec.unhealthySince ? now - Math.max(Date.parse(rec.unhealthySince), this.unfrozenAt) : 0;
    const due = (d: string): boolean => forNow || age >= parseDuration(d);
    this.inFlight.add(n.id);
    try {
      if (rec.replacement) {
        await this.watchReplacement(n, rec, ps, now);
        return;
      }
      if (rec.step === 0 && due(ps.afterRestart)) {
        rec.forced = false;
        await this.takeStep(n, rec, 1, 'restart-k3s', async () => {
          if (!n.connected) return 'skipped: the agent is unreachable';
          const link = this.d.registry.link(n.id);
          const r = link ? await link.command('restart-k3s', {}, 60_000) : { ok: false, errorCode: 'NODE_OFFLINE', message: 'not connected' };
          if (!r.ok && r.errorCode === 'K3S_DISABLED') return 'skipped: the node runs no k3s';
          if (!r.ok) throw new Error(`${r.errorCode} ${r.message}`.trim());
          return 'k3s restarted by the agent';
        });
        return;
      }
      if (rec.step === 1 && due(ps.afterReboot)) {
        rec.forced = false;
        await this.takeStep(n, rec, 2, 'reboot', () => this.reboot(n, rec, ps));
        return;
      }
      if (rec.step === 2 && due(ps.afterReplace)) {
        rec.forced = false;
        if (rec.flapping) return this.giveUp(n, rec, ps, 'the node is flapping: capped at reboot, it is not replaced');
        if (poolSize < 2 || this.d.registry.snapshot().length < 2) return this.giveUp(n, rec, ps, 'clusters of fewer than 2 nodes are never replaced automatically');
        if (!ps.hook) {
          await this.d.controlPlane.client()?.cordon(n.name).catch(() => undefined);
          return this.giveUp(n, rec, ps, `pool ${n.pool} has no provider hook: cordoned; the hub cannot fence it, so it is never deleted automatically`);
        }
        await this.takeStep(n, rec, 3, 'replace', async () => {
          const node = await this.d.store.getNode(n.id);
          const r = await runHook(ps.hook!, { action: 'replace', pool: n.pool, node: hookNode(node, n), cloudInit: await this.d.cloudInit(n.pool) });
          if (!r.ok) throw new Error(r.message);
          rec.replacement = { requestedAt: new Date(this.now()).toISOString(), machineId: r.machineId ?? null };
          return `replacement requested from the provider hook${r.machineId ? ` (machine ${r.machineId})` : ''}; waiting for it to join`;
        });
        return;
      }
      if (rec.step >= 3 && !rec.replacement) {
        // A whole ladder did not help.
        rec.ladders++;
        if (rec.ladders >= MAX_LADDERS) return this.giveUp(n, rec, ps, `${rec.ladders} full remediation ladders did not help`);
        rec.step = 0;
        rec.unhealthySince = new Date(now).toISOString();
        await this.decide(n, rec, `ladder ${rec.ladders} of ${MAX_LADDERS} did not help; starting over`);
        return;
      }
      const next = rec.step === 0 ? ps.afterRestart : rec.step === 1 ? ps.afterReboot : ps.afterReplace;
      await this.decide(n, rec, `${rec.condition}; next step when unhealthy for ${next}`);
    } finally {
      this.inFlight.delete(n.id);
    }
  }

  private async takeStep(n: NodeSnapshot, rec: NodeHeal, step: number, action: string, run: () => Promise<string>): Promise<void> {
    rec.step = step;
    rec.attempts++;
    rec.lastAction = action;
    rec.lastActionAt = new Date(this.now()).toISOString();
    rec.unproven = true;
    rec.lastDecision = `step ${step}: ${action}`;
    // Durable before acting: a hub restart mid-step never repeats it.
    await this.save(n.id, rec);
    await this.d.registry.setWorkflow(n.id, 'remediating', `autoheal step ${step}: ${action}`, ACTOR);
    let result: string;
    let ok = true;
    try {
      result = await run();
    } catch (err) {
      ok = false;
      result = (err as Error).message;
    }
    await this.d.events.note({ type: 'autoheal.step', nodeId: n.id, pool: n.pool, actor: ACTOR, message: `${n.name}: step ${step} ${action}: ${ok ? result : `failed: ${result}`}`, data: { step, action, ok, result, condition: rec.condition } });
    if (!rec.replacement) await this.d.registry.setWorkflow(n.id, null, `autoheal step ${step} done`, ACTOR);
  }

  private async reboot(n: NodeSnapshot, rec: NodeHeal, ps: PoolAutoheal): Promise<string> {
    const kube = this.d.controlPlane.client();
    const link = this.d.registry.link(n.id);
    if (link) {
      if (kube && (await kube.getNode(n.name))) {
        try {
          await kube.drain(n.name, { timeoutMs: parseDuration(ps.drainTimeout), ignoreDaemonSets: true, deleteEmptyDirData: true });
        } catch (err) {
          // Honour PDBs up to the timeout, then reboot anyway: the node is already failing.
          await this.d.events.note({ type: 'autoheal.drain', nodeId: n.id, pool: n.pool, actor: ACTOR, message: `drain before reboot did not finish: ${(err as Error).message}` });
        }
        rec.cordonedByUs = true;
      }
      const r = await link.command('reboot', {}, 60_000);
      if (!r.ok) throw new Error(`${r.errorCode} ${r.message}`.trim());
      return `reboot through the agent: ${r.message}`;
    }
    if (ps.hook) {
      const node = await this.d.store.getNode(n.id);
      const r = await runHook(ps.hook, { action: 'reboot', pool: n.pool, node: hookNode(node, n) });
      if (!r.ok) throw new Error(r.message);
      return `reboot through the provider hook: ${r.message}`;
    }
    return 'skipped: the agent is unreachable and the pool has no provider hook';
  }

  private async watchReplacement(n: NodeSnapshot, rec: NodeHeal, ps: PoolAutoheal, now: number): Promise<void> {
    const requested = Date.parse(rec.replacement!.requestedAt);
    // The replacement: a node of the same pool that joined after the request and is Ready now.
    let newcomer: NodeRecord | undefined;
    for (const m of this.d.registry.snapshot()) {
      if (m.pool !== n.pool || m.id === n.id || !m.connected || m.state !== 'ready') continue;
      const rec2 = await this.d.store.getNode(m.id);
      if (rec2 && Date.parse(rec2.createdAt) >= requested) {
        newcomer = rec2;
        break;
      }
    }
    if (newcomer) {
      rec.replacement = null;
      await this.d.events.note({ type: 'autoheal.step', nodeId: n.id, pool: n.pool, actor: ACTOR, message: `${n.name}: replacement ${newcomer.name} is Ready; draining and removing the old node`, data: { replacement: newcomer.id } });
      await this.save(n.id, rec);
      await this.d.removeNode(n.id, ACTOR);
      await this.save(n.id, undefined);
      return;
    }
    if (now - requested > parseDuration(ps.replaceTimeout)) {
      rec.replacement = null;
      await this.d.registry.setWorkflow(n.id, null, 'replacement timed out', ACTOR);
      await this.failed(n, rec, ps, `the replacement was not Ready within ${ps.replaceTimeout}`);
      return;
    }
    await this.decide(n, rec, 'waiting for the replacement to join and become Ready');
  }
}

function hookNode(node: NodeRecord | undefined, n: NodeSnapshot): { id: string; name: string; addresses: string[]; labels: Record<string, string> } {
  return { id: n.id, name: n.name, addresses: node?.facts.addresses ?? [], labels: node?.labels ?? {} };
}
