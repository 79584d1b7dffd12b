// Where the apiserver keeps each object in etcd (and so in kine's `name` column):
// /registry/<prefix>/[<namespace>/]<name>, with the apiserver's historical prefixes (nodes are
// "minions", services "services/specs", endpoints "services/endpoints").
import { RESOURCE_TYPES, storageKey } from '../resource-types.js';

export const MASTERLEASES = 'masterleases';

const SPECIAL: Readonly<Record<string, string>> = {
  nodes: 'minions',
  services: 'services/specs',
  endpoints: 'services/endpoints',
};

interface Mapping {
  readonly resource: string;
  readonly prefix: string;
  readonly namespaced: boolean;
}

const MAPPINGS: readonly Mapping[] = [
  ...RESOURCE_TYPES.map((rt) => ({
    resource: storageKey(rt),
    prefix: `/registry/${SPECIAL[storageKey(rt)] ?? rt.plural}/`,
    namespaced: rt.namespaced,
  })),
  { resource: MASTERLEASES, prefix: '/registry/masterleases/', namespaced: false },
].sort((a, b) => b.prefix.length - a.prefix.length);

export const REGISTRY_PREFIX = '/registry/';

export function kineKey(resource: string, ns: string | undefined, name: string): string {
  const m = MAPPINGS.find((x) => x.resource === resource);
  const prefix = m?.prefix ?? `/registry/${resource}/`;
  return ns ? `${prefix}${ns}/${name}` : `${prefix}${name}`;
}

/** The resource, namespace and name a key stands for; undefined for keys that hold no object. */
export function parseKineKey(key: string): { resource: string; ns?: string; name: string } | undefined {
  const m = MAPPINGS.find((x) => key.startsWith(x.prefix));
  if (!m) return undefined;
  const rest = key.slice(m.prefix.length).split('/');
  if (m.namespaced && rest.length === 2 && rest[0] && rest[1])
    return { resource: m.resource, ns: rest[0], name: rest[1] };
  if (!m.namespaced && rest.length === 1 && rest[0]) return { resource: m.resource, name: rest[0] };
  return undefined;
}
