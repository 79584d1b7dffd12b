// NodeGroupDeleteNodes: checks every named instance belongs to the group and that the group stays at
// or above minSize, marks them deleting (durably, at once), then per node: cordon, drain and remove
// it as an operator's removal does (nodes/node-removal.ts), and delete its machine through the hook;
// per machine request: delete the machine the hook made, if any. Failures stay on the instance.
import type { NodeRecord, Pool } from '../../store/types.js';
import type { EventLog } from '../../events.js';
import type { Logger } from '../../logger.js';
import type { RemoveNode } from '../../nodes/node-removal.js';
import type { Store } from '../../store/types.js';
import { readState } from '../state.js';
import type { GroupRecords, MachineRequest } from './group-records.js';
import type { MachineHook } from './machine-hook.js';
import { groupView, type Bounds } from './group-view.js';
import { checkNodeName, GroupError, parseInstanceId, type InstanceRef } from './node-groups.js';
import { waitAtMost } from '../../../certs/wait-at-most.js';

export interface GroupDeletionsDeps {
  store: Store;
  records: GroupRecords;
  events: EventLog;
  logger: Logger;
  hook: MachineHook;
  removeNode: RemoveNode;
  now?: () => number;
}

/** The most instances one call may name. */
export const MAX_DELETE_NODES = 1000;

