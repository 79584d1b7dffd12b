// Machines through the pool's hook: create (recorded in flight before anything else can run, so a
// restarted hub sees the need as met), follow them until their node is Ready, and delete a machine
// whose node is not Ready within maxNodeProvisionTime (a failure, with backoff).
import { hookNode, runHook } from '../autoheal/hook.js';
import { parseDuration } from '../duration.js';
import type { NodeRecord, Pool } from '../store/types.js';
import type { AutoscaleDeps } from './deps.js';
import type { DecisionLog } from './decision-log.js';
import { backoffMs, updateState, type AutoscaleState, type FailedAction } from './state.js';

/** `<pool>\n<action>` -> failed hook calls since this hub started (atoll_autoscale_hook_failures_total). */
export type HookFailureCounts = Map<string, number>;

export class Machines {
  /** Failed hook calls, per pool and action (create, delete); bounded by the pools. */
  readonly hookFailures: HookFailureCounts = new Map();

  constructor(
    private readonly d: AutoscaleDeps,
    private readonly log: DecisionLog,
    private readonly now: () => number,
  ) {}

  /** Asks the hook for `count` machines, one at a time; stops at the first failure (then backoff). */
  async create(pool: Pool, hook: string, count: number, why: string): Promise<number> {
    let made = 0;
    for (let i = 0; i < count; i++) {
      const init = await this.d.cloudInit(pool.name);
      const r = await runHook(hook, { action: 'create', pool: pool.name, cloudInit: init.doc });
      if (!r.ok || !r.machineId) {
        this.countHookFailure(pool.name, 'create');
        await this.failed(
          pool.name,
          'create',
          `the hook's create failed: ${r.ok ? 'it answered no machineId' : r.message}`,
        );
        break;
      }
      const machineId = r.machineId;
      await updateState(this.d.store, pool.name, (s) => {
        s.inFlight.push({ machineId, tokenId: init.tokenId, requestedAt: this.now() });
        s.lastScaleUpAt = this.now();
      });
      made++;
      await this.log.act('autoscale.scale-up', pool.name, `pool ${pool.name}: machine ${machineId} created (${why})`, {
        machineId,
      });
    }
    return made;
  }

  /** Moves machines whose node is Ready out of flight; deletes the ones past maxNodeProvisionTime. */
  async reconcile(
    pool: Pool,
    hook: string | null,
    state: AutoscaleState,
    nodes: NodeRecord[],
    ready: (name: string) => boolean,
  ): Promise<void> {
    const byToken = new Map(nodes.map((n) => [n.tokenId, n]));
    const limit = parseDuration(pool.autoscale.maxNodeProvisionTime);
    for (const m of state.inFlight) {
      const node = byToken.get(m.tokenId);
      if (node && ready(node.name)) {
        await updateState(this.d.store, pool.name, (s) => {
          s.inFlight = s.inFlight.filter((x) => x.machineId !== m.machineId);
          s.machines[node.id] = m.machineId;
          s.failures = 0;
          s.lastFailure = null;
        });
        await this.log.act(
          'autoscale.node-ready',
          pool.name,
          `pool ${pool.name}: ${node.name} (machine ${m.machineId}) is Ready`,
          { machineId: m.machineId },
          node.id,
        );
        continue;
      }
      if (this.now() - m.requestedAt <= limit) continue;
      if (hook) {
        const target = hookNode(node, { id: node?.id ?? '', name: node?.name ?? '' }, m.machineId, []);
        const r = await runHook(hook, { action: 'delete', pool: pool.name, node: target });
        if (!r.ok) this.countHookFailure(pool.name, 'delete');
        if (!r.ok)
          await this.log.act(
            'autoscale.failed',
            pool.name,
            `pool ${pool.name}: deleting machine ${m.machineId} failed: ${r.message}`,
          );
      }
      if (node) await this.d.removeNode(node.id, 'autoscale');
      await updateState(this.d.store, pool.name, (s) => {
        s.inFlight = s.inFlight.filter((x) => x.machineId !== m.machineId);
      });
      await this.failed(
        pool.name,
        'provision',
        `machine ${m.machineId} was not Ready within ${pool.autoscale.maxNodeProvisionTime}; deleted`,
      );
    }
  }

  /** Deletes the machine of a node through the hook; false when the hook failed. */
  async remove(pool: Pool, hook: string, node: NodeRecord, machineId: string | null): Promise<boolean> {
    const r = await runHook(hook, { action: 'delete', pool: pool.name, node: hookNode(node, node, machineId, []) });
    if (!r.ok) {
      this.countHookFailure(pool.name, 'delete');
      await this.failed(pool.name, 'delete', `the hook's delete of ${node.name} failed: ${r.message}`);
      return false;
    }
    // A delete that works again ends a run of failed deletes (a failed create waits for a Ready node).
    await updateState(this.d.store, pool.name, (s) => {
      if (s.lastFailure?.action !== 'delete') return;
      s.failures = 0;
      s.lastFailure = null;
      s.backoffUntil = 0;
    });
    return true;
  }

  private countHookFailure(pool: string, action: 'create' | 'delete'): void {
    const k = `${pool}\n${action}`;
    this.hookFailures.set(k, (this.hookFailures.get(k) ?? 0) + 1);
  }

  private async failed(pool: string, action: FailedAction, message: string): Promise<void> {
    const s = await updateState(this.d.store, pool, (st) => {
      st.failures += 1;
      st.lastFailure = { action, message: message.slice(0, 500) };
      st.backoffUntil = this.now() + backoffMs(st.failures);
    });
    await this.log.act(
      'autoscale.failed',
      pool,
      `pool ${pool}: ${message}; next try in ${Math.round(backoffMs(s.failures) / 1000)} s`,
      {
        failures: s.failures,
      },
    );
  }
}
