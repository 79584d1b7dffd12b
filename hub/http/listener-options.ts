// Fastify and TLS server options both hub listeners share: deadlines that cut off slow or deaf clients.
import type { ListenerLimits } from './connection-limits.js';

/** Whole requests (headers and body) within 30 s; an idle keep-alive connection is closed after 5 s. */
export const REQUEST_TIMEOUT_MS = 30_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

/** Top-level Fastify options. */
export function serverTimeouts(): { requestTimeout: number; keepAliveTimeout: number } {
  return { requestTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS };
}

/** Options for the `https` block (passed to https.createServer). */
export function tlsServerOptions(limits: Pick<ListenerLimits, 'handshakeTimeoutMs'>): {
  minVersion: 'TLSv1.2'; handshakeTimeout: number; headersTimeout: number; connectionsCheckingInterval: number;
} {
  return {
    minVersion: 'TLSv1.2',
    // A client that opens TCP but does not finish the TLS handshake is dropped (Node: 120 s).
    handshakeTimeout: limits.handshakeTimeoutMs,
    // Request headers must be complete this long after their first byte (connection-limits.ts adds
    // the same deadline for the first byte).
    headersTimeout: Math.min(limits.handshakeTimeoutMs, REQUEST_TIMEOUT_MS),
    // How often Node checks headersTimeout/requestTimeout (default 30 s: a slowloris would get 40 s).
    connectionsCheckingInterval: 1_000,
  };
}
