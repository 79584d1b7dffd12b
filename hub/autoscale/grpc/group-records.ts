// What the hub keeps per pool for cluster-autoscaler: the machines it asked the provider hook for
// that have not joined yet (requests), the nodes it is deleting, the machine id of each node a
// request made, and the last node shape seen (the template once the pool is down to zero). One
// setting per pool, changed only by compare-and-set (store.updateSetting), so two calls never lose
// each other's writes.
import type { Store } from '../../store/types.js';

export interface MachineRequest {
  id: string;
  requestedAt: string;
  /** The single-use join token in the cloud-init the hook got: the node that joins with it fulfils the request. */
  tokenId: string | null;
  /** What the hook said it made; null until it answered. */
  machineId: string | null;
  /** Set when the hook failed: the instance shows it until cluster-autoscaler deletes it. */
  error: { code: string; message: string } | null;
  deleting: boolean;
}

export interface NodeShape {
  cpus: number;
  memoryBytes: number;
  arch: string;
  os: string;
  seenAt: string;
}

export interface GroupRecord {
  requests: MachineRequest[];
  /** node id -> since when it is being deleted (and the error of the last attempt). */
  deleting: Record<string, { since: string; error: string | null }>;
  /** node id -> machine id the hook returned for it. */
  machines: Record<string, string>;
  shape: NodeShape | null;
}

/** Requests per pool at most (maxSize is at most 1000 too). */
export const MAX_REQUESTS = 1000;

const keyOf = (pool: string): string => `autoscale.grpc.group.${pool}`;

export function emptyRecord(): GroupRecord {
  return { requests: [], deleting: {}, machines: {}, shape: null };
}

function normalized(r: GroupRecord | undefined): GroupRecord {
  return { ...emptyRecord(), ...(r ?? {}) };
}

export class GroupRecords {
  constructor(private readonly store: Pick<Store, 'getSetting' | 'updateSetting' | 'getSettings'>) {}

  async get(pool: string): Promise<GroupRecord> {
    return normalized(await this.store.getSetting<GroupRecord>(keyOf(pool)));
  }

  async getMany(pools: readonly string[]): Promise<Map<string, GroupRecord>> {
    const raw = await this.store.getSettings<GroupRecord>(pools.map(keyOf));
    return new Map(pools.map((p) => [p, normalized(raw.get(keyOf(p)))]));
  }

  /** Compare-and-set: `fn` gets the current record (a copy it may change) and returns it; a throw changes nothing. */
  async update(pool: string, fn: (r: GroupRecord) => GroupRecord): Promise<GroupRecord> {
    const next = await this.store.updateSetting<GroupRecord>(keyOf(pool), (cur) =>
      fn(structuredClone(normalized(cur))),
    );
    return normalized(next);
  }
}
