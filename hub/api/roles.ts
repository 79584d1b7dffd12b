// API roles and permissions, and the access rule of every route on the API listener.
//
// Deny by default: a route runs only when it declares who may call it. A route declares it either
// with `config: { public: true }` (no token: liveness, the dashboard's static files, the OpenAPI
// document), with `config: { permission }`, or by an entry in ROUTE_PERMISSIONS below (one table,
// so the whole policy can be read in one place). A route with none of these answers 403 for every
// caller, admin included, and never runs. Authorization always looks at the route that matched
// (fastify's routeOptions), never at the raw request path, so percent-escapes, dot segments and
// absolute-form targets cannot steer around it.

export const API_ROLES = ['read-only', 'operator', 'scrape'] as const;
export type ApiRole = (typeof API_ROLES)[number];
export type Role = ApiRole | 'admin';

export const PERMISSIONS = [
  'read',
  'metrics',
  'nodes:act',
  'nodes:remove',
  'nodes:settings',
  'pools:write',
  'tokens:write',
  'cluster:settings',
  'cluster:kubeconfig',
  'api-tokens:write',
  'admin',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS: Record<Role, readonly Permission[]> = {
  // Prometheus: /metrics and nothing else.
  scrape: ['metrics'],
  'read-only': ['read', 'metrics'],
  // Operators act on nodes (actions, removal) but manage no tokens, pools or settings.
  operator: ['read', 'metrics', 'nodes:act', 'nodes:remove'],
  admin: PERMISSIONS,
};

/** `METHOD /route/pattern` -> permission. HEAD uses its GET's entry. */
export const ROUTE_PERMISSIONS: Readonly<Record<string, Permission>> = Object.freeze({
  'GET /metrics': 'metrics',
  'GET /v1/whoami': 'read',
  'GET /v1/cluster': 'read',
  'GET /v1/cluster/kubeconfig': 'cluster:kubeconfig',
  'PUT /v1/cluster/autoheal': 'cluster:settings',
  'GET /v1/cluster/auto-upgrade': 'read',
  'PUT /v1/cluster/auto-upgrade': 'cluster:settings',
  'POST /v1/cluster/actions/restart-control-plane': 'admin',
  'GET /v1/artifacts': 'read',
  'GET /v1/pools': 'read',
  'POST /v1/pools': 'pools:write',
  'GET /v1/pools/:pool': 'read',
  'PATCH /v1/pools/:pool': 'pools:write',
  'DELETE /v1/pools/:pool': 'pools:write',
  'POST /v1/pools/:pool/scale': 'pools:write',
  // A GET that mints a join token.
  'GET /v1/pools/:pool/cloud-init': 'tokens:write',
  'GET /v1/tokens': 'read',
  'POST /v1/tokens': 'tokens:write',
  'DELETE /v1/tokens/:id': 'tokens:write',
  'POST /v1/join-command': 'tokens:write',
  'GET /v1/nodes': 'read',
  'GET /v1/nodes/:id': 'read',
  'PATCH /v1/nodes/:id': 'nodes:settings',
  'DELETE /v1/nodes/:id': 'nodes:remove',
  'GET /v1/nodes/:id/commands': 'read',
  'GET /v1/nodes/:id/commands/:commandId': 'read',
  'GET /v1/nodes/:id/health-history': 'read',
  'POST /v1/nodes/:id/actions/:action': 'nodes:act',
  'GET /v1/events': 'read',
  'GET /v1/certificates': 'read',
  'GET /v1/events/stream': 'read',
  'GET /v1/upgrades': 'read',
  'GET /v1/upgrades/:id': 'read',
  'POST /v1/upgrades': 'admin',
  'POST /v1/upgrades/:id/cancel': 'admin',
  'POST /v1/upgrades/:id/resume': 'admin',
  'POST /v1/upgrades/:id/retry': 'admin',
  'POST /v1/upgrades/:id/dismiss': 'admin',
  'POST /v1/agent-upgrades': 'admin',
  'GET /v1/api-tokens': 'read',
  'POST /v1/api-tokens': 'api-tokens:write',
  'DELETE /v1/api-tokens/:id': 'api-tokens:write',
  // A new admin token (the admin alone: an API token cannot replace the token above it).
  'POST /v1/admin-token/rotate': 'admin',
  // Day 2: version support data and alerts.
  'GET /v1/versions/support': 'read',
  'PUT /v1/versions/support': 'cluster:settings',
  'DELETE /v1/versions/support': 'cluster:settings',
  'GET /v1/alerts': 'read',
  // Several hubs on one datastore.
  'GET /v1/hubs': 'read',
});

export function roleAllows(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

export function permissionsOf(role: Role): Permission[] {
  return [...GRANTS[role]];
}

function isPermission(x: unknown): x is Permission {
  return typeof x === 'string' && (PERMISSIONS as readonly string[]).includes(x);
}

/**
 * The permission a route declares: `method` upper case, `url` the route pattern (e.g.
 * /v1/nodes/:id), `explicit` the route's `config.permission`. undefined: the route declares none,
 * and nobody may call it.
 */
export function permissionFor(method: string, url: string, explicit?: unknown): Permission | undefined {
  if (isPermission(explicit)) return explicit;
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  return ROUTE_PERMISSIONS[`${m} ${url}`];
}
