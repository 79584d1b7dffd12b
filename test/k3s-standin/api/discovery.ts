// Legacy discovery documents (/api, /apis, /api/v1, /apis/<g>/<v>) and /version. kubectl asks for
// aggregated discovery first and falls back to these when it gets plain application/json.
import { GROUPS, RESOURCE_TYPES, VERBS, groupVersion, type ResourceType } from '../store/resource-types.js';
import type { BuildInfo } from '../version.js';

function resourceEntries(rts: readonly ResourceType[]): unknown[] {
  const out: unknown[] = [];
  for (const rt of rts) {
    out.push({
      name: rt.plural,
      singularName: rt.singular,
      namespaced: rt.namespaced,
      kind: rt.kind,
      verbs: [...VERBS],
      ...(rt.shortNames.length ? { shortNames: rt.shortNames } : {}),
    });
    for (const sub of rt.subresources) {
      if (sub === 'eviction') {
        out.push({
          name: `${rt.plural}/eviction`,
          singularName: '',
          namespaced: rt.namespaced,
          group: 'policy',
          version: 'v1',
          kind: 'Eviction',
          verbs: ['create'],
        });
      } else {
        out.push({
          name: `${rt.plural}/${sub}`,
          singularName: '',
          namespaced: rt.namespaced,
          kind: rt.kind,
          verbs: ['get', 'patch', 'update'],
        });
      }
    }
  }
  return out;
}

export function apiVersions(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupList(): unknown {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: GROUPS.map((g) => ({
      name: g,
      versions: [{ groupVersion: `${g}/v1`, version: 'v1' }],
      preferredVersion: { groupVersion: `${g}/v1`, version: 'v1' },
    })),
  };
}

export function apiGroup(group: string): unknown | undefined {
  if (!GROUPS.includes(group)) return undefined;
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: group,
    versions: [{ groupVersion: `${group}/v1`, version: 'v1' }],
    preferredVersion: { groupVersion: `${group}/v1`, version: 'v1' },
  };
}

export function resourceList(group: string, version: string): unknown | undefined {
  const rts = RESOURCE_TYPES.filter((r) => r.group === group && r.version === version);
  if (rts.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupVersion(rts[0] as ResourceType),
    resources: resourceEntries(rts),
  };
}

export function versionInfo(b: BuildInfo): unknown {
  return {
    major: b.major,
    minor: b.minor,
    gitVersion: b.version,
    gitCommit: `${b.commit}${'0'.repeat(32)}`,
    gitTreeState: 'clean',
    buildDate: '2024-12-12T00:00:00Z',
    goVersion: b.goVersion,
    compiler: 'gc',
    platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}
