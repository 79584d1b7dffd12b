// POST /v1/agent/recover: a node whose certificate expired (less than --cert-recovery-grace ago) or
// is in its renewal window gets a new one for the same key, without a token. The body carries that
// certificate and a CSR for its key: the CSR's self-signature proves the caller holds the node's
// key. No client certificate is needed (an expired one would not pass TLS verification anyway).
import { HubError } from '../errors.js';
import type { RateLimiter } from './rate-limit.js';
import type { RoutePlugin } from '../http/route-plugin.js';

export const RECOVER_PATH = '/v1/agent/recover';

export const recoverBodySchema = {
  type: 'object',
  required: ['certPem', 'csr'],
  additionalProperties: false,
  properties: {
    certPem: { type: 'string', minLength: 1, maxLength: 8192 },
    csr: { type: 'string', minLength: 1, maxLength: 16384 },
  },
} as const;

export interface RecoverRouteOptions {
  limiter: RateLimiter;
  recover(certPem: string, csr: string, source: string): Promise<{ nodeId: string; certPem: string }>;
}

export const recoverRoute: RoutePlugin<RecoverRouteOptions> = async (app, opts) => {
  app.post(
    RECOVER_PATH,
    {
      // Public at the transport: an expired certificate cannot pass the client-certificate check; the
      // proof is in the body (the expired certificate and a CSR for its key), checked by the handler.
      config: { access: 'public' },
      schema: { body: recoverBodySchema },
      onRequest: async (req, reply) => {
        const allowed = opts.limiter.take(req.ip);
        if (allowed !== true) {
          reply.header('retry-after', Math.ceil(allowed / 1000));
          throw new HubError(
            'RATE_LIMITED',
            `too many recovery attempts from ${req.ip}; retry in ${Math.ceil(allowed / 1000)}s`,
          );
        }
      },
    },
    async (req) => {
      const body = req.body;
      return opts.recover(body.certPem, body.csr, req.ip);
    },
  );
};
