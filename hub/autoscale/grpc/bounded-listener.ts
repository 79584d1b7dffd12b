// The externalgrpc listener, bounded like the hub's other listeners: connections are counted per
// source address and in total when TCP accepts them, before any TLS work (connection-limits.ts), and
// a client must finish the TLS handshake within --handshake-timeout. grpc-js takes no such limits on
// a port it binds, so the hub listens itself and hands each connection it admits to the gRPC server
// (a connection injector) whose TLS server has the deadline, TLS 1.2+ and the hub's cipher suites,
// and asks for a client certificate from the hub CA.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { ServerCredentials, type Server } from '@grpc/grpc-js';
import { guardConnections, type ConnectionCaps, type ConnectionObserver } from '../../http/connection-limits.js';
import { TLS_CIPHERS } from '../../http/listener-options.js';
import type { Logger } from '../../logger.js';

/** cluster-autoscaler keeps one connection; a few more cover its restarts. */
export const AUTOSCALER_GRPC_CAPS: ConnectionCaps = { maxTotal: 64, maxPerSource: 8 };

/** mTLS: the hub's serving certificate, client certificates from the hub CA, a handshake deadline. */
class BoundedMtlsCredentials extends ServerCredentials {
  constructor(o: { caPem: string; certPem: string; keyPem: string; handshakeTimeoutMs: number }) {
    super(
      {
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        ciphers: TLS_CIPHERS,
        honorCipherOrder: true,
        handshakeTimeout: o.handshakeTimeoutMs,
      },
      { ca: o.caPem, cert: o.certPem, key: o.keyPem },
    );
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

export interface BoundedGrpcListener {
  port: number;
  /** Stops accepting connections (the gRPC server's shutdown ends the sessions). */
  close(): Promise<void>;
}

export async function listenBounded(
  server: Server,
  tls: { caPem: string; certPem: string; keyPem: string },
  at: { host: string; port: number },
  limits: { handshakeTimeoutMs: number; observer?: ConnectionObserver; caps?: ConnectionCaps },
  logger: Logger,
): Promise<BoundedGrpcListener> {
  const injector = server.createConnectionInjector(
    new BoundedMtlsCredentials({ ...tls, handshakeTimeoutMs: limits.handshakeTimeoutMs }),
  );
  const net: NetServer = createServer();
  net.on('connection', (socket: Socket) => injector.injectConnection(socket));
  guardConnections(
    net,
    'autoscaler-grpc',
    {
      caps: limits.caps ?? AUTOSCALER_GRPC_CAPS,
      handshakeTimeoutMs: limits.handshakeTimeoutMs,
      ...(limits.observer ? { observer: limits.observer } : {}),
    },
    logger,
  );
  await new Promise<void>((resolve, reject) => {
    net.once('error', reject);
    net.listen(at.port, at.host, () => {
      net.off('error', reject);
      resolve();
    });
  });
  return {
    port: (net.address() as { port: number }).port,
    // Not waiting for the sockets: the gRPC server's shutdown ends the sessions, the deadline the rest.
    close: async () => {
      net.close();
      injector.destroy();
    },
  };
}
