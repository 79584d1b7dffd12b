// The agent gateway: one HTTPS listener (fastify) with the WebSocket server on the same port.
// Routes here are the ones foreign servers call; nothing here needs the admin token.
import type { TLSSocket } from 'node:tls';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_FRAME_BYTES } from '../../proto/index.js';
import type { Logger } from '../logger.js';
import type { CertRecord, Store } from '../store/types.js';
import type { RateLimiter } from './rate-limit.js';
import { installErrorHandler, toHubError } from '../http/errors.js';
import { guardConnections, type ListenerLimits } from '../http/connection-limits.js';
import { serverTimeouts, tlsServerOptions } from '../http/listener-options.js';
import { HubError } from '../errors.js';
import { joinRoute } from './join-route.js';
import { installGatewayAccess } from './access.js';
import { createRefusalLog } from './log-limiter.js';
import type { JoinRequest, JoinResult } from '../nodes/enrollment.js';

export interface GatewayDeps {
  logger: Logger;
  store: Store;
  tls: { certPem: string; keyPem: string; caPem: string; ticketKeys?: Buffer };
  joinLimiter: RateLimiter;
  /** Connection caps and the handshake deadline (hub/http/connection-limits.ts). */
  limits: ListenerLimits;
  join(req: JoinRequest, source: string): Promise<JoinResult>;
  /** Called with a verified, upgraded agent socket and the certificate it authenticated with. */
  connect(ws: WebSocket, nodeId: string, remoteAddress: string, tlsResumed: boolean, cert: CertRecord): void;
  /** Whether the node still exists. */
  nodeExists(nodeId: string): boolean;
  /** A node not seen yet (joined through another hub): true when the store has it (then tracked). */
  nodeLoad?(nodeId: string): Promise<boolean>;
  /** The hub must not keep agents now: upgrades are refused with 503 HUB_DRAINING. */
  shedding?(): boolean;
  /** A removed node's agent knocked with its revoked certificate (it now learns it was removed). */
  revokedAttempt?(nodeId: string): void;
  extraRoutes?: (app: FastifyInstance) => void;
}

export const CONNECT_PATH = '/v1/agent/connect';

export function normalizeSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '');
}

export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    bodyLimit: 64 * 1024,
    // Slow clients get cut off: TLS and headers within 10 s (--handshake-timeout), whole requests
    // within 30 s, and a connection silent for 30 s is closed.
    connectionTimeout: 30_000,
    ...serverTimeouts(),
    https: {
      cert: deps.tls.certPem,
      key: deps.tls.keyPem,
      ca: deps.tls.caPem,
      ...tlsServerOptions(deps.limits),
      // Join needs no client certificate, the WebSocket does: verify in the upgrade handler.
      requestCert: true,
      rejectUnauthorized: false,
      // Session tickets that survive a hub restart make a reconnect storm mostly resumptions.
      // Expiry and revocation are checked against the store on every connect, resumed or not.
      ...(deps.tls.ticketKeys ? { ticketKeys: deps.tls.ticketKeys, sessionTimeout: 24 * 3600 } : {}),
    },
  });
  installErrorHandler(app);
  guardConnections(app.server, 'gateway', deps.limits, deps.logger);

  installGatewayAccess(app, (req) => verifyClientCert(deps.store, nodeCheck(deps), req));

  app.get('/cacerts', { config: { access: 'public' } }, async (_req, reply) => {
    reply.type('text/plain; charset=utf-8');
    return deps.tls.caPem;
  });
  app.register(joinRoute, { limiter: deps.joinLimiter, join: deps.join });
  deps.extraRoutes?.(app);

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
  });
  // Refusals are caused by outsiders: their log lines are rate-limited (per code and remote, and in all).
  const refusals = createRefusalLog(deps.logger);
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void verifyUpgrade(deps, req).then(
      ({ nodeId, cert }) =>
        wss.handleUpgrade(req, socket, head, (ws) =>
          deps.connect(ws, nodeId, remoteOf(req), (req.socket as TLSSocket).isSessionReused(), cert),
        ),
      (err: unknown) => refuse(socket, err, refusals, deps.logger, req),
    );
  });
  app.addHook('onClose', async () => {
    wss.close();
    refusals.stop();
  });
  return app;
}

function remoteOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

async function verifyUpgrade(deps: GatewayDeps, req: IncomingMessage): Promise<{ nodeId: string; cert: CertRecord }> {
  const url = new URL(req.url ?? '/', 'https://gateway');
  if (url.pathname !== CONNECT_PATH) throw new HubError('NOT_FOUND', `no websocket at ${url.pathname}`);
  if (deps.shedding?.())
    throw new HubError('HUB_DRAINING', 'this hub is not taking agents now; connect to another hub');
  return verifyClientCertRecord(deps.store, nodeCheck(deps), req);
}

