// POST /v1/autoscaler/certificate (admin): a client certificate for cluster-autoscaler's externalgrpc
// provider, for the key of the CSR in the body (`atoll-hub autoscaler cert` makes the key and CSR).
// DELETE /v1/autoscaler/certificates/:serial, DELETE /v1/autoscaler/certificates (admin): revoke one,
// or all (`atoll-hub autoscaler cert revoke SERIAL | --all`).
import type { RoutePlugin } from '../../http/route-plugin.js';
import type { HubServices } from '../../api/services.js';
import { actorOf } from '../../api/actor.js';
import { nstr, open, params, responses, str } from '../../api/schemas.js';
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
  const revoked = responses({ 200: open({ revoked: { type: 'array', items: str } }) });
  const revoke = async (serial: string | null, actor: string): Promise<{ revoked: string[] }> => {
    if (!svc.autoscalerGrpc) throw new HubError('NOT_FOUND', 'the autoscaler gRPC service is not part of this hub');
    const out = await svc.autoscalerGrpc.revokeCerts(serial, actor);
    if (serial !== null && out.length === 0)
      throw new HubError(
        'NOT_FOUND',
        `no autoscaler client certificate ${serial} in use (unknown, expired or revoked)`,
      );
    return { revoked: out };
  };
  app.delete(
    '/v1/autoscaler/certificates/:serial',
    {
      config: { permission: 'admin' },
      schema: {
        summary: "Revoke one of cluster-autoscaler's client certificates (by serial)",
        params: params('serial'),
        response: revoked,
      },
    },
    async (req) => revoke((req.params as { serial: string }).serial.slice(0, 80), actorOf(req)),
  );
  app.delete(
    '/v1/autoscaler/certificates',
    {
      config: { permission: 'admin' },
      schema: { summary: "Revoke all of cluster-autoscaler's client certificates", response: revoked },
    },
    async (req) => revoke(null, actorOf(req)),
  );
};
