// NodeGroups over atoll's pools: a pool is a node group, its nodes are the instances (providerID
// atoll://<node id>), machines come and go through the pool's provider hook (machine-hook.ts). Size
// changes are recorded durably and answered at once (cluster-autoscaler calls with a short deadline);
// the hook and node removal run after, and what they do shows in the instances' status.
import { randomBytes } from 'node:crypto';
import type { NodeRecord, Pool, Store } from '../../store/types.js';
import type { EventLog } from '../../events.js';
import type { Logger } from '../../logger.js';
import type { RemoveNode } from '../../nodes/node-removal.js';
import type { ExternalDrive } from './external-drive.js';
import { GroupRecords, MAX_REQUESTS, type GroupRecord } from './group-records.js';
import {
  groupView,
  instancesOf,
  needsSettling,
  pendingRequests,
  settle,
  templateOf,
  type Bounds,
} from './group-view.js';
import type { MachineHook } from './machine-hook.js';
import {
  checkNodeName,
  GroupError,
  type GroupOptions,
  type GroupRef,
  type GroupView,
  type InstanceRef,
  type InstanceView,
  type NodeGroups,
} from './node-groups.js';
import { GroupDeletions } from './group-deletions.js';

export interface PoolGroupsDeps {
  store: Store;
  events: EventLog;
  logger: Logger;
  drive: ExternalDrive;
  hook: MachineHook;
  removeNode: RemoveNode;
  /** The pool's size bounds. */
  bounds(pool: Pool): Bounds;
  /** The pool's autoscale settings as cluster-autoscaler options. */
  options(pool: Pool): GroupOptions;
  now?: () => number;
}

const POOL_NAME_MAX = 253;

export class PoolGroups implements NodeGroups {
  private readonly records: GroupRecords;
  private readonly deletions: GroupDeletions;
  private readonly now: () => number;

  constructor(private readonly d: PoolGroupsDeps) {
    this.records = new GroupRecords(d.store);
    this.now = d.now ?? Date.now;
    this.deletions = new GroupDeletions({ ...d, records: this.records });
  }

  async groups(): Promise<GroupView[]> {
    const [all, nodes] = await Promise.all([this.d.store.listPools(), this.d.store.listNodes()]);
    const pools: Pool[] = [];
    for (const p of all) if (!(await this.notAGroup(p))) pools.push(p);
    const recs = await this.records.getMany(pools.map((p) => p.name));
    return pools.map((p) => this.view(p, membersOf(nodes, p.name), recs.get(p.name)!));
  }

  async group(id: string): Promise<GroupView> {
    const { pool, members, rec } = await this.load(id);
    return this.view(pool, members, rec);
  }

  async groupOfNode(nodeId: string, nodeName: string): Promise<GroupRef | undefined> {
    const node = await this.d.store.getNode(nodeId);
    if (!node) return undefined;
    checkNodeName(node, nodeName);
    const pool = await this.d.store.getPool(node.pool);
    if (!pool || (await this.notAGroup(pool))) return undefined;
    const b = this.d.bounds(pool);
    return { id: pool.name, ...b, debug: `atoll pool ${pool.name}: min ${b.minSize}, max ${b.maxSize}` };
  }

