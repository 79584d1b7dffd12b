// The agent gateway as the hub runs it: the listener (server.ts) with join, the agent WebSocket,
// artifact downloads, the installer and certificate recovery, wired to the hub's services.
import type { FastifyInstance } from 'fastify';
import type { HubServices } from '../api/services.js';
import type { HubPki } from '../pki/hub-pki.js';
import type { CertRenewal } from '../nodes/cert-renewal.js';
import type { NodeK3s } from '../k3s/node-k3s.js';
import type { HubMetrics } from '../metrics.js';
import type { ListenerLimits } from '../http/connection-limits.js';
import type { Logger } from '../logger.js';
import type { Clock } from '../clock.js';
import { buildGateway, verifyClientCert } from './server.js';
import { createRateLimiter } from './rate-limit.js';
import { joinHandler } from './join-handler.js';
import { agentConnector } from './agent-connect.js';
import { artifactRoutes } from './artifact-routes.js';
import { recoverRoute } from './recover-route.js';
import { installerRoutes } from '../installer/routes.js';
import { IdentityGuard } from '../nodes/identity-guard.js';
import { recoverCert } from '../nodes/cert-recovery.js';
import { logFailure } from '../../certs/log-failure.js';

export interface HubGatewayDeps {
  pki: HubPki;
  renewal: CertRenewal;
  nodeK3s: NodeK3s;
  metrics: HubMetrics;
  limits: ListenerLimits;
  clock: Clock;
  logger: Logger;
  /**
   * Direct gateway URLs of the live hubs, sent in every welcome so agents can fail over (the hub
   * membership service plugs in here). Default: this hub's public URL (and ATOLL_TEST_PEER_GATEWAYS).
   */
  liveGatewayUrls?: () => string[];
  /**
   * The hub must not keep its agents (shutting down, lost its database; the integrator wires it):
   * checked every second; while true, links are closed with HUB_DRAINING and upgrades refused (503),
   * so agents go to another hub.
   */
  shouldShedAgents?: () => boolean;
}

/** How often shouldShedAgents is asked. */
const SHED_CHECK_MS = 1000;

export async function buildHubGateway(services: HubServices, d: HubGatewayDeps): Promise<FastifyInstance> {
  const { config, store, events, registry, commands, tokens, artifacts, hubVersion, removeNode } = services;
  const { pki, renewal, nodeK3s, metrics, clock, logger: gwLog } = d;
  // A node that joined through another hub (shared store) is loaded on its first connect here.
  const nodeLoad = async (id: string): Promise<boolean> => {
    const node = await store.getNode(id);
    if (node && !registry.has(id)) registry.track(node);
    return node !== undefined;
  };
  const nodes = { has: (id: string) => registry.has(id), load: nodeLoad };
  const shed = d.shouldShedAgents;
  const app = await buildGateway({
    limits: d.limits,
    logger: gwLog,
    store,
    tls: {
      certPem: pki.serving.certPem,
      keyPem: pki.serving.keyPem,
      caPem: pki.ca.certPem,
      ticketKeys: pki.ticketKeys,
    },
    joinLimiter: createRateLimiter({ perMinute: config.joinRateLimitPerMinute }),
    nodeExists: (id) => registry.has(id),
    nodeLoad,
    shedding: shed,
    revokedAttempt: (id) =>
      nodeK3s.agentTold(id, 10_000).catch(logFailure(gwLog, 'scheduling the purge of a removed node')),
    extraRoutes: (app) => {
      // Readiness for a load balancer in front of the gateways and for the other hubs (cluster/
      // cutoff-shed.ts): 200 while this hub reaches its datastore, 503 when cut off from it.
      app.get('/readyz', { config: { access: 'public' } }, async (_req, reply) => {
        const hubs = services.hubs;
        if (hubs?.storeReachable()) return { status: 'ready' };
        return reply.code(503).send({ status: hubs ? 'datastore-unreachable' : 'starting' });
      });
      void app.register(artifactRoutes, {
        artifacts,
        verifyClient: (req) => verifyClientCert(store, nodes, req),
        downloaded: (nodeId, what) =>
          events
            .note({
              type: 'artifact.downloaded',
              nodeId,
              actor: `node:${nodeId}`,
              message: `${what} downloaded by node ${nodeId}`,
              data: { artifact: what },
            })
            .catch(logFailure(gwLog, 'noting a download')),
      });
      void app.register(installerRoutes, {
        dataDir: config.dataDir,
        publicUrl: config.publicUrl,
        caPem: pki.ca.certPem,
        hubVersion,
        events,
        store,
        verifyClient: (req) => verifyClientCert(store, nodes, req),
        removeNode,
        agentBundle: (v) => artifacts.agents.get(v),
      });
      void app.register(recoverRoute, {
        limiter: createRateLimiter({ perMinute: config.joinRateLimitPerMinute }),
        recover: (certPem, csr, source) => recoverCert(renewal, events, gwLog, certPem, csr, source),
      });
    },
    join: joinHandler({
      store,
      tokens,
      ca: pki.ca,
      events,
      registry,
      metrics,
      logger: gwLog,
      clock,
      nodeCertTtlMs: config.nodeCertTtlMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
    }),
    connect: agentConnector({
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      hubVersion,
      liveGatewayUrls: () => {
        // The live hubs of this datastore (hub/cluster/ membership), this hub first, then the shared
        // --public-url (when --gateway-url gives this hub its own); ATOLL_TEST_PEER_GATEWAYS adds more.
        const own = [...new Set([config.gatewayUrl, config.publicUrl, ...config.testPeerGateways])];
        try {
          return [...new Set([...(d.liveGatewayUrls?.() ?? []), ...own])];
        } catch (err) {
          // The membership service failed: the welcome still names this hub.
          gwLog.warn({ err: (err as Error).message }, 'could not list the live hubs for a welcome');
          return own;
        }
      },
      logger: gwLog,
      clock,
      registry,
      commands,
      renewal,
      metrics,
      nodeK3s: () => nodeK3s,
      identityGuard: new IdentityGuard({
        registry,
        events,
        logger: gwLog,
        onConflict: () => metrics.identityConflict(),
      }),
    }),
  });
  if (shed) {
    const timer = setInterval(() => {
      if (registry.connectedCount() > 0 && shed())
        registry.shedAll('HUB_DRAINING', 'this hub is not keeping agents now; connect to another hub');
    }, SHED_CHECK_MS);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  }
  return app;
}
