// Pure views of one pool as a node group: its size, its instances, its template, and what a
// record needs settled (requests whose machine joined, deletions that finished).
import type { NodeRecord, Pool } from '../../store/types.js';
import type { GroupRecord, MachineRequest, NodeShape } from './group-records.js';
import {
  ERROR_CLASS_OTHER,
  GroupError,
  providerIdOf,
  requestInstanceId,
  type GroupView,
  type InstanceView,
  type TemplateView,
} from './node-groups.js';

export interface Bounds {
  minSize: number;
  maxSize: number;
}

/** Requests whose node has not joined and that are not being deleted: machines still to come. */
export function pendingRequests(rec: GroupRecord, members: readonly NodeRecord[]): MachineRequest[] {
  const joined = new Set(members.map((n) => n.tokenId));
  return rec.requests.filter((r) => !r.deleting && !(r.tokenId && joined.has(r.tokenId)));
}

export function groupView(pool: Pool, members: readonly NodeRecord[], rec: GroupRecord, b: Bounds): GroupView {
  const live = members.filter((n) => !rec.deleting[n.id]).length;
  const pending = pendingRequests(rec, members).length;
  return {
    id: pool.name,
    minSize: b.minSize,
    maxSize: b.maxSize,
    targetSize: live + pending,
    debug: `atoll pool ${pool.name}: ${live} nodes, ${pending} requested, min ${b.minSize}, max ${b.maxSize}`,
  };
}

export function instancesOf(members: readonly NodeRecord[], rec: GroupRecord): InstanceView[] {
  const out: InstanceView[] = members.map((n) => {
    const del = rec.deleting[n.id];
    if (del)
      return {
        id: providerIdOf(n.id),
        state: 'deleting',
        ...(del.error ? { error: { code: 'DELETE_FAILED', message: del.error, errorClass: ERROR_CLASS_OTHER } } : {}),
      };
    return { id: providerIdOf(n.id), state: n.state === 'joining' ? 'creating' : 'running' };
  });
  for (const r of pendingRequests(rec, members).concat(rec.requests.filter((r) => r.deleting))) {
    out.push({
      id: requestInstanceId(r.id),
      state: r.deleting ? 'deleting' : 'creating',
      ...(r.error ? { error: { ...r.error, errorClass: ERROR_CLASS_OTHER } } : {}),
    });
  }
  return out;
}

/** Whether the record needs settling: a request fulfilled, a deletion finished, a shape to keep. */
export function needsSettling(members: readonly NodeRecord[], rec: GroupRecord): boolean {
  const ids = new Set(members.map((n) => n.id));
  const tokens = new Set(members.map((n) => n.tokenId));
  return (
    rec.requests.some((r) => !r.deleting && r.tokenId && tokens.has(r.tokenId)) ||
    Object.keys(rec.deleting).some((id) => !ids.has(id)) ||
    Object.keys(rec.machines).some((id) => !ids.has(id)) ||
    Boolean(sized(members) && !sameShape(rec.shape, shapeOf(sized(members)!, '')))
  );
}

/** Settles the record against the pool's nodes (inside a compare-and-set). */
export function settle(rec: GroupRecord, members: readonly NodeRecord[], nowIso: string): GroupRecord {
  const byToken = new Map(members.map((n) => [n.tokenId, n]));
  const ids = new Set(members.map((n) => n.id));
  const requests: MachineRequest[] = [];
  for (const r of rec.requests) {
    const joined = !r.deleting && r.tokenId ? byToken.get(r.tokenId) : undefined;
    if (joined) {
      if (r.machineId) rec.machines[joined.id] = r.machineId;
    } else requests.push(r);
  }
  rec.requests = requests;
  for (const id of Object.keys(rec.deleting)) if (!ids.has(id)) delete rec.deleting[id];
  for (const id of Object.keys(rec.machines)) if (!ids.has(id)) delete rec.machines[id];
  const n = sized(members);
  if (n) rec.shape = shapeOf(n, nowIso);
  return rec;
}

/** The first node that reported its size (an agent that never did says 0). */
function sized(members: readonly NodeRecord[]): NodeRecord | undefined {
  return members.find((n) => n.facts.cpus > 0 && n.facts.memoryBytes > 0);
}

function shapeOf(n: NodeRecord, seenAt: string): NodeShape {
  return {
    cpus: n.facts.cpus,
    memoryBytes: n.facts.memoryBytes,
    arch: n.facts.arch || 'amd64',
    os: 'linux',
    seenAt,
  };
}

function sameShape(a: NodeShape | null, b: NodeShape): boolean {
  return Boolean(a && a.cpus === b.cpus && a.memoryBytes === b.memoryBytes && a.arch === b.arch);
}

/** The kubelet's default hard eviction threshold: allocatable memory is capacity less this. */
const EVICTION_MEMORY_BYTES = 100 * 1024 * 1024;
const MAX_PODS = '110';

/** A new node of the pool: its labels and taints, and the size of its nodes (now, or the last seen). */
export function templateOf(pool: Pool, members: readonly NodeRecord[], rec: GroupRecord): TemplateView {
  const n = sized(members);
  const shape = n ? shapeOf(n, '') : rec.shape;
  if (!shape)
    throw new GroupError(
      'GROUP_NO_TEMPLATE',
      `pool ${pool.name} has had no node that reported its size: the hub does not know what its machines look like`,
    );
  const name = `${pool.name}-template`;
  const kib = (bytes: number): string => `${Math.floor(bytes / 1024)}Ki`;
  return {
    name,
    labels: {
      ...pool.labels,
      'atoll.dev/pool': pool.name,
      'kubernetes.io/arch': shape.arch,
      'kubernetes.io/os': shape.os,
      'kubernetes.io/hostname': name,
    },
    taints: [...pool.taints],
    capacity: { cpu: String(shape.cpus), memory: kib(shape.memoryBytes), pods: MAX_PODS },
    allocatable: {
      cpu: String(shape.cpus),
      memory: kib(Math.max(0, shape.memoryBytes - EVICTION_MEMORY_BYTES)),
      pods: MAX_PODS,
    },
    arch: shape.arch,
    os: shape.os,
  };
}
