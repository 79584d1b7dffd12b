// /v1/join-command: a fresh single-use token and the install line for a pool (atoll-hub join-command).
import type { RoutePlugin } from '../http/route-plugin.js';
import type { HubServices } from './services.js';
import { HubError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { actorOf } from './actor.js';
import { open, responses, str } from './schemas.js';

export const joinRoutes: RoutePlugin<{ svc: HubServices }> = async (app, { svc }) => {
  app.post(
    '/v1/join-command',
    {
      schema: {
        summary: 'A fresh single-use join token and the install line for a pool',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { pool: { type: 'string', default: 'default' }, ttl: { type: 'string', default: '1h' } },
        },
        response: responses({ 200: open({ token: str, tokenId: str, command: str, expiresAt: str }) }),
      },
    },
    async (req) => {
      const body = req.body;
      let ttlMs: number;
      try {
        ttlMs = parseDuration(body.ttl);
      } catch (err) {
        throw new HubError('VALIDATION', `ttl: ${(err as Error).message}`);
      }
      return svc.joinCommand(body.pool, actorOf(req), ttlMs);
    },
  );
};
