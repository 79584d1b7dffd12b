// The remediation ladder for one node: restart k3s, reboot (through the agent, or the provider hook
// when the agent is lost), replace through the hook; give up to an operator when a step cannot be
// taken or whole ladders did not help. Each step is durable before it is taken.
import type { AutohealPacing, NodeRecord } from '../store/types.js';
import type { NodeSnapshot } from '../nodes/registry.js';
import { parseDuration } from '../duration.js';
import type { PoolAutoheal } from './settings.js';
import { hookNode, runHook, type HookNode } from './hook.js';
import { ACTOR, MAX_LADDERS, freshRecord, type NodeHeal, type RecordBook } from './records.js';
import type { AutohealDeps } from './deps.js';
import type { Clock, Stamps } from '../clock.js';
import { AtollError } from '../../certs/atoll-error.js';

/** Stored per pool (store.getAutohealPacing); widened and reset by single statements. */
export type Pacing = AutohealPacing;

export class Ladder {
  private readonly inFlight = new Set<string>();
  /** Pool -> end of its cooldown on the monotonic clock (the stored wall time is for people and restarts). */
  private readonly cooldowns = new Map<string, number>();

  constructor(
    private readonly d: AutohealDeps,
    private readonly book: RecordBook,
    private readonly clock: Clock,
    private readonly stamps: Stamps,
    private readonly unfrozenAt: () => number,
  ) {}

  /** Whether the pool cools down after a failed repair. */
  coolingDown(pool: string, pacing: Pacing): boolean {
    const until = this.cooldowns.get(pool);
    if (until !== undefined) return this.clock.mono() < until;
    // Set before this hub started: by the stored wall time.
    return pacing.cooldownUntil > this.clock.now();
  }

  async failed(n: NodeSnapshot, rec: NodeHeal, ps: PoolAutoheal, what: string): Promise<void> {
    const lo = parseDuration(ps.cooldownMin);
    const hi = parseDuration(ps.cooldownMax);
    const cooldown = lo + Math.random() * (hi - lo);
    this.cooldowns.set(n.pool, this.clock.mono() + cooldown);
    const cooldownUntil = this.clock.now() + cooldown;
    await this.d.store.setAutohealPacing(n.pool, { width: 1, cooldownUntil });
    rec.unproven = false;
    await this.d.events.note({
      type: 'autoheal.failed',
      nodeId: n.id,
      pool: n.pool,
      actor: ACTOR,
      message: `${n.name}: ${what}; pool ${n.pool} back to one repair at a time, cooling down until ${new Date(cooldownUntil).toISOString()}`,
    });
  }

  /** Cordons a node for the hand-over; marked as autoheal's (uncordoned on release) unless it already was cordoned. */
  private async cordon(n: NodeSnapshot, rec: NodeHeal): Promise<boolean> {
    const kube = this.d.controlPlane.client();
    const node = await kube?.getNode(n.name).catch(() => undefined);
    if (!kube || !node) return false;
    if (node.unschedulable) return true;
    try {
      await kube.cordon(n.name);
      rec.cordonedByUs = true;
      return true;
    } catch (err) {
      this.d.logger.warn({ nodeId: n.id, err: (err as Error).message }, 'could not cordon a node autoheal hands over');
      return false;
    }
  }

  private async giveUp(n: NodeSnapshot, rec: NodeHeal, ps: PoolAutoheal, why: string): Promise<void> {
    await this.d.registry.setWorkflow(n.id, 'needs-attention', why, ACTOR);
    rec.step = 3;
    await this.book.decide(n, rec, `needs attention: ${why}`);
    await this.failed(n, rec, ps, why);
  }

