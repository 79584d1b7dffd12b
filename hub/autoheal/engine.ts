// Autoheal: notices sick and lost nodes and works through a remediation ladder (restart k3s,
// reboot, replace), with guards that keep it from making an outage worse: a partition guard, a
// pool cap, paced repairs, flap detection and exclusions. Every step, timer and count is durable
// (store settings), so a hub restart neither repeats a step nor forgets one. Every decision,
// including a decision not to act, is an event (once per change).
import type { NodeSnapshot } from '../nodes/registry.js';
import { parseDuration } from '../duration.js';
import { allowedUnhealthy, type PoolAutoheal } from './settings.js';
import { ACTOR, RecordBook, classify, freshRecord, type NodeHeal } from './records.js';
import { Ladder } from './ladder.js';
import { PartitionGuard, type GuardState } from './guard.js';
import { Attention } from './attention.js';
import { Observer } from './observer.js';
import { Stamps, systemClock, type Clock } from '../clock.js';
import type { AutohealDeps } from './deps.js';

export { classify, type Condition, type NodeHeal } from './records.js';
export type { GuardState } from './guard.js';
export type { AutohealDeps } from './deps.js';

export class AutohealEngine {
  private timer?: NodeJS.Timeout;
  private readonly startedAt: number;
  private running: Promise<void> = Promise.resolve();
  private readonly clock: Clock;
  private readonly stamps: Stamps;
  private graceOver = false;
  private readonly book: RecordBook;
  private readonly guard: PartitionGuard;
  private readonly ladder: Ladder;
  private readonly attention: Attention;
  private readonly observer: Observer;

  constructor(private readonly d: AutohealDeps) {
    this.clock = d.clock ?? systemClock;
    this.stamps = new Stamps(this.clock);
    this.startedAt = this.clock.mono();
    this.book = new RecordBook(d.store, d.events);
    this.guard = new PartitionGuard({
      events: d.events,
      logger: d.logger,
      windowMs: d.guardWindowMs,
      settleMs: d.startupGraceMs,
    });
    this.ladder = new Ladder(d, this.book, this.clock, this.stamps, () => this.guard.unfrozenAt);
    this.attention = new Attention(d, this.stamps);
    this.observer = new Observer(d, this.book, this.stamps, this.attention);
  }

