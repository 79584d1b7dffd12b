// /v1/pools: the default pool always exists; pools carry labels and taints for their nodes.
import type { RoutePlugin } from '../http/route-plugin.js';
import type { HubServices } from './services.js';
import { HubError } from '../errors.js';
import { validateLabels } from '../nodes/enrollment.js';
import { actorOf } from './actor.js';
import { poolAutohealSchema, type PoolAutoheal } from '../autoheal/settings.js';
import type { Pool } from '../store/types.js';
import { readState, updateState } from '../autoscale/state.js';
import { MAX_POOL_SIZE } from '../store/pool-sizes.js';
import { autoscaleHookProblem } from '../autoscale/hook-support.js';
import { mergePoolSizes, poolSizeFields, sizesOf, type PoolSizes } from '../autoscale/pool-settings.js';
import { DEFAULT_MAX_SIZE, DEFAULT_MIN_SIZE, DEFAULT_POOL_AUTOSCALE } from '../store/pool-sizes.js';
import { itemsOf, noContent, params, poolSchema, responses } from './schemas.js';

const NAME = { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' } as const;
const TAINT_RE =
  /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?(=[A-Za-z0-9_.-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$/;
const fields = {
  description: { type: 'string', maxLength: 500 },
  labels: { type: 'object', maxProperties: 64, additionalProperties: { type: 'string' } },
  taints: { type: 'array', maxItems: 32, items: { type: 'string', maxLength: 300 } },
  autoheal: poolAutohealSchema,
  ...poolSizeFields,
} as const;

function checkTaints(taints: string[] | undefined): void {
  for (const t of taints ?? [])
    if (!TAINT_RE.test(t)) throw new HubError('VALIDATION', `taint "${t}" must look like key=value:NoSchedule`);
}

/** Autoscale is refused for a pool whose hook cannot create and delete machines. */
async function requireAutoscaleHook(pool: string, hook: string | null): Promise<void> {
  const problem = await autoscaleHookProblem(hook, pool);
  if (problem) throw new HubError('VALIDATION', `autoscale: ${problem}`);
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
      // Refused settings refuse the pool: nothing is created.
      if (body.autoheal) await svc.autohealSettings.checkPool(body.name, body.autoheal);
      const sizes = mergePoolSizes(
        { minSize: DEFAULT_MIN_SIZE, maxSize: DEFAULT_MAX_SIZE, autoscale: DEFAULT_POOL_AUTOSCALE },
        body,
      );
      const now = new Date().toISOString();
      const pool = {
        name: body.name,
        description: body.description ?? '',
        labels: body.labels ?? {},
        taints: body.taints ?? [],
        ...sizes,
        createdAt: now,
        updatedAt: now,
      };
      if (sizes.autoscale.enabled) await requireAutoscaleHook(body.name, body.autoheal?.hook ?? null);
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
        summary: 'Change a pool: description, labels, taints, size bounds, autoheal and autoscale settings',
        params: params('pool'),
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: fields },
        response: responses({ 200: poolSchema }),
      },
    },
    async (req) => {
      const { pool } = req.params;
      const { autoheal, minSize, maxSize, autoscale, ...body } = req.body;
      if (body.labels) validateLabels(body.labels);
      checkTaints(body.taints);
      const existing = await svc.store.getPool(pool);
      if (!existing) throw new HubError('NOT_FOUND', `pool "${pool}" does not exist`);
      const sizes: Partial<PoolSizes> =
        minSize === undefined && maxSize === undefined && autoscale === undefined
          ? {}
          : mergePoolSizes(sizesOf(existing), { minSize, maxSize, autoscale });
      if (sizes.autoscale?.enabled && !existing.autoscale.enabled) {
        const hook = autoheal && 'hook' in autoheal ? autoheal.hook : (await svc.autohealSettings.pool(pool)).hook;
        await requireAutoscaleHook(pool, hook ?? null);
      }
      if (autoheal) await svc.autohealSettings.setPool(pool, autoheal);
      // Also for an autoheal-only change: updatedAt says when the pool's settings last changed.
      const p = await svc.store.updatePool(pool, { ...body, ...sizes }, new Date().toISOString());
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

  app.post(
    '/v1/pools/:pool/scale',
    {
      schema: {
        summary: 'Set the size of a pool by hand, within its minSize and maxSize (machines through its hook)',
        params: params('pool'),
        body: {
          type: 'object',
          required: ['size'],
          additionalProperties: false,
          properties: { size: { type: 'integer', minimum: 0, maximum: MAX_POOL_SIZE } },
        },
        response: responses({
          200: { type: 'object', properties: { pool: { type: 'string' }, target: { type: 'integer' } } },
        }),
      },
    },
    async (req) => {
      const { pool } = req.params;
      const { size } = req.body;
      const p = await svc.store.getPool(pool);
      if (!p) throw new HubError('NOT_FOUND', `pool "${pool}" does not exist`);
      if (size < p.minSize || size > p.maxSize)
        throw new HubError('VALIDATION', `size ${size} is outside pool ${pool}'s bounds ${p.minSize}..${p.maxSize}`);
      await requireAutoscaleHook(pool, (await svc.autohealSettings.pool(pool)).hook);
      const before = (await readState(svc.store, pool)).target;
      await updateState(svc.store, pool, (s) => {
        s.target = size;
      });
      await svc.events.record({
        type: 'pool.scaled',
        pool,
        actor: actorOf(req),
        message: `pool ${pool} target size set to ${size}${before === null ? '' : ` (was ${before})`}`,
        data: { size, before },
      });
      return { pool, target: size };
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