  /** Takes the step that is due for this node, if any. */
  async advance(n: NodeSnapshot, rec: NodeHeal, ps: PoolAutoheal, poolSize: number): Promise<void> {
    if (this.inFlight.has(n.id)) return;
    const forNow = rec.forced;
    // Time spent frozen does not count: the ladder's timers restart when a freeze ends.
    const unfrozen = this.unfrozenAt();
    const age = rec.unhealthySince
      ? Math.min(this.stamps.since(n.id, rec.unhealthySince), unfrozen ? this.clock.mono() - unfrozen : Infinity)
      : 0;
    const due = (d: string): boolean => forNow || age >= parseDuration(d);
    this.inFlight.add(n.id);
    try {
      if (rec.replacement) {
        await this.watchReplacement(n, rec, ps);
        return;
      }
      if (rec.step === 0 && due(ps.afterRestart)) {
        rec.forced = false;
        await this.takeStep(n, rec, 1, 'restart-k3s', async () => {
          if (!n.connected) return 'skipped: the agent is unreachable';
          const link = this.d.registry.link(n.id);
          const r = link
            ? await link.command('restart-k3s', {}, 60_000)
            : { ok: false, errorCode: 'NODE_OFFLINE', message: 'not connected' };
          if (!r.ok && r.errorCode === 'K3S_DISABLED') return 'skipped: the node runs no k3s';
          if (!r.ok) throw new AtollError('AUTOHEAL_STEP_FAILED', `${r.errorCode} ${r.message}`.trim());
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
        if (poolSize < 2 || this.d.registry.snapshot().length < 2)
          return this.giveUp(n, rec, ps, 'clusters of fewer than 2 nodes are never replaced automatically');
        if (!ps.hook) {
          const cordoned = await this.cordon(n, rec);
          return this.giveUp(
            n,
            rec,
            ps,
            `pool ${n.pool} has no provider hook: ${cordoned ? 'cordoned' : 'not cordoned (no Kubernetes node to cordon)'}; the hub cannot fence it, so it is never deleted automatically`,
          );
        }
        await this.takeStep(n, rec, 3, 'replace', async () => {
          const init = await this.d.cloudInit(n.pool);
          const r = await runHook(ps.hook!, {
            action: 'replace',
            pool: n.pool,
            node: await this.hookNodeOf(n, rec),
            cloudInit: init.doc,
          });
          if (!r.ok) throw new AtollError('AUTOHEAL_STEP_FAILED', r.message);
          rec.replacement = {
            requestedAt: this.stamps.take(n.id),
            machineId: r.machineId ?? null,
            tokenId: init.tokenId,
          };
          return `replacement requested from the provider hook${r.machineId ? ` (machine ${r.machineId})` : ''}; waiting for it to join`;
        });
        return;
      }
      if (rec.step >= 3 && !rec.replacement) {
        // A whole ladder did not help.
        rec.ladders++;
        if (rec.ladders >= MAX_LADDERS)
          return this.giveUp(n, rec, ps, `${rec.ladders} full remediation ladders did not help`);
        rec.step = 0;
        rec.unhealthySince = this.stamps.take(n.id);
        await this.book.decide(n, rec, `ladder ${rec.ladders} of ${MAX_LADDERS} did not help; starting over`);
        return;
      }
      const next = rec.step === 0 ? ps.afterRestart : rec.step === 1 ? ps.afterReboot : ps.afterReplace;
      await this.book.decide(n, rec, `${rec.condition}; next step when unhealthy for ${next}`);
    } finally {
      this.inFlight.delete(n.id);
    }
  }

  private async takeStep(
    n: NodeSnapshot,
    rec: NodeHeal,
    step: number,
    action: string,
    run: () => Promise<string>,
  ): Promise<void> {
    rec.step = step;
    rec.attempts++;
    rec.lastAction = action;
    rec.lastActionAt = new Date(this.clock.now()).toISOString();
    rec.unproven = true;
    rec.lastDecision = `step ${step}: ${action}`;
    // Durable before acting: a hub restart mid-step never repeats it.
    await this.book.save(n.id, rec);
    await this.d.registry.setWorkflow(n.id, 'remediating', `autoheal step ${step}: ${action}`, ACTOR);
    let result: string;
    let ok = true;
    try {
      result = await run();
    } catch (err) {
      ok = false;
      result = (err as Error).message;
    }
    await this.d.events.note({
      type: 'autoheal.step',
      nodeId: n.id,
      pool: n.pool,
      actor: ACTOR,
      message: `${n.name}: step ${step} ${action}: ${ok ? result : `failed: ${result}`}`,
      data: { step, action, ok, result, condition: rec.condition },
    });
    if (!rec.replacement) await this.d.registry.setWorkflow(n.id, null, `autoheal step ${step} done`, ACTOR);
  }

  private async reboot(n: NodeSnapshot, rec: NodeHeal, ps: PoolAutoheal): Promise<string> {
    const kube = this.d.controlPlane.client();
    const link = this.d.registry.link(n.id);
    if (link) {
      if (kube && (await kube.getNode(n.name))) {
        try {
          await kube.drain(n.name, {
            timeoutMs: parseDuration(ps.drainTimeout),
            ignoreDaemonSets: true,
            deleteEmptyDirData: true,
          });
        } catch (err) {
          // Honour PDBs up to the timeout, then reboot anyway: the node is already failing.
          await this.d.events.note({
            type: 'autoheal.drain',
            nodeId: n.id,
            pool: n.pool,
            actor: ACTOR,
            message: `drain before reboot did not finish: ${(err as Error).message}`,
          });
        }
        rec.cordonedByUs = true;
      }
      const r = await link.command('reboot', {}, 60_000);
      if (!r.ok) throw new AtollError('AUTOHEAL_STEP_FAILED', `${r.errorCode} ${r.message}`.trim());
      return `reboot through the agent: ${r.message}`;
    }
    if (ps.hook) {
      const r = await runHook(ps.hook, { action: 'reboot', pool: n.pool, node: await this.hookNodeOf(n, rec) });
      if (!r.ok) throw new AtollError('AUTOHEAL_STEP_FAILED', r.message);
      return `reboot through the provider hook: ${r.message}`;
    }
    return 'skipped: the agent is unreachable and the pool has no provider hook';
  }

  private async watchReplacement(n: NodeSnapshot, rec: NodeHeal, ps: PoolAutoheal): Promise<void> {
    const { tokenId, machineId } = rec.replacement!;
    const requested = Date.parse(rec.replacement!.requestedAt);
    // The replacement: the node that joined with the token of the cloud-init handed to the hook (any
    // node of the pool that joined after the request, for records written before tokens were kept),
    // and is Ready now.
    let newcomer: NodeRecord | undefined;
    for (const m of this.d.registry.snapshot()) {
      if (m.pool !== n.pool || m.id === n.id || !m.connected || m.state !== 'ready') continue;
      const rec2 = await this.d.store.getNode(m.id);
      if (rec2 && (tokenId ? rec2.tokenId === tokenId : Date.parse(rec2.createdAt) >= requested)) {
        newcomer = rec2;
        break;
      }
    }
    if (newcomer) {
      rec.replacement = null;
      if (machineId) {
        // The hook made this machine: later hook calls for the new node name it by this id.
        const fresh =
          (await this.book.get(newcomer.id)) ?? freshRecord('healthy', new Date(this.clock.now()).toISOString());
        fresh.machineId = machineId;
        await this.book.save(newcomer.id, fresh);
      }
      await this.d.events.note({
        type: 'autoheal.step',
        nodeId: n.id,
        pool: n.pool,
        actor: ACTOR,
        message: `${n.name}: replacement ${newcomer.name} is Ready; draining and removing the old node`,
        data: { replacement: newcomer.id },
      });
      await this.book.save(n.id, rec);
      await this.d.removeNode(n.id, ACTOR);
      await this.book.save(n.id, undefined);
      this.stamps.forget(n.id);
      return;
    }
    if (this.stamps.since(n.id, rec.replacement!.requestedAt) > parseDuration(ps.replaceTimeout)) {
      rec.replacement = null;
      await this.d.registry.setWorkflow(n.id, null, 'replacement timed out', ACTOR);
      await this.failed(n, rec, ps, `the replacement was not Ready within ${ps.replaceTimeout}`);
      return;
    }
    await this.book.decide(n, rec, 'waiting for the replacement to join and become Ready');
  }

  /** What the hook is told about a node: what the hub knows for itself, the node's claims apart. */
  private async hookNodeOf(n: NodeSnapshot, rec: NodeHeal): Promise<HookNode> {
    const node = await this.d.store.getNode(n.id);
    const [joined] = await this.d.store.listEvents({ type: 'node.joined', nodeId: n.id, limit: 1 });
    const source = typeof joined?.data.source === 'string' ? joined.data.source : undefined;
    return hookNode(node, n, rec.machineId ?? null, [
      this.d.registry.observedAddress(n.id),
      ...(rec.observedAddresses ?? []),
      source,
    ]);
  }
}
