// meta.k8s.io/v1 Table responses (what `kubectl get` asks for), with the apiserver's columns for
// nodes and pods and the default Name/Created At for everything else.
import { field, isObject, type KubeObject } from '../store/kube-object.js';
import type { ResourceType } from '../store/resource-types.js';
import { humanDuration } from '../util/human-duration.js';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

const col = (name: string, type = 'string', priority = 0, format = ''): Column => ({
  name,
  type,
  format,
  description: name,
  priority,
});

function age(o: KubeObject, now: number): string {
  const ts = o.metadata.creationTimestamp;
  return ts ? humanDuration(now - Date.parse(ts)) : '<unknown>';
}

function nodeStatus(o: KubeObject): string {
  const conds = field(o, 'status', 'conditions');
  const ready = Array.isArray(conds) ? conds.find((c) => isObject(c) && c.type === 'Ready') : undefined;
  const out = [isObject(ready) ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (field(o, 'spec', 'unschedulable') === true) out.push('SchedulingDisabled');
  return out.join(',');
}

function nodeRoles(o: KubeObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size > 0 ? [...roles].sort().join(',') : '<none>';
}

function address(o: KubeObject, type: string): string {
  const addrs = field(o, 'status', 'addresses');
  const a = Array.isArray(addrs) ? addrs.find((x) => isObject(x) && x.type === type) : undefined;
  return isObject(a) ? String(a.address) : '<none>';
}

function podRow(o: KubeObject, now: number): unknown[] {
  const statuses = field(o, 'status', 'containerStatuses');
  const containers = field(o, 'spec', 'containers');
  const total = Array.isArray(containers) ? containers.length : 0;
  const ready = Array.isArray(statuses) ? statuses.filter((s) => isObject(s) && s.ready === true).length : 0;
  const restarts = Array.isArray(statuses)
    ? statuses.reduce((n: number, s) => n + (isObject(s) ? Number(s.restartCount ?? 0) : 0), 0)
    : 0;
  const phase = o.metadata.deletionTimestamp
    ? 'Terminating'
    : String(field(o, 'status', 'reason') ?? field(o, 'status', 'phase') ?? 'Unknown');
  return [
    o.metadata.name,
    `${ready}/${total}`,
    phase,
    restarts,
    age(o, now),
    String(field(o, 'status', 'podIP') ?? '<none>'),
    String(field(o, 'spec', 'nodeName') ?? '<none>'),
    '<none>',
    '<none>',
  ];
}

/** ip:port pairs as `kubectl get endpoints` prints them. */
function endpointsText(o: KubeObject): string {
  const subsets = Array.isArray(o.subsets) ? o.subsets.filter(isObject) : [];
  const pairs = subsets.flatMap((s) => {
    const ports = Array.isArray(s.ports) ? s.ports.filter(isObject).map((p) => String(p.port)) : [];
    const ips = Array.isArray(s.addresses) ? s.addresses.filter(isObject).map((a) => String(a.ip)) : [];
    return ips.flatMap((ip) => ports.map((p) => `${ip}:${p}`));
  });
  return pairs.length ? pairs.join(',') : '<none>';
}

function layout(rt: ResourceType): { columns: Column[]; row: (o: KubeObject, now: number) => unknown[] } {
  if (rt.group === '' && rt.plural === 'nodes') {
    return {
      columns: [
        col('Name', 'string', 0, 'name'),
        col('Status'),
        col('Roles'),
        col('Age'),
        col('Version'),
        col('Internal-IP', 'string', 1),
        col('External-IP', 'string', 1),
        col('OS-Image', 'string', 1),
        col('Kernel-Version', 'string', 1),
        col('Container-Runtime', 'string', 1),
      ],
      row: (o, now) => [
        o.metadata.name,
        nodeStatus(o),
        nodeRoles(o),
        age(o, now),
        String(field(o, 'status', 'nodeInfo', 'kubeletVersion') ?? ''),
        address(o, 'InternalIP'),
        address(o, 'ExternalIP'),
        String(field(o, 'status', 'nodeInfo', 'osImage') ?? '<unknown>'),
        String(field(o, 'status', 'nodeInfo', 'kernelVersion') ?? '<unknown>'),
        String(field(o, 'status', 'nodeInfo', 'containerRuntimeVersion') ?? '<unknown>'),
      ],
    };
  }
  if (rt.group === '' && rt.plural === 'pods') {
    return {
      columns: [
        col('Name', 'string', 0, 'name'),
        col('Ready'),
        col('Status'),
        col('Restarts', 'string'),
        col('Age'),
        col('IP', 'string', 1),
        col('Node', 'string', 1),
        col('Nominated Node', 'string', 1),
        col('Readiness Gates', 'string', 1),
      ],
      row: podRow,
    };
  }
  if (rt.group === '' && rt.plural === 'namespaces') {
    return {
      columns: [col('Name', 'string', 0, 'name'), col('Status'), col('Age')],
      row: (o, now) => [o.metadata.name, String(field(o, 'status', 'phase') ?? ''), age(o, now)],
    };
  }
  if (rt.group === '' && rt.plural === 'secrets') {
    return {
      columns: [col('Name', 'string', 0, 'name'), col('Type'), col('Data', 'integer'), col('Age')],
      row: (o, now) => [
        o.metadata.name,
        String(o.type ?? ''),
        isObject(o.data) ? Object.keys(o.data).length : 0,
        age(o, now),
      ],
    };
  }
  if (rt.group === '' && rt.plural === 'endpoints') {
    return {
      columns: [col('Name', 'string', 0, 'name'), col('Endpoints'), col('Age')],
      row: (o, now) => [o.metadata.name, endpointsText(o), age(o, now)],
    };
  }
  return {
    columns: [col('Name', 'string', 0, 'name'), col('Created At', 'date')],
    row: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
  };
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function toTable(rt: ResourceType, objects: readonly KubeObject[], rv: string, include: IncludeObject): unknown {
  const { columns, row } = layout(rt);
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: rv },
    columnDefinitions: columns,
    rows: objects.map((o) => ({
      cells: row(o, now),
      ...(include === 'None'
        ? {}
        : {
            object:
              include === 'Object'
                ? o
                : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
          }),
    })),
  };
}

/** True when the Accept header asks for a Table (as=Table;g=meta.k8s.io). */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',').some((part) => /;\s*as=Table/.test(part) && /g=meta\.k8s\.io/.test(part));
}
