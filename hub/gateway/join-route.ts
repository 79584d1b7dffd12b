// POST /v1/join: token + CSR + host facts in, the node's certificate out. No client cert needed.
import { HubError } from '../errors.js';
import type { RateLimiter } from './rate-limit.js';
import type { JoinRequest, JoinResult } from '../nodes/enrollment.js';
import type { RoutePlugin } from '../http/route-plugin.js';
import { COUNT_LIMITS, LIMITS, type StringLimit } from '../../proto/index.js';

/** The same bounds as on the agent link (proto/limits.ts): length and charset. */
const bounded = <const E extends object = Record<never, never>>(l: StringLimit, extra: E = {} as E) =>
  ({ type: 'string', maxLength: l.max, pattern: l.re.source, ...extra }) as const;

const factsSchema = {
  type: 'object',
  required: ['hostname', 'arch'],
  additionalProperties: false,
  properties: {
    hostname: bounded(LIMITS.hostname, { minLength: 1 }),
    os: bounded(LIMITS.os, { default: '' }),
    kernel: bounded(LIMITS.kernel, { default: '' }),
    arch: bounded(LIMITS.arch),
    cpus: { type: 'integer', minimum: 0, maximum: COUNT_LIMITS.cpus, default: 0 },
    memoryBytes: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 },
    addresses: { type: 'array', maxItems: COUNT_LIMITS.addresses, items: bounded(LIMITS.address), default: [] },
    bootId: bounded(LIMITS.bootId, { default: '' }),
    machineId: bounded(LIMITS.machineId, { default: '' }),
    provider: bounded(LIMITS.provider, { default: '' }),
  },
} as const;

export const joinBodySchema = {
  type: 'object',
  required: ['token', 'csr', 'facts'],
  additionalProperties: false,
  properties: {
    token: { type: 'string', minLength: 1, maxLength: 256 },
    csr: { type: 'string', minLength: 1, maxLength: 16384 },
    nodeName: { type: 'string', minLength: 1, maxLength: 63 },
    pool: { type: 'string', minLength: 1, maxLength: 63 },
    // Keys: an optional DNS prefix (253) and '/', then a name (63); checked in full at enrollment.
    labels: {
      type: 'object',
      maxProperties: 64,
      propertyNames: { maxLength: 317 },
      additionalProperties: { type: 'string', maxLength: 63 },
    },
    agentVersion: bounded(LIMITS.agentVersion, { default: 'unknown' }),
    facts: factsSchema,
    previousCert: { type: 'string', minLength: 1, maxLength: 8192 },
  },
} as const;

export const joinRoute: RoutePlugin<{
  limiter: RateLimiter;
  join: (req: JoinRequest, source: string) => Promise<JoinResult>;
}> = async (app, opts) => {
  app.post(
    '/v1/join',
    {
      // Public at the transport: the join token in the body is the credential, checked by the handler.
      config: { access: 'public' },
      schema: { body: joinBodySchema },
      // Every attempt counts, before its body is read or validated: malformed joins are limited too.
      onRequest: async (req, reply) => {
        const allowed = opts.limiter.take(req.ip);
        if (allowed !== true) {
          reply.header('retry-after', Math.ceil(allowed / 1000));
          throw new HubError(
            'RATE_LIMITED',
            `too many join attempts from ${req.ip}; retry in ${Math.ceil(allowed / 1000)}s`,
          );
        }
      },
    },
    async (req, reply) => {
      const source = req.ip;
      const result = await opts.join(req.body, source);
      reply.status(201);
      return result;
    },
  );
};
