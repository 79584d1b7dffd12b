// /v1/tokens: join tokens. The token string is returned once, by POST, and never again.
import type { RoutePlugin } from '../http/route-plugin.js';
import type { HubServices } from './services.js';
import { HubError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { publicToken } from '../tokens/token-service.js';
import { actorOf } from './actor.js';
import { itemsOf, joinTokenSchema, noContent, open, params, responses, str } from './schemas.js';

export const tokenRoutes: RoutePlugin<{ svc: HubServices }> = async (app, { svc }) => {
  app.get(
    '/v1/tokens',
    {
      schema: {
        summary:
          'List join tokens (never their secrets): the live ones, or with all=true also the expired, used-up and revoked ones',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            all: { type: 'boolean', default: false, description: 'also list expired, used-up and revoked tokens' },
          },
        },
        response: responses({ 200: itemsOf(joinTokenSchema) }),
      },
    },
    async (req) => {
      const { all } = req.query;
      const now = new Date();
      const items = (await svc.store.listTokens()).map((t) => publicToken(t, now));
      return { items: all ? items : items.filter((t) => t.status === 'active') };
    },
  );

  app.post(
    '/v1/tokens',
    {
      schema: {
        summary: 'Create a join token; the token string is returned once, in `token`',
        response: responses({ 201: open({ ...(joinTokenSchema.properties as object), token: str }) }),
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            pool: { type: 'string', default: 'default' },
            ttl: { type: 'string', default: '1h' },
            uses: { type: 'integer', minimum: 1, maximum: 1000000 },
            reusable: { type: 'boolean', default: false },
            description: { type: 'string', maxLength: 500, default: '' },
          },
        },
      },
    },
    async (req, reply) => {
      const body = req.body;
      if (body.reusable && body.uses !== undefined)
        throw new HubError('VALIDATION', 'give either uses or reusable, not both');
      let ttlMs: number;
      try {
        ttlMs = parseDuration(body.ttl);
      } catch (err) {
        throw new HubError('VALIDATION', `ttl: ${(err as Error).message}`);
      }
      const actor = actorOf(req);
      const { record, token } = await svc.tokens.create({
        pool: body.pool,
        ttlMs,
        maxUses: body.reusable ? null : (body.uses ?? 1),
        description: body.description,
        actor,
      });
      await svc.events.record({
        type: 'token.created',
        pool: record.pool,
        actor,
        message: `join token ${record.id} created for pool ${record.pool}`,
        data: { tokenId: record.id, expiresAt: record.expiresAt, maxUses: record.maxUses },
      });
      reply.status(201);
      return { ...publicToken(record, new Date()), token };
    },
  );

  app.delete(
    '/v1/tokens/:id',
    { schema: { summary: 'Revoke a join token', params: params('id'), response: responses({ 204: noContent }) } },
    async (req, reply) => {
      const { id } = req.params;
      const t = await svc.store.getToken(id);
      if (!t) throw new HubError('NOT_FOUND', `token ${id} does not exist`);
      await svc.store.revokeToken(id, new Date().toISOString());
      await svc.events.record({
        type: 'token.revoked',
        pool: t.pool,
        actor: actorOf(req),
        message: `join token ${id} revoked`,
        data: { tokenId: id },
      });
      reply.status(204);
    },
  );
};
