// Fastify and TLS server options both hub listeners share: TLS 1.2+ with forward-secret AEAD suites,
// and deadlines that cut off slow or deaf clients.
import type { ListenerLimits } from './connection-limits.js';

/** Whole requests (headers and body) within 30 s; an idle keep-alive connection is closed after 5 s. */
export const REQUEST_TIMEOUT_MS = 30_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;

/**
 * TLS 1.3's suites, and for TLS 1.2 only ECDHE key exchange (forward secrecy) with AEAD ciphers: no
 * static-RSA key exchange, no CBC/SHA-1. Node needs the TLS 1.3 names listed too, else it turns 1.3 off.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Top-level Fastify options. */
export function serverTimeouts(): { requestTimeout: number; keepAliveTimeout: number } {
  return { requestTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS };
}

/** Options for the `https` block (passed to https.createServer). */
export function tlsServerOptions(limits: Pick<ListenerLimits, 'handshakeTimeoutMs'>): {
  minVersion: 'TLSv1.2';
  ciphers: string;
  honorCipherOrder: boolean;
  handshakeTimeout: number;
  headersTimeout: number;
  connectionsCheckingInterval: number;
} {
  return {
    minVersion: 'TLSv1.2',
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
    // A client that opens TCP but does not finish the TLS handshake is dropped (Node: 120 s).
    handshakeTimeout: limits.handshakeTimeoutMs,
    // Request headers must be complete this long after their first byte (connection-limits.ts adds
    // the same deadline for the first byte).
    headersTimeout: Math.min(limits.handshakeTimeoutMs, REQUEST_TIMEOUT_MS),
    // How often Node checks headersTimeout/requestTimeout (default 30 s: a slowloris would get 40 s).
    connectionsCheckingInterval: 1_000,
  };
}
