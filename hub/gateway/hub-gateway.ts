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
}

export function buildHubGateway(services: HubServices, d: HubGatewayDeps): Promise<FastifyInstance> {
  const { config, store, events, registry, commands, tokens, artifacts, hubVersion, removeNode } = services;
  const { pki, renewal, nodeK3s, metrics, clock, logger: gwLog } = d;
  return buildGateway({
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
    revokedAttempt: (id) =>
      nodeK3s.agentTold(id, 10_000).catch(logFailure(gwLog, 'scheduling the purge of a removed node')),
    extraRoutes: (app) => {
      void app.register(artifactRoutes, {
        artifacts,
        verifyClient: (req) => verifyClientCert(store, registry, req),
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
        verifyClient: (req) => verifyClientCert(store, registry, req),
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
      liveGatewayUrls: d.liveGatewayUrls ?? (() => [config.publicUrl, ...config.testPeerGateways]),
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
}