  async increaseSize(id: string, delta: number, actor: string): Promise<void> {
    if (!Number.isInteger(delta) || delta <= 0)
      throw new GroupError('GROUP_INVALID_ARGUMENT', `delta must be positive (got ${delta})`);
    const { pool, members } = await this.load(id);
    if (!(await this.d.hook.has(pool.name)))
      throw new GroupError(
        'GROUP_NO_HOOK',
        `pool ${pool.name} has no provider hook to create machines with (set autoheal.hook on the pool)`,
      );
    const at = new Date(this.now()).toISOString();
    const made: string[] = [];
    let from = 0;
    await this.records.update(pool.name, (rec) => {
      const v = this.view(pool, members, rec);
      if (v.targetSize + delta > v.maxSize)
        throw new GroupError(
          'GROUP_SIZE_OUT_OF_RANGE',
          `pool ${pool.name}: target ${v.targetSize} + ${delta} would exceed maxSize ${v.maxSize}`,
        );
      if (rec.requests.length + delta > MAX_REQUESTS)
        throw new GroupError('GROUP_SIZE_OUT_OF_RANGE', `pool ${pool.name} has too many machine requests`);
      from = v.targetSize;
      for (let i = 0; i < delta; i++) {
        const rid = randomBytes(6).toString('hex');
        made.push(rid);
        rec.requests.push({ id: rid, requestedAt: at, tokenId: null, machineId: null, error: null, deleting: false });
      }
      return rec;
    });
    await this.d.events.record({
      type: 'autoscale.external.scale-up',
      pool: pool.name,
      actor,
      message: `cluster-autoscaler raised pool ${pool.name} from ${from} to ${from + delta}: asking the provider hook for ${delta} machine(s)`,
      data: { from, to: from + delta, requests: made },
    });
    for (const rid of made) this.deletions.track(this.create(pool.name, rid, actor));
  }

  async decreaseTargetSize(id: string, delta: number, actor: string): Promise<void> {
    if (!Number.isInteger(delta) || delta >= 0)
      throw new GroupError('GROUP_INVALID_ARGUMENT', `delta must be negative (got ${delta})`);
    const { pool, members } = await this.load(id);
    let dropped: GroupRecord['requests'] = [];
    await this.records.update(pool.name, (rec) => {
      const pending = pendingRequests(rec, members);
      if (-delta > pending.length)
        throw new GroupError(
          'GROUP_SIZE_OUT_OF_RANGE',
          `pool ${pool.name} has ${pending.length} machine request(s) not fulfilled; cannot drop ${-delta} (delete nodes instead)`,
        );
      dropped = pending.slice(pending.length + delta);
      const gone = new Set(dropped.map((r) => r.id));
      rec.requests = rec.requests.filter((r) => !gone.has(r.id));
      return rec;
    });
    await this.d.events.record({
      type: 'autoscale.external.decrease-target',
      pool: pool.name,
      actor,
      message: `cluster-autoscaler dropped ${-delta} machine request(s) of pool ${pool.name} not fulfilled yet`,
      data: { requests: dropped.map((r) => r.id) },
    });
    for (const r of dropped)
      if (r.machineId) this.deletions.track(this.deletions.deleteMachine(pool.name, r, actor));
      else this.deletions.track(this.deletions.revokeToken(pool.name, r.tokenId, `machine request ${r.id} dropped`));
  }

  async deleteNodes(id: string, instances: InstanceRef[], actor: string): Promise<void> {
    const { pool, members } = await this.load(id);
    await this.deletions.deleteNodes(pool, members, this.d.bounds(pool), instances, actor);
  }

  async instances(id: string): Promise<InstanceView[]> {
    const { members, rec } = await this.load(id);
    return instancesOf(members, rec);
  }

  async template(id: string) {
    const { pool, members, rec } = await this.load(id);
    return templateOf(pool, members, rec);
  }

  async options(id: string): Promise<GroupOptions> {
    const { pool } = await this.load(id);
    return this.d.options(pool);
  }

  async refresh(): Promise<void> {
    const [all, nodes] = await Promise.all([this.d.store.listPools(), this.d.store.listNodes()]);
    const pools = all.filter((p) => p.autoscale.enabled);
    const recs = await this.records.getMany(pools.map((p) => p.name));
    for (const p of pools) await this.settle(p.name, membersOf(nodes, p.name), recs.get(p.name)!);
  }

  /** Waits (bounded) for the hook calls and removals under way. */
  close(timeoutMs = 5_000): Promise<void> {
    return this.deletions.drain(timeoutMs);
  }

  /**
   * Why a pool is not a node group, or undefined when it is: it opted in (autoscale enabled, as for
   * the built-in autoscaler) and its provider hook can create and delete machines.
   */
  private async notAGroup(pool: Pool): Promise<string | undefined> {
    if (!pool.autoscale.enabled)
      return `pool ${pool.name} is not a node group: its autoscale is off (atoll-hub pool update ${pool.name} --autoscale-enabled true)`;
    return this.d.hook.problem(pool.name);
  }

