// Leaving needs-attention: a node that recovered by itself, or an operator who takes it back. What
// autoheal cordoned is uncordoned; an operator's release starts a fresh ladder.
import type { NodeSnapshot } from '../nodes/registry.js';
import type { Stamps } from '../clock.js';
import type { NodeHeal } from './records.js';
import type { AutohealDeps } from './deps.js';

export class Attention {
  constructor(
    private readonly d: AutohealDeps,
    private readonly stamps: Stamps,
  ) {}

  /** Leaves needs-attention: uncordons what autoheal cordoned; `fresh`: a new ladder from now. */
  async release(n: NodeSnapshot, rec: NodeHeal, why: string, actor: string, fresh: boolean): Promise<void> {
    if (rec.cordonedByUs) await this.uncordon(n, rec);
    if (fresh) {
      rec.ladders = 0;
      rec.flapping = false;
      rec.flips = [];
      if (rec.unhealthySince) rec.unhealthySince = this.stamps.take(n.id);
    }
    rec.step = 0;
    rec.forced = false;
    rec.replacement = null;
    rec.lastDecision = '';
    await this.d.registry.setWorkflow(n.id, null, why, actor);
    await this.d.events.note({
      type: 'autoheal.released',
      nodeId: n.id,
      pool: n.pool,
      actor,
      message: `${n.name} no longer needs attention: ${why}`,
      data: { fresh },
    });
  }

  /** Uncordons a node autoheal cordoned; the mark stays (and is tried again) while that fails. */
  async uncordon(n: NodeSnapshot, rec: NodeHeal): Promise<void> {
    const kube = this.d.controlPlane.client();
    if (!kube) return;
    try {
      await kube.uncordon(n.name);
      rec.cordonedByUs = false;
    } catch (err) {
      this.d.logger.warn({ nodeId: n.id, err: (err as Error).message }, 'could not uncordon a node autoheal cordoned');
    }
  }
}
