// Every route registered on a fastify listener (HEAD routes left out), from its onRoute hook: what
// the access tests enumerate, and how a route without an access rule is found.
import type { FastifyInstance } from 'fastify';

export interface RouteEntry {
  method: string;
  url: string;
  config: Record<string, unknown>;
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Start recording; call before any route is registered. */
export function trackRoutes(app: FastifyInstance): void {
  const table: RouteEntry[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as Record<string, unknown>;
    for (const method of [route.method].flat())
      if (method !== 'HEAD') table.push({ method, url: route.url ?? route.path, config });
  });
}

export function routeTable(app: FastifyInstance): RouteEntry[] {
  return [...(tables.get(app) ?? [])];
}