  private view(pool: Pool, members: NodeRecord[], rec: GroupRecord): GroupView {
    return groupView(pool, members, rec, this.d.bounds(pool));
  }

  /** The pool named by a call (NOT_FOUND otherwise), marked as externally driven; its nodes and record, settled. */
  private async load(id: string): Promise<{ pool: Pool; members: NodeRecord[]; rec: GroupRecord }> {
    const pool = id && id.length <= POOL_NAME_MAX ? await this.d.store.getPool(id) : undefined;
    if (!pool) throw new GroupError('GROUP_NOT_FOUND', `no node group ${JSON.stringify(String(id).slice(0, 80))}`);
    const why = await this.notAGroup(pool);
    if (why) throw new GroupError(pool.autoscale.enabled ? 'GROUP_NO_HOOK' : 'GROUP_NOT_FOUND', why);
    if (await this.d.drive.mark(pool.name))
      await this.d.events.note({
        type: 'autoscale.external.driven',
        pool: pool.name,
        actor: 'cluster-autoscaler',
        message: `cluster-autoscaler drives pool ${pool.name} now: the built-in autoscaler leaves it alone`,
      });
    const members = membersOf(await this.d.store.listNodes(), pool.name);
    const rec = await this.settle(pool.name, members, await this.records.get(pool.name));
    return { pool, members, rec };
  }

  private async settle(pool: string, members: NodeRecord[], rec: GroupRecord): Promise<GroupRecord> {
    if (!needsSettling(members, rec)) return rec;
    const at = new Date(this.now()).toISOString();
    return this.records.update(pool, (r) => settle(r, members, at));
  }

  /** One requested machine: a join document, then the hook's create; the outcome is kept on the request. */
  private async create(pool: string, rid: string, actor: string): Promise<void> {
    const set = async (patch: Partial<GroupRecord['requests'][number]>): Promise<boolean> =>
      (
        await this.records.update(pool, (rec) => {
          const r = rec.requests.find((x) => x.id === rid);
          if (r) Object.assign(r, patch);
          return rec;
        })
      ).requests.some((x) => x.id === rid);
    let tokenId: string | null = null;
    const revoke = (why: string) => this.deletions.revokeToken(pool, tokenId, why);
    try {
      const init = await this.d.hook.joinDocument(pool, actor);
      tokenId = init.tokenId;
      // Dropped (DecreaseTargetSize, DeleteNodes) before its token was recorded: no machine for it.
      if (!(await set({ tokenId }))) return await revoke(`machine request ${rid} was dropped`);
      const r = await this.d.hook.create(pool, init.doc);
      if (r.ok) {
        const machineId = r.machineId ?? null;
        if (await set({ machineId })) return;
        // Dropped while the hook made it: its token is revoked, so it would never join. Delete it.
        if (machineId) await this.deletions.deleteMachine(pool, { ...dropped(rid), tokenId, machineId }, actor);
        return;
      }
      await revoke(`the provider hook could not create its machine`);
      await set({ error: { code: 'HOOK_CREATE_FAILED', message: r.message } });
      await this.d.events.record({
        type: 'autoscale.external.create-failed',
        pool,
        actor: 'hub',
        message: `the provider hook could not create a machine for pool ${pool}: ${r.message}`,
        data: { request: rid },
      });
    } catch (err) {
      this.d.logger.warn({ pool, request: rid, err: (err as Error).message }, 'machine request failed');
      await revoke('its machine request failed').catch(() => undefined);
      await set({ error: { code: 'CREATE_FAILED', message: (err as Error).message.slice(0, 300) } }).catch(
        () => undefined,
      );
    }
  }
}

/** A request no longer in the record, for deleting the machine made for it. */
function dropped(id: string): GroupRecord['requests'][number] {
  return { id, requestedAt: '', tokenId: null, machineId: null, error: null, deleting: true };
}

function membersOf(nodes: readonly NodeRecord[], pool: string): NodeRecord[] {
  return nodes.filter((n) => n.pool === pool);
}