function nodeCheck(deps: GatewayDeps): NodeCheck {
  return { has: deps.nodeExists, load: deps.nodeLoad, revokedAttempt: deps.revokedAttempt };
}

type NodeCheck = {
  has(id: string): boolean;
  /** A node this hub has not seen yet (joined through another hub): true when the store has it (now tracked). */
  load?(id: string): Promise<boolean>;
  revokedAttempt?(id: string): void;
};

/** The node id named by a verified, unrevoked client certificate of an existing node; HubError otherwise. */
export async function verifyClientCert(
  store: Pick<Store, 'getCert'>,
  nodes: NodeCheck,
  req: { socket: unknown },
): Promise<string> {
  return (await verifyClientCertRecord(store, nodes, req)).nodeId;
}

/** As verifyClientCert, with the stored record of the certificate. */
export async function verifyClientCertRecord(
  store: Pick<Store, 'getCert'>,
  nodes: NodeCheck,
  req: { socket: unknown },
): Promise<{ nodeId: string; cert: CertRecord }> {
  const sock = req.socket as TLSSocket;
  const peer = sock.getPeerCertificate();
  if (!peer || !peer.raw)
    throw new HubError('UNAUTHORIZED', 'a client certificate from this hub is required (join first)');
  if (!sock.authorized) {
    const why = String(sock.authorizationError ?? 'unverified');
    if (why === 'CERT_HAS_EXPIRED')
      throw new HubError('UNAUTHORIZED', `client certificate expired at ${peer.valid_to}`);
    if (why !== 'CERT_NOT_YET_VALID')
      throw new HubError('UNAUTHORIZED', `client certificate not issued by this hub (${why})`);
    // Not yet valid by this hub's clock: issued while the clock was ahead (a step since undone). A
    // certificate this hub issued is in its store with the same fingerprint; anything else is refused.
    const issued = await store.getCert(normalizeSerial(peer.serialNumber));
    if (!issued || issued.fingerprint !== createHash('sha256').update(peer.raw).digest('hex')) {
      throw new HubError(
        'UNAUTHORIZED',
        `client certificate not yet valid (from ${peer.valid_from}) and not issued by this hub`,
      );
    }
  }
  const nodeId = peer.subject?.CN;
  const cn = Array.isArray(nodeId) ? nodeId[0] : nodeId;
  if (!cn) throw new HubError('UNAUTHORIZED', 'client certificate names no node');
  const record = await store.getCert(normalizeSerial(peer.serialNumber));
  if (!record || record.nodeId !== cn) throw new HubError('UNAUTHORIZED', 'client certificate is unknown to this hub');
  // Only a node that is gone from the store is removed (committed); one this hub has not seen yet is loaded.
  const lives = nodes.has(cn) || (await nodes.load?.(cn)) === true;
  if (record.revokedAt) {
    if (lives) {
      // The node lives on with a newer certificate: this copy of its identity is stale (renewed
      // elsewhere, e.g. by the machine this one was cloned from).
      throw new HubError(
        'CERT_REVOKED',
        `client certificate was revoked at ${record.revokedAt}: node ${cn} now uses a newer one (renewed, possibly by another machine holding a copy of this identity); join this machine again with a token (atoll-agent join --token T --force)`,
      );
    }
    nodes.revokedAttempt?.(cn);
    throw new HubError(
      'NODE_REMOVED',
      `node ${cn} was removed: its client certificate was revoked at ${record.revokedAt}`,
    );
  }
  // A resumed TLS session (session ticket) skips certificate verification and keeps the verify result
  // of its first handshake, so a certificate that has expired since still shows as authorized.
  if (!(Date.parse(record.notAfter) > Date.now()))
    throw new HubError('UNAUTHORIZED', `client certificate expired at ${record.notAfter}`);
  if (!lives) throw new HubError('NODE_REMOVED', `node ${cn} was removed from this hub`);
  return { nodeId: cn, cert: record };
}

const REASON: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

function refuse(
  socket: Duplex,
  cause: unknown,
  log: ReturnType<typeof createRefusalLog>,
  logger: Logger,
  req: IncomingMessage,
): void {
  const err = toHubError(cause);
  // A hub-side failure keeps its cause in the log (the agent only sees the code); refusals of
  // agents are rate-limited (log-limiter.ts).
  if (err.status >= 500)
    logger.error({ err: cause, code: err.code, remote: remoteOf(req) }, 'agent connection refused: hub error');
  else log.refused({ code: err.code, remote: remoteOf(req), reason: err.message });
  const body = JSON.stringify({ error: { code: err.code, message: err.message } });
  socket.end(
    `HTTP/1.1 ${err.status} ${REASON[err.status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
