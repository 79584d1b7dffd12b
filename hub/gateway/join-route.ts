// POST /v1/join: token + CSR + host facts in, the node's certificate out. No client cert needed.
import type { FastifyPluginAsync } from 'fastify';
import { HubError } from '../errors.js';
import type { RateLimiter } from './rate-limit.js';
import type { JoinRequest, JoinResult } from '../nodes/enrollment.js';

const factsSchema = {
  type: 'object',
  required: ['hostname', 'arch'],
  additionalProperties: false,
  properties: {
    hostname: { type: 'string', minLength: 1, maxLength: 253 },
    os: { type: 'string', maxLength: 200, default: '' },
    kernel: { type: 'string', maxLength: 200, default: '' },
    arch: { type: 'string', maxLength: 32 },
    cpus: { type: 'integer', minimum: 0, maximum: 100000, default: 0 },
    memoryBytes: { type: 'integer', minimum: 0, default: 0 },
    addresses: { type: 'array', maxItems: 64, items: { type: 'string', maxLength: 64 }, default: [] },
    bootId: { type: 'string', maxLength: 64, default: '' },
    machineId: { type: 'string', maxLength: 64, default: '' },
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
    labels: { type: 'object', maxProperties: 64, additionalProperties: { type: 'string', maxLength: 63 } },
    agentVersion: { type: 'string', maxLength: 64, default: 'unknown' },
    facts: factsSchema,
    previousCert: { type: 'string', minLength: 1, maxLength: 8192 },
  },
} as const;

export const joinRoute: FastifyPluginAsync<{ limiter: RateLimiter; join: (req: JoinRequest, source: string) => Promise<JoinResult> }> = async (app, opts) => {
  app.post('/v1/join', {
    schema: { body: joinBodySchema },
    // Every attempt counts, before its body is read or validated: malformed joins are limited too.
    onRequest: async (req, reply) => {
      const allowed = opts.limiter.take(req.ip);
      if (allowed !== true) {
        reply.header('retry-after', Math.ceil(allowed / 1000));
        throw new HubError('RATE_LIMITED', `too many join attempts from ${req.ip}; retry in ${Math.ceil(allowed / 1000)}s`);
      }
    },
  }, async (req, reply) => {
    const source = req.ip;
    const result = await opts.join(req.body as JoinRequest, source);
    reply.status(201);
    return result;
  });
};
