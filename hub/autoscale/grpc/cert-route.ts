// POST /v1/autoscaler/certificate (admin): a client certificate for cluster-autoscaler's externalgrpc
// provider, for the key of the CSR in the body (`atoll-hub autoscaler cert` makes the key and CSR).
import type { RoutePlugin } from '../../http/route-plugin.js';
import type { HubServices } from '../../api/services.js';
import { actorOf } from '../../api/actor.js';
import { nstr, open, responses, str } from '../../api/schemas.js';
import { HubError } from '../../errors.js';
import { MAX_CSR_BYTES } from './client-cert.js';

export const autoscalerCertRoutes: RoutePlugin<{ svc: HubServices }> = async (app, { svc }) => {
  app.post(
    '/v1/autoscaler/certificate',
    {
      config: { permission: 'admin' },
      schema: {
        summary:
          "Issue cluster-autoscaler's client certificate (role atoll:autoscaler) for the externalgrpc service, for a CSR's key",
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['csr'],
          properties: { csr: { type: 'string', minLength: 1, maxLength: MAX_CSR_BYTES } },
        },
        response: responses({
          201: open({ certificate: str, caCertificate: str, serial: str, notAfter: str, address: nstr }),
        }),
      },
    },
    async (req, reply) => {
      if (!svc.autoscalerGrpc) throw new HubError('NOT_FOUND', 'the autoscaler gRPC service is not part of this hub');
      const { csr } = req.body as { csr: string };
      const grant = await svc.autoscalerGrpc.issueCert(csr, actorOf(req));
      reply.code(201);
      return grant;
    },
  );
};
