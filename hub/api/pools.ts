// /v1/pools: the default pool always exists; pools carry labels and taints for their nodes, and their
// nodes' lifespan (maxNodeAge).
import type { RoutePlugin } from '../http/route-plugin.js';
import type { HubServices } from './services.js';
import { HubError } from '../errors.js';
import { validateLabels } from '../nodes/enrollment.js';
import { actorOf } from './actor.js';
import { poolAutohealSchema, type PoolAutoheal } from '../autoheal/settings.js';
import type { Pool } from '../store/types.js';
import { parseDuration } from '../duration.js';
import { itemsOf, noContent, params, poolSchema, responses } from './schemas.js';

const NAME = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' } as const;
const TAINT_RE =
  /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?(=[A-Za-z0-9_.-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$/;
const fields = {
  description: { type: 'string', maxLength: 500 },
  labels: { type: 'object', maxProperties: 64, additionalProperties: { type: 'string' } },
  taints: { type: 'array', maxItems: 32, items: { type: 'string', maxLength: 300 } },
  maxNodeAge: { type: ['string', 'null'], maxLength: 32 },
  autoheal: poolAutohealSchema,
} as const;

/** Node lifespan (hub/lifespan/): a duration of at least a second, or null (off). */
function checkMaxNodeAge(v: string | null | undefined): void {
  if (v === undefined || v === null) return;
  let ms: number;
  try {
    ms = parseDuration(v);
  } catch (err) {
    throw new HubError('VALIDATION', `maxNodeAge: ${(err as Error).message}`);
  }
  if (ms < 1000) throw new HubError('VALIDATION', `maxNodeAge: "${v}" is under a second (30d is the recommendation)`);
}

function checkTaints(taints: string[] | undefined): void {
  for (const t of taints ?? [])
    if (!TAINT_RE.test(t)) throw new HubError('VALIDATION', `taint "${t}" must look like key=value:NoSchedule`);
}

export const poolRoutes: RoutePlugin<{ svc: HubServices }> = async (app, { svc }) => {
  const withSettings = async (p: Pool): Promise<Pool & { autoheal: PoolAutoheal }> => ({
    ...p,
    autoheal: await svc.autohealSettings.pool(p.name),
  });
  app.get(
    '/v1/pools',
    {
      schema: { summary: 'List pools with their autoheal settings', response: responses({ 200: itemsOf(poolSchema) }) },
    },
    async () => ({ items: await Promise.all((await svc.store.listPools()).map(withSettings)) }),
  );

  app.post(
    '/v1/pools',
    {
      schema: {
        summary: 'Create a pool',
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: NAME, ...fields },
        },
        response: responses({ 201: poolSchema }),
      },
    },
    async (req, reply) => {
      const body = req.body;
      validateLabels(body.labels ?? {});
      checkTaints(body.taints);
      checkMaxNodeAge(body.maxNodeAge);
      // Refused settings refuse the pool: nothing is created.
      if (body.autoheal) await svc.autohealSettings.checkPool(body.name, body.autoheal);
      const now = new Date().toISOString();
      const pool = {
        name: body.name,
        description: body.description ?? '',
        labels: body.labels ?? {},
        taints: body.taints ?? [],
        maxNodeAge: body.maxNodeAge ?? null,
        createdAt: now,
        updatedAt: now,
      };
      await svc.store.createPool(pool);
      if (body.autoheal) await svc.autohealSettings.setPool(pool.name, body.autoheal);
      await svc.events.record({
        type: 'pool.created',
        pool: pool.name,
        actor: actorOf(req),
        message: `pool ${pool.name} created`,
      });
      reply.status(201);
      return withSettings(pool);
    },
  );

  app.get(
    '/v1/pools/:pool',
    { schema: { summary: 'One pool', params: params('pool'), response: responses({ 200: poolSchema }) } },
    async (req) => {
      const { pool } = req.params;
      const p = await svc.store.getPool(pool);
      if (!p) throw new HubError('NOT_FOUND', `pool "${pool}" does not exist`);
      return withSettings(p);
    },
  );

  app.patch(
    '/v1/pools/:pool',
    {
      schema: {
        summary: 'Change a pool: description, labels, taints, maxNodeAge, autoheal settings',
        params: params('pool'),
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: fields },
        response: responses({ 200: poolSchema }),
      },
    },
    async (req) => {
      const { pool } = req.params;
      const { autoheal, ...body } = req.body;
      if (body.labels) validateLabels(body.labels);
      checkTaints(body.taints);
      checkMaxNodeAge(body.maxNodeAge);
      const existing = await svc.store.getPool(pool);
      if (!existing) throw new HubError('NOT_FOUND', `pool "${pool}" does not exist`);
      if (autoheal) await svc.autohealSettings.setPool(pool, autoheal);
      // Also for an autoheal-only change: updatedAt says when the pool's settings last changed.
      const p = await svc.store.updatePool(pool, body, new Date().toISOString());
      if (!p) throw new HubError('NOT_FOUND', `pool "${pool}" does not exist`);
      await svc.events.record({
        type: 'pool.updated',
        pool,
        actor: actorOf(req),
        message: `pool ${pool} updated`,
        data: { fields: Object.keys(req.body) },
      });
      return withSettings(p);
    },
  );

  app.delete(
    '/v1/pools/:pool',
    {
      schema: {
        summary: 'Delete a pool (refused while it has nodes or live tokens)',
        params: params('pool'),
        response: responses({ 204: noContent }),
      },
    },
    async (req, reply) => {
      const { pool } = req.params;
      if (!(await svc.store.deletePool(pool))) throw new HubError('NOT_FOUND', `pool "${pool}" does not exist`);
      await svc.events.record({ type: 'pool.deleted', pool, actor: actorOf(req), message: `pool ${pool} deleted` });
      reply.status(204);
    },
  );
};
