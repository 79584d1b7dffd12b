// API roles and permissions. Every /v1 route needs one permission, derived from its method and URL
// pattern (or set explicitly with `config: { permission }` on the route); a role is a set of them.
// Anything not listed below that changes state needs `admin`, so new routes are closed by default.

export const API_ROLES = ['read-only', 'operator'] as const;
export type ApiRole = (typeof API_ROLES)[number];
export type Role = ApiRole | 'admin';

export const PERMISSIONS = [
  'read', 'nodes:act', 'nodes:remove', 'nodes:settings', 'pools:write', 'tokens:write', 'cluster:settings',
  'cluster:kubeconfig', 'api-tokens:write', 'admin',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS: Record<Role, readonly Permission[]> = {
  'read-only': ['read'],
  // Operators act on nodes (actions, removal) but manage no tokens, pools or settings.
  operator: ['read', 'nodes:act', 'nodes:remove'],
  admin: PERMISSIONS,
};

export function roleAllows(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

export function permissionsOf(role: Role): Permission[] {
  return [...GRANTS[role]];
}

/** The permission a route needs: `method` upper case, `url` the route pattern (e.g. /v1/nodes/:id). */
export function permissionFor(method: string, url: string, explicit?: unknown): Permission {
  if (typeof explicit === 'string' && (PERMISSIONS as readonly string[]).includes(explicit)) return explicit as Permission;
  const read = method === 'GET' || method === 'HEAD';
  if (url === '/v1/cluster/kubeconfig') return 'cluster:kubeconfig';
  // A GET that mints a join token.
  if (url === '/v1/pools/:pool/cloud-init') return 'tokens:write';
  if (read) return 'read';
  if (url === '/v1/nodes/:id/actions/:action') return 'nodes:act';
  if (url === '/v1/nodes/:id') return method === 'DELETE' ? 'nodes:remove' : 'nodes:settings';
  if (url.startsWith('/v1/api-tokens')) return 'api-tokens:write';
  if (url.startsWith('/v1/tokens') || url === '/v1/join-command') return 'tokens:write';
  if (url.startsWith('/v1/pools')) return 'pools:write';
  // Restarting the control plane cuts the Kubernetes API for everyone: admins only.
  if (url === '/v1/cluster/actions/restart-control-plane') return 'admin';
  if (url.startsWith('/v1/cluster/')) return 'cluster:settings';
  return 'admin';
}