  start(): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (this.d.leads && !this.d.leads()) return;
      this.serial(() => this.tick()).catch((err: unknown) => this.d.logger.error({ err }, 'autoheal tick failed'));
    }, this.d.intervalMs);
    this.timer.unref();
  }

  /** Runs fn after every tick or action before it: records are read, changed and saved by one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.running.then(fn);
    this.running = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  guardState(): GuardState {
    return this.guard.current();
  }

  /** A node's record (a copy). */
  async record(id: string): Promise<NodeHeal | undefined> {
    return this.book.get(id);
  }

  /** The last known record, from memory (for the API's node view). */
  cached(id: string): NodeHeal | undefined {
    return this.book.peek(id);
  }

  /**
   * POST /v1/nodes/{id}/actions/remediate: the next step now, through the same guards. A node that
   * needs attention is taken back from the operator first and starts a fresh ladder.
   */
  async remediateNow(id: string, actor = 'operator'): Promise<string> {
    return this.serial(async () => {
      let snap = this.d.registry.snapshotOf(id);
      if (!snap) return 'no such node';
      const at = this.stamps.take(id);
      const rec = (await this.book.get(id)) ?? freshRecord(classify(snap), at);
      if (snap.state === 'needs-attention') {
        await this.attention.release(snap, rec, `${actor} asked for remediation`, actor, true);
        snap = this.d.registry.snapshotOf(id) ?? snap;
      }
      rec.forced = true;
      rec.unhealthySince ??= at;
      await this.book.save(id, rec);
      await this.tick([id]);
      return (await this.book.get(id))?.lastDecision ?? 'no decision';
    });
  }

  /**
   * POST /v1/nodes/{id}/actions/clear-attention: an operator takes a node out of needs-attention.
   * Its state follows its reports again, a node autoheal cordoned is uncordoned, and its ladder
   * starts afresh (count and flapping reset). Not cleared (with why) when the node is in another state.
   */
  async clearAttention(id: string, actor: string): Promise<{ cleared: boolean; message: string }> {
    return this.serial(async () => {
      const snap = this.d.registry.snapshotOf(id);
      if (!snap) return { cleared: false, message: `node ${id} does not exist` };
      if (snap.state !== 'needs-attention')
        return { cleared: false, message: `${snap.name} does not need attention (it is ${snap.state})` };
      const rec = (await this.book.get(id)) ?? freshRecord(classify(snap), this.stamps.take(id));
      await this.attention.release(snap, rec, `cleared by ${actor}`, actor, true);
      await this.book.save(id, rec);
      const now = this.d.registry.snapshotOf(id)?.state ?? 'gone';
      return { cleared: true, message: `${snap.name} no longer needs attention; it is ${now}` };
    });
  }

  async tick(only?: string[]): Promise<void> {
    const now = this.clock.mono();
    if (now - this.startedAt < this.d.startupGraceMs) return; // agents are still reconnecting
    if (!this.graceOver) {
      this.graceOver = true;
      // Nothing is in flight after a start: a node left 'remediating' goes back to its reports;
      // its durable record keeps the ladder step, so the ladder continues where it was.
      for (const n of this.d.registry.snapshot()) {
        if (n.state === 'remediating')
          await this.d.registry.setWorkflow(
            n.id,
            null,
            'hub restarted; the remediation ladder continues from its recorded step',
            ACTOR,
          );
      }
    }
    const nodes = this.d.registry.snapshot();
    // Records not in memory yet (the first tick after a start): one query for all, not one per node.
    await this.book.load(nodes.map((n) => n.id));
    await this.guard.update(nodes, this.d.controlPlane.info(), now, this.clock.now(), this.d.clockHold?.());
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
        const { rec, changed } = await this.observer.observe(n, ps);
        recs.set(n.id, rec);
        if (changed) observed.push([n.id, rec]);
      }
      await this.book.saveMany(observed);
      const unhealthy = members.filter((n) => {
        const c = recs.get(n.id)!.condition;
        return c === 'degraded' || c === 'unreachable';
      });
      const allowed = allowedUnhealthy(members.length, ps.maxUnhealthyPercent);
      const pacing = await this.d.store.getAutohealPacing(pool);
      const switches = await this.d.settings.nodes(unhealthy.map((n) => n.id));
      // Repairs in flight: a node handed to an operator (needs-attention) is not one.
      let busy = members.filter(
        (n) => n.state !== 'needs-attention' && recs.get(n.id)!.step > 0 && recs.get(n.id)!.unhealthySince,
      ).length;
      for (const n of unhealthy.sort((a, b) =>
        (recs.get(a.id)!.unhealthySince ?? '').localeCompare(recs.get(b.id)!.unhealthySince ?? ''),
      )) {
        if (only && !only.includes(n.id)) continue;
        const rec = recs.get(n.id)!;
        const sw = switches.get(n.id)!;
        let why = '';
        if (this.guard.frozen) why = `not acting: remediation is frozen (${this.guard.current().reason})`;
        else if (!cluster.enabled || cluster.paused)
          why = `not acting: autoheal is ${cluster.enabled ? 'paused' : 'off'} for the cluster`;
        else if (!ps.enabled || ps.paused)
          why = `not acting: autoheal is ${ps.enabled ? 'paused' : 'off'} for pool ${pool}`;
        else if (!sw.enabled || sw.paused)
          why = `not acting: autoheal is ${sw.enabled ? 'paused' : 'off'} for this node`;
        else if (n.state === 'upgrading') why = 'not acting: the node is being upgraded';
        else if (n.state === 'needs-attention') why = 'not acting: the node needs an operator (autoheal gave up)';
        else if (unhealthy.length > allowed)
          why = `not acting: ${unhealthy.length} of ${members.length} nodes in pool ${pool} are unhealthy (over the ${ps.maxUnhealthyPercent}% cap: at most ${allowed})`;
        else if (rec.step === 0 && busy >= pacing.width)
          why = `waiting: ${busy} repair(s) already running in pool ${pool} (width ${pacing.width})`;
        else if (rec.step === 0 && this.ladder.coolingDown(pool, pacing))
          why = `waiting: pool ${pool} cools down after a failed repair until ${new Date(pacing.cooldownUntil).toISOString()}`;
        if (why) {
          await this.book.decide(n, rec, why);
        } else {
          const before = rec.step;
          await this.ladder.advance(n, rec, ps, members.length);
          if (before === 0 && rec.step > 0) busy++;
        }
        await this.book.save(n.id, rec);
      }
      await this.settlePacing(pool, members, recs, ps);
    }
  }

  /** Each proven repair doubles the pool's width in one statement (a failure meanwhile is not overwritten). */
  private async settlePacing(
    pool: string,
    members: NodeSnapshot[],
    recs: Map<string, NodeHeal>,
    ps: PoolAutoheal,
  ): Promise<void> {
    for (const n of members) {
      const rec = recs.get(n.id)!;
      if (
        rec.unproven &&
        rec.condition === 'healthy' &&
        rec.healthySince &&
        this.stamps.since(n.id, rec.healthySince) >= parseDuration(ps.provenAfter)
      ) {
        rec.unproven = false;
        await this.book.save(n.id, rec);
        const next = await this.d.store.widenAutohealPacing(pool, 64);
        await this.d.events.note({
          type: 'autoheal.proven',
          nodeId: n.id,
          pool,
          actor: ACTOR,
          message: `repair of ${n.name} proven (healthy for ${ps.provenAfter}); pool ${pool} may repair ${next.width} at a time`,
        });
      }
    }
  }
}
