// Caps on the sockets a listener holds, so idle or half-open connections cannot use up the hub's
// file descriptors: per source address and in total, checked at the TCP 'connection' event (before
// any TLS work), and a deadline for the first request after the TLS handshake. The caps' defaults
// are in connection-caps.ts.
import type { Server, Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../logger.js';

export interface ConnectionCaps {
  /** Open connections the listener holds at most. */
  maxTotal: number;
  /** Open connections from one source address at most. */
  maxPerSource: number;
}

export type Listener = 'api' | 'gateway';
/** The listeners guardConnections bounds: the two above and cluster-autoscaler's gRPC one. */
export type GuardedListener = Listener | 'autoscaler-grpc';
export type RefusalReason = 'per-source' | 'total' | 'handshake-timeout' | 'request-timeout';
export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'per-source',
  'total',
  'handshake-timeout',
  'request-timeout',
];

export interface ConnectionObserver {
  refused(listener: GuardedListener, reason: RefusalReason): void;
  track(listener: GuardedListener, guard: ConnectionGuard): void;
}

export interface ListenerLimits {
  caps: ConnectionCaps;
  /** TLS handshake deadline, and the deadline for a request's headers after it. */
  handshakeTimeoutMs: number;
  observer?: ConnectionObserver;
}

export interface ConnectionGuard {
  /** Connections open now. */
  open(): number;
  /** Distinct source addresses with open connections. */
  sources(): number;
}

const LOG_EVERY_MS = 10_000;

/**
 * Puts the caps in front of every 'connection' listener of `server` (the TLS server's own included),
 * so a refused socket is destroyed before any TLS work. Call after the server is made, before listen.
 */
export function guardConnections(
  server: Server,
  listener: GuardedListener,
  limits: ListenerLimits,
  logger: Logger,
): ConnectionGuard {
  const { caps, observer } = limits;
  const bySource = new Map<string, number>();
  let open = 0;
  const log = { at: 0, refused: 0 };
  const refuse = (socket: Socket, reason: RefusalReason, source: string): void => {
    socket.destroy();
    observer?.refused(listener, reason);
    log.refused++;
    const now = Date.now();
    if (now - log.at >= LOG_EVERY_MS) {
      logger.warn(
        {
          listener,
          reason,
          source,
          open,
          refusedSinceLastLog: log.refused,
          maxTotal: caps.maxTotal,
          maxPerSource: caps.maxPerSource,
        },
        'connection refused: connection cap reached',
      );
      log.at = now;
      log.refused = 0;
    }
  };
  const downstream = server.listeners('connection') as Array<(s: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const source = socket.remoteAddress ?? 'unknown';
    const fromSource = bySource.get(source) ?? 0;
    if (open >= caps.maxTotal) return refuse(socket, 'total', source);
    if (fromSource >= caps.maxPerSource) return refuse(socket, 'per-source', source);
    open++;
    bySource.set(source, fromSource + 1);
    socket.once('close', () => {
      open--;
      const left = (bySource.get(source) ?? 1) - 1;
      if (left > 0) bySource.set(source, left);
      else bySource.delete(source);
    });
    for (const l of downstream) l.call(server, socket);
  });
  server.on('tlsClientError', (err: Error & { code?: string }) => {
    if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') observer?.refused(listener, 'handshake-timeout');
  });
  // Node's headersTimeout starts with a request's first byte: a socket that finishes TLS and then
  // sends nothing would stay open. Give it the same deadline for its first request. (An upgraded
  // socket has left the HTTP server: its `parser` is gone. No 'upgrade' listener is added here, as
  // one would make the API accept upgrades it does not serve.)
  const served = new WeakSet<object>();
  server.on('request', (req: IncomingMessage) => void served.add(req.socket));
  server.on('secureConnection', (socket: Socket & { parser?: unknown }) => {
    const timer = setTimeout(() => {
      if (served.has(socket) || socket.destroyed || !socket.parser) return;
      observer?.refused(listener, 'request-timeout');
      socket.destroy();
    }, limits.handshakeTimeoutMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
  const guard: ConnectionGuard = { open: () => open, sources: () => bySource.size };
  observer?.track(listener, guard);
  return guard;
}
