// Autoheal's view of one node, each tick: its condition (healthy, degraded, unreachable, a link
// problem), when it turned unhealthy or healthy, flapping (of health or of the link), recovery by
// itself, and the address its agent connects from, written into the node's durable record.
import type { NodeSnapshot } from '../nodes/registry.js';
import { parseDuration } from '../duration.js';
import type { PoolAutoheal } from './settings.js';
import { ACTOR, classify, freshRecord, type NodeHeal, type RecordBook } from './records.js';
import type { Attention } from './attention.js';
import type { Stamps } from '../clock.js';
import type { AutohealDeps } from './deps.js';

export class Observer {
  constructor(
    private readonly d: AutohealDeps,
    private readonly book: RecordBook,
    private readonly stamps: Stamps,
    private readonly attention: Attention,
  ) {}

  /** A node's record brought up to date with what the hub sees now; `changed`: it must be saved. */
  async observe(n: NodeSnapshot, ps: PoolAutoheal): Promise<{ rec: NodeHeal; changed: boolean }> {
    const cond = classify(n);
    // The common case at scale: healthy, was healthy, nothing to settle. Read-only (the tick does not
    // change such a record), so no copy and no write: a tick over 10,000 nodes stays a few ms.
    const known = this.book.peek(n.id);
    // A link that keeps dropping and coming back flaps too, even while each outage is too short to see.
    const linkFlapping = (n.linkFlaps ?? 0) > 2;
    if (
      known &&
      cond === 'healthy' &&
      known.condition === 'healthy' &&
      !known.unhealthySince &&
      !known.unproven &&
      !(known.ladders > 0 || known.flapping) &&
      !known.cordonedByUs &&
      n.state !== 'needs-attention' &&
      !linkFlapping
    )
      return { rec: known, changed: false };
    const existing = await this.book.get(n.id);
    const at = this.stamps.take(n.id);
    const age = (iso: string): number => this.stamps.since(n.id, iso);
    // A first sight counts as a change from healthy (so a link problem alerts), but not as a flip.
    const rec = existing ?? freshRecord('healthy', at);
    const wasBad = rec.condition === 'degraded' || rec.condition === 'unreachable';
    const isBad = cond === 'degraded' || cond === 'unreachable';
    let changed = false;
    if (cond !== rec.condition) {
      if (wasBad !== isBad && existing) {
        rec.flips = [...rec.flips, at].filter((t) => age(t) <= this.d.flapWindowMs);
        const flapping = rec.flips.length > 2;
        if (flapping && !rec.flapping)
          await this.d.events.note({
            type: 'autoheal.flapping',
            nodeId: n.id,
            pool: n.pool,
            actor: ACTOR,
            message: `${n.name} changed health ${rec.flips.length} times within ${Math.round(this.d.flapWindowMs / 60000)} min: capped at reboot`,
          });
        rec.flapping = flapping || rec.flapping;
      }
      if (cond === 'link-problem') {
        await this.d.events.note({
          type: 'autoheal.alert',
          nodeId: n.id,
          pool: n.pool,
          actor: ACTOR,
          message: `${n.name}: the agent link is lost but the Kubernetes node is still Ready; alert only, no remediation`,
        });
      }
      rec.condition = cond;
      rec.since = at;
      changed = true;
    }
    if (linkFlapping && !rec.flapping) {
      await this.d.events.note({
        type: 'autoheal.flapping',
        nodeId: n.id,
        pool: n.pool,
        actor: ACTOR,
        message: `${n.name}: its agent link came back ${n.linkFlaps} times within ${Math.round(this.d.flapWindowMs / 60000)} min: capped at reboot`,
        data: { linkFlaps: n.linkFlaps },
      });
      rec.flapping = true;
      // A node that never looked unhealthy has no healthySince; without one the mark would never clear.
      if (cond === 'healthy' && !rec.unhealthySince) rec.healthySince ??= at;
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
        if (rec.step > 0)
          await this.d.events.note({
            type: 'autoheal.recovered',
            nodeId: n.id,
            pool: n.pool,
            actor: ACTOR,
            message: `${n.name} is healthy again after step ${rec.step} (${rec.lastAction ?? 'none'})`,
          });
        rec.unhealthySince = null;
        rec.step = 0;
        rec.forced = false;
        rec.replacement = null;
        rec.healthySince = at;
        rec.lastDecision = '';
        changed = true;
      }
      // A node that needs attention is uncordoned when it is released, not at its first good report.
      if (rec.cordonedByUs && n.state !== 'needs-attention') {
        await this.attention.uncordon(n, rec);
        changed ||= !rec.cordonedByUs;
      }
      // Recovered by itself: healthy for the period that proves a repair, it no longer needs attention.
      if (n.state === 'needs-attention' && !rec.unhealthySince && !rec.healthySince) {
        rec.healthySince = at;
        changed = true;
      }
      if (n.state === 'needs-attention' && rec.healthySince && age(rec.healthySince) >= parseDuration(ps.provenAfter)) {
        await this.attention.release(n, rec, `healthy again for ${ps.provenAfter}`, ACTOR, false);
        changed = true;
      }
      if (
        rec.healthySince &&
        age(rec.healthySince) >= parseDuration(ps.minHealthyPeriod) &&
        (rec.ladders > 0 || rec.flapping) &&
        !linkFlapping
      ) {
        rec.ladders = 0;
        rec.flapping = false;
        changed = true;
      }
    }
    // Where the agent connects from, as the hub sees it: kept with records that are written anyway,
    // so a hook call after a hub restart still has it (see hookNodeOf in ladder.ts).
    const addr = n.connected ? this.d.registry.observedAddress(n.id) : undefined;
    if (changed && addr && rec.observedAddresses?.[0] !== addr)
      rec.observedAddresses = [addr, ...(rec.observedAddresses ?? []).filter((a) => a !== addr)].slice(0, 4);
    // Monotonic marks only for the stamps the record still holds.
    this.stamps.keep(n.id, [
      rec.since,
      rec.unhealthySince,
      rec.healthySince,
      rec.replacement?.requestedAt,
      ...rec.flips,
    ]);
    // A first sight of a healthy node needs no durable record (a restart makes the same fresh one).
    if (!changed) this.book.remember(n.id, rec);
    return { rec, changed };
  }
}