export class GroupDeletions {
  /** Hook calls and removals under way (awaited, bounded, when the hub stops). */
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly d: GroupDeletionsDeps) {}

  track(p: Promise<void>): void {
    const t: Promise<void> = p
      .catch((err: unknown) => this.d.logger.warn({ err: (err as Error).message }, 'autoscaler task failed'))
      .then(() => {
        this.running.delete(t);
      });
    this.running.add(t);
  }

  async drain(timeoutMs: number): Promise<void> {
    await waitAtMost(Promise.all(this.running), timeoutMs);
  }

  async deleteNodes(
    pool: Pool,
    members: readonly NodeRecord[],
    bounds: Bounds,
    instances: InstanceRef[],
    actor: string,
  ): Promise<void> {
    if (instances.length === 0) return;
    if (instances.length > MAX_DELETE_NODES)
      throw new GroupError('GROUP_INVALID_ARGUMENT', `at most ${MAX_DELETE_NODES} nodes per call`);
    const byId = new Map(members.map((n) => [n.id, n]));
    const nodes: NodeRecord[] = [];
    const requests = new Set<string>();
    const seen = new Set<string>();
    for (const { providerId: raw, name } of instances) {
      if (seen.has(raw)) continue;
      seen.add(raw);
      const parsed = parseInstanceId(raw);
      const node = parsed && 'node' in parsed ? byId.get(parsed.node) : undefined;
      if (node) {
        checkNodeName(node, name);
        nodes.push(node);
      } else if (parsed && 'request' in parsed) requests.add(parsed.request);
      else
        throw new GroupError(
          'GROUP_NOT_MEMBER',
          `${JSON.stringify(raw.slice(0, 140))} is not a node of node group ${pool.name}`,
        );
    }
    const at = new Date((this.d.now ?? Date.now)()).toISOString();
    let doomed: MachineRequest[] = [];
    await this.d.records.update(pool.name, (rec) => {
      for (const rid of requests)
        if (!rec.requests.some((r) => r.id === rid))
          throw new GroupError('GROUP_NOT_MEMBER', `machine request ${rid} is not one of node group ${pool.name}`);
      // The size as of this record (inside the compare-and-set): two calls at once cannot both pass minSize.
      const view = groupView(pool, members, rec, bounds);
      const fresh = nodes.filter((n) => !rec.deleting[n.id]).length;
      const freshRequests = rec.requests.filter((r) => requests.has(r.id) && !r.deleting).length;
      if (view.targetSize - fresh - freshRequests < view.minSize && fresh > 0)
        throw new GroupError(
          'GROUP_SIZE_OUT_OF_RANGE',
          `pool ${pool.name}: deleting ${fresh} node(s) would take it below minSize ${view.minSize}`,
        );
      for (const n of nodes) rec.deleting[n.id] ??= { since: at, error: null };
      doomed = rec.requests.filter((r) => requests.has(r.id));
      for (const r of doomed) r.deleting = true;
      return rec;
    });
    await this.d.events.record({
      type: 'autoscale.external.delete',
      pool: pool.name,
      actor,
      message: `cluster-autoscaler deletes ${nodes.length} node(s) of pool ${pool.name}${nodes.length ? `: ${nodes.map((n) => n.name).join(', ')}` : ''}${doomed.length ? ` and ${doomed.length} machine request(s)` : ''}`,
      data: { nodes: nodes.map((n) => n.id), requests: doomed.map((r) => r.id) },
    });
    for (const n of nodes) this.track(this.deleteNode(pool.name, n, actor));
    for (const r of doomed) this.track(this.deleteMachine(pool.name, r, actor));
  }

  private async deleteNode(pool: string, node: NodeRecord, actor: string): Promise<void> {
    try {
      // Made for cluster-autoscaler (this record) or by the built-in autoscaler (its state).
      const machineId =
        (await this.d.records.get(pool)).machines[node.id] ??
        (await readState(this.d.store, pool)).machines[node.id] ??
        null;
      await this.d.removeNode(node.id, actor);
      if (await this.d.hook.has(pool)) {
        const r = await this.d.hook.delete(pool, node, { id: node.id, name: node.name }, machineId);
        if (!r.ok)
          throw new GroupError('GROUP_NO_HOOK', `the provider hook could not delete the machine: ${r.message}`);
      }
      await this.d.records.update(pool, (rec) => {
        delete rec.deleting[node.id];
        delete rec.machines[node.id];
        return rec;
      });
    } catch (err) {
      const message = (err as Error).message.slice(0, 300);
      await this.d.records.update(pool, (rec) => {
        if (rec.deleting[node.id]) rec.deleting[node.id].error = message;
        return rec;
      });
      await this.d.events.note({
        type: 'autoscale.external.delete-failed',
        nodeId: node.id,
        pool,
        actor: 'hub',
        message: `deleting node ${node.name} for cluster-autoscaler failed: ${message}`,
      });
    }
  }

  /** Revokes the join token of a machine request that will not join (its create failed, or it was dropped). */
  async revokeToken(pool: string, tokenId: string | null, why: string): Promise<void> {
    if (!tokenId || (await this.d.store.getToken(tokenId))?.revokedAt !== null) return;
    await this.d.store.revokeToken(tokenId, new Date((this.d.now ?? Date.now)()).toISOString());
    await this.d.events.note({
      type: 'token.revoked',
      pool,
      actor: 'hub',
      message: `join token ${tokenId} revoked: ${why}`,
      data: { tokenId },
    });
  }

  /** Deletes the machine a request made (if the hook made one), revokes its token and forgets the request. */
  async deleteMachine(pool: string, r: MachineRequest, actor: string): Promise<void> {
    await this.revokeToken(pool, r.tokenId, `cluster-autoscaler dropped its machine request ${r.id}`);
    let error: string | null = null;
    if (r.machineId) {
      const res = await this.d.hook.delete(pool, undefined, { id: `request-${r.id}`, name: '' }, r.machineId);
      if (!res.ok) error = res.message;
    }
    await this.d.records.update(pool, (rec) => {
      const cur = rec.requests.find((x) => x.id === r.id);
      if (error && cur) cur.error = { code: 'HOOK_DELETE_FAILED', message: error };
      else rec.requests = rec.requests.filter((x) => x.id !== r.id);
      return rec;
    });
    if (error)
      await this.d.events.note({
        type: 'autoscale.external.delete-failed',
        pool,
        actor,
        message: `the provider hook could not delete machine ${r.machineId} of pool ${pool}: ${error}`,
      });
  }
}
