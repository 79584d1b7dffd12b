// Wiring (one line in app.ts): the client-certificate issuer for the API, and, with
// --autoscaler-grpc-listen, the externalgrpc CloudProvider service over mTLS. The server presents the
// hub's serving certificate; a client must present a certificate from the hub CA (checked in the TLS
// handshake) with the autoscaler role, issued by this hub and not revoked (checked per call, handlers.ts). Connections are capped per
// source and in total, and the TLS handshake has a deadline (bounded-listener.ts). Closed with the API.
import { Server } from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { HubConfig, ListenAddress } from '../../config.js';
import type { HubServices } from '../../api/services.js';
import type { HubPki } from '../../pki/hub-pki.js';
import { hubListeners, listenRefusal } from '../../listen-check.js';
import { EXTERNALGRPC_MAX_MESSAGE_BYTES, externalGrpcServiceDefinition } from '../../../proto/externalgrpc-service.js';
import { issueAutoscalerCert } from './client-cert.js';
import { CertAllowList, recordIssued, revokeIssued } from './cert-allow.js';
import { ExternalDrive } from './external-drive.js';
import { MachineHook } from './machine-hook.js';
import { PoolGroups } from './pool-groups.js';
import { poolBounds, poolOptions } from './pool-bounds.js';
import { cloudProviderHandlers } from './handlers.js';
import { listenBounded } from './bounded-listener.js';
import type { ConnectionObserver } from '../../http/connection-limits.js';

/** Calls one client may have in flight on a connection. */
const MAX_CONCURRENT_STREAMS = 32;

function addressFor(listen: ListenAddress, port: number, publicUrl: string): string {
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::' || listen.host === '';
  const host = wildcard ? new URL(publicUrl).hostname.replace(/^\[|\]$/g, '') : listen.host;
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export async function serveAutoscalerGrpc(
  config: HubConfig,
  svc: HubServices,
  api: FastifyInstance,
  pki: HubPki,
  metrics?: { connections: ConnectionObserver },
): Promise<void> {
  const observer = metrics?.connections;
  const listen = config.autoscalerGrpcListen;
  let address: string | null = null;
  svc.autoscalerGrpc = {
    async issueCert(csrPem, actor) {
      const c = issueAutoscalerCert(pki.ca, csrPem);
      await recordIssued(svc.store, c.serial, c.notAfter, Date.now());
      await svc.events.record({
        type: 'autoscaler.cert-issued',
        actor,
        message: `client certificate ${c.serial} issued for cluster-autoscaler (expires ${c.notAfter})`,
        data: { serial: c.serial, notAfter: c.notAfter },
      });
      return { certificate: c.certPem, caCertificate: pki.ca.certPem, serial: c.serial, notAfter: c.notAfter, address };
    },
    async revokeCerts(serial, actor) {
      const revoked = await revokeIssued(svc.store, serial, Date.now());
      if (revoked.length === 0) return revoked;
      await svc.events.record({
        type: 'autoscaler.cert-revoked',
        actor,
        message: `client certificate(s) of cluster-autoscaler revoked: ${revoked.join(', ')}`,
        data: { serials: revoked },
      });
      return revoked;
    },
  };
  if (!listen) return;
  const logger = svc.logger.child({ component: 'autoscaler-grpc' });
  const groups = new PoolGroups({
    store: svc.store,
    events: svc.events,
    logger,
    drive: new ExternalDrive(svc.store),
    hook: new MachineHook({
      tokens: svc.tokens,
      events: svc.events,
      publicUrl: config.publicUrl,
      caPem: pki.ca.certPem,
      hookOf: async (pool) => (await svc.autohealSettings.pool(pool)).hook,
    }),
    removeNode: svc.removeNode,
    bounds: poolBounds,
    options: poolOptions,
  });
  const allowList = new CertAllowList(svc.store);
  const server = new Server({
    'grpc.max_receive_message_length': EXTERNALGRPC_MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': EXTERNALGRPC_MAX_MESSAGE_BYTES,
    'grpc.max_concurrent_streams': MAX_CONCURRENT_STREAMS,
  });
  server.addService(
    externalGrpcServiceDefinition(),
    cloudProviderHandlers(groups, logger, (serial) => allowList.allows(serial)),
  );
  const host = listen.host.replace(/^\[|\]$/g, '');
  const bound = await listenBounded(
    server,
    { caPem: pki.ca.certPem, certPem: pki.serving.certPem, keyPem: pki.serving.keyPem },
    { host, port: listen.port },
    { handshakeTimeoutMs: config.handshakeTimeoutMs, ...(observer ? { observer } : {}) },
    logger,
  ).catch((err: unknown) => {
    const l = hubListeners(config).find((x) => x.flag === '--autoscaler-grpc-listen')!;
    throw listenRefusal(l, err) ?? err;
  });
  const port = bound.port;
  address = addressFor(listen, port, config.publicUrl);
  logger.info({ address }, "cluster-autoscaler's externalgrpc service listens");
  api.addHook('onClose', async () => {
    await bound.close();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2_000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    await groups.close();
  });
}
