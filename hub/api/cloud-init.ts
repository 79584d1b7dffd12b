// GET /v1/pools/{pool}/cloud-init: a #cloud-config document that joins a new server to the pool
// with a fresh single-use token. Query: labels=k=v,k2=v2  namePrefix=web  ttl=30m  k3s=auto|off.
import type { RoutePlugin } from '../http/route-plugin.js';
import type { HubServices } from './services.js';
import { HubError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { validateLabels } from '../nodes/enrollment.js';
import { actorOf } from './actor.js';
import { renderCloudInit } from '../installer/cloud-init-doc.js';
import { params, responses, textBody } from './schemas.js';

const PREFIX_RE = /^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/;

export function parseLabelList(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = item.indexOf('=');
    if (i <= 0) throw new HubError('VALIDATION', `labels: "${item}" is not key=value`);
    labels[item.slice(0, i)] = item.slice(i + 1);
  }
  validateLabels(labels);
  return labels;
}

export const cloudInitRoutes: RoutePlugin<{ svc: HubServices }> = async (app, { svc }) => {
  app.get(
    '/v1/pools/:pool/cloud-init',
    {
      schema: {
        summary: 'A #cloud-config document that joins a new server to the pool (mints a single-use token)',
        params: params('pool'),
        response: responses({ 200: textBody('text/cloud-config', 'a #cloud-config document') }),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            labels: { type: 'string' },
            namePrefix: { type: 'string' },
            ttl: { type: 'string', default: '1h' },
            k3s: { type: 'string', enum: ['auto', 'off'] },
          },
        },
      },
    },
    async (req, reply) => {
      const { pool } = req.params;
      const q = req.query;
      let ttlMs: number;
      try {
        ttlMs = parseDuration(q.ttl);
      } catch (err) {
        throw new HubError('VALIDATION', `ttl: ${(err as Error).message}`);
      }
      const labels = parseLabelList(q.labels);
      if (q.namePrefix !== undefined && !PREFIX_RE.test(q.namePrefix)) {
        throw new HubError(
          'VALIDATION',
          'namePrefix must be a lowercase DNS label of up to 42 characters (a-z, 0-9, "-")',
        );
      }
      const actor = actorOf(req);
      const { record, token } = await svc.tokens.create({ pool, ttlMs, maxUses: 1, description: 'cloud-init', actor });
      await svc.events.record({
        type: 'token.created',
        pool: record.pool,
        actor,
        message: `single-use join token ${record.id} for pool ${record.pool} in a cloud-init document`,
        data: { tokenId: record.id, expiresAt: record.expiresAt, cloudInit: true },
      });
      reply.type('text/cloud-config; charset=utf-8');
      reply.header('cache-control', 'no-store');
      return renderCloudInit({
        hubUrl: svc.config.publicUrl.replace(/\/+$/, ''),
        caPem: svc.caPem,
        token,
        tokenId: record.id,
        pool: record.pool,
        expiresAt: record.expiresAt,
        labels,
        namePrefix: q.namePrefix,
        k3s: q.k3s,
      });
    },
  );
};
