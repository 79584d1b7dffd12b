// The resource types the stand-in serves, with what discovery says about them.

export interface ResourceType {
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /** Subresources served besides the main one ("status", "eviction"). */
  readonly subresources: readonly string[];
  /** Whether the main endpoint ignores .status (it has a status subresource). */
  readonly hasStatus: boolean;
}

export const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] as const;

const t = (
  plural: string,
  kind: string,
  group: string,
  namespaced: boolean,
  shortNames: string[],
  subresources: string[] = [],
): ResourceType => ({
  plural,
  singular: kind.toLowerCase(),
  kind,
  group,
  version: 'v1',
  namespaced,
  shortNames,
  subresources,
  hasStatus: subresources.includes('status'),
});

export const RESOURCE_TYPES: readonly ResourceType[] = [
  t('namespaces', 'Namespace', '', false, ['ns'], ['status']),
  t('nodes', 'Node', '', false, ['no'], ['status']),
  t('pods', 'Pod', '', true, ['po'], ['status', 'eviction']),
  t('secrets', 'Secret', '', true, []),
  t('configmaps', 'ConfigMap', '', true, ['cm']),
  t('serviceaccounts', 'ServiceAccount', '', true, ['sa']),
  t('services', 'Service', '', true, ['svc'], ['status']),
  t('endpoints', 'Endpoints', '', true, ['ep']),
  t('events', 'Event', '', true, ['ev']),
  t('daemonsets', 'DaemonSet', 'apps', true, ['ds'], ['status']),
  t('replicasets', 'ReplicaSet', 'apps', true, ['rs'], ['status']),
  t('deployments', 'Deployment', 'apps', true, ['deploy'], ['status']),
  t('statefulsets', 'StatefulSet', 'apps', true, ['sts'], ['status']),
  t('poddisruptionbudgets', 'PodDisruptionBudget', 'policy', true, ['pdb'], ['status']),
  t('leases', 'Lease', 'coordination.k8s.io', true, []),
  t('endpointslices', 'EndpointSlice', 'discovery.k8s.io', true, []),
];

export function storageKey(rt: ResourceType): string {
  return rt.group === '' ? rt.plural : `${rt.plural}.${rt.group}`;
}

export function groupVersion(rt: ResourceType): string {
  return rt.group === '' ? rt.version : `${rt.group}/${rt.version}`;
}

export function findType(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function typeByKey(key: string): ResourceType {
  const rt = RESOURCE_TYPES.find((r) => storageKey(r) === key);
  if (!rt) throw new Error(`unknown resource ${key}`);
  return rt;
}

/** group/resource as apiserver messages print it: "pods", "daemonsets.apps". */
export function qualified(rt: ResourceType): string {
  return storageKey(rt);
}

export const GROUPS: readonly string[] = [...new Set(RESOURCE_TYPES.filter((r) => r.group !== '').map((r) => r.group))];
