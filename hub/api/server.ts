// The dashboard API listener: HTTPS with a certificate from the hub CA; every route declares who may
// call it (roles.ts), and anything else needs a bearer token.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { HubServices } from './services.js';
import type { Registry } from 'prom-client';
import { frameworkErrorReply, installErrorHandler } from '../http/errors.js';
import { guardConnections, type ListenerLimits } from '../http/connection-limits.js';
import { serverTimeouts, tlsServerOptions } from '../http/listener-options.js';
import { createAuthenticator } from './auth.js';
import type { AdminToken } from '../cluster/admin-token.js';
import { adminTokenRoutes } from './admin-token.js';
import { poolRoutes } from './pools.js';
import { tokenRoutes } from './tokens.js';
import { nodeRoutes } from './nodes.js';
import { eventRoutes } from './events.js';
import { clusterRoutes } from './cluster.js';
import { joinRoutes } from './join.js';
import { cloudInitRoutes } from './cloud-init.js';
import { upgradeRoutes } from '../upgrades/routes.js';
import { streamRoutes } from './stream.js';
import { healthHistoryRoutes } from './health-history.js';
import { webRoutes } from './web.js';
import { certificateRoutes } from './certificates.js';
import { versionRoutes } from './versions.js';
import { alertRoutes } from './alerts.js';
import { hubRoutes } from './hubs.js';
import { autoscalerCertRoutes } from '../autoscale/grpc/cert-route.js';
import { ApiTokens, apiTokenRoutes } from './api-tokens.js';
import { installAccessControl, registerOpenApi } from './access.js';
import { responses, textBody } from './schemas.js';

export interface ApiOptions {
  tls: { certPem: string; keyPem: string };
  /** The admin token, rotatable (cluster/admin-token.ts). */
  adminToken: AdminToken;
  metrics: Registry;
  /** Connection caps and the handshake deadline (hub/http/connection-limits.ts). */
  limits: ListenerLimits;
}

export async function buildApi(svc: HubServices, opts: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: svc.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    bodyLimit: 256 * 1024,
    // No connectionTimeout: ?wait= actions and event streams keep a quiet connection open on purpose.
    ...serverTimeouts(),
    https: { cert: opts.tls.certPem, key: opts.tls.keyPem, ...tlsServerOptions(opts.limits) },
    // verbose: refusals carry their schema, so an unknown property is answered with the known ones.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, verbose: true } },
    frameworkErrors: frameworkErrorReply,
  });
  installErrorHandler(app);
  guardConnections(app.server, 'api', opts.limits, svc.logger);
  const apiTokens = new ApiTokens(svc.store);
  await apiTokens.load();
  if (svc.config.datastore.kind === 'postgres') {
    // Several hubs: tokens made or revoked through another hub count here at once (half a second at worst).
    const stop = apiTokens.follow(svc.store.changes(), (err) =>
      svc.logger.warn({ err: err.message }, 'could not reload API tokens'),
    );
    // And the admin token rotated through another hub: refused here within about a second.
    const stopAdmin = opts.adminToken.follow(svc.store.changes(), (err) =>
      svc.logger.warn({ err: err.message }, 'could not reload the admin token'),
    );
    app.addHook('onClose', async () => {
      stop();
      stopAdmin();
    });
  }
  await registerOpenApi(app, svc.hubVersion);
  installAccessControl(app, svc, createAuthenticator(opts.adminToken, apiTokens));

  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        summary: 'Liveness (no auth)',
        security: [],
        response: responses({ 200: { type: 'object', properties: { status: { type: 'string' } } } }),
      },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        summary:
          'Readiness (no auth): 200 while this hub reaches its datastore, 503 when cut off from it (a load balancer and the other hubs send agents elsewhere then)',
        security: [],
        response: responses({
          200: { type: 'object', properties: { status: { type: 'string' } } },
          503: { type: 'object', properties: { status: { type: 'string' } } },
        }),
      },
    },
    async (_req, reply) => {
      const hubs = svc.hubs;
      if (hubs?.storeReachable()) return { status: 'ready' };
      return reply.code(503).send({ status: hubs ? 'datastore-unreachable' : 'starting' });
    },
  );
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus text format (a token with the metrics permission: any role, or a scrape-only API token)',
        response: responses({ 200: textBody('text/plain', 'Prometheus text exposition format 0.0.4') }),
      },
    },
    async (_req, reply) => {
      reply.type(opts.metrics.contentType);
      return opts.metrics.metrics();
    },
  );
  for (const plugin of [
    clusterRoutes,
    poolRoutes,
    tokenRoutes,
    nodeRoutes,
    eventRoutes,
    joinRoutes,
    cloudInitRoutes,
    streamRoutes,
    healthHistoryRoutes,
    certificateRoutes,
    upgradeRoutes,
    versionRoutes,
    alertRoutes,
    hubRoutes,
    autoscalerCertRoutes,
  ]) {
    await app.register(plugin, { svc });
  }
  await app.register(apiTokenRoutes, { svc, apiTokens });
  await app.register(adminTokenRoutes, { svc, adminToken: opts.adminToken });
  await app.register(webRoutes);
  return app;
}
