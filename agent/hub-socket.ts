// Dials a hub's gateway: an mTLS WebSocket with the node's certificate, the cluster CA it pinned at
// join (every hub's serving certificate is signed by it; the host name is checked against its SANs), frames
// bounded like the hub's, no compression, and the last TLS session resumed when the hub still knows it.
import WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { MAX_FRAME_BYTES } from '../proto/index.js';
import type { Identity } from './identity.js';

/** Opens the link; `keepSession` receives each TLS session the hub hands out, for the next dial. */
export function dialHub(
  hubUrl: string,
  identity: Identity,
  session: Buffer | undefined,
  keepSession: (s: Buffer) => void,
): WebSocket {
  const url = `${hubUrl.replace(/^https:/, 'wss:')}/v1/agent/connect`;
  const ws = new WebSocket(url, {
    cert: identity.certPem,
    key: identity.keyPem,
    ca: identity.caPem,
    minVersion: 'TLSv1.2',
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
    handshakeTimeout: 10_000,
    // Resume the last TLS session when the hub still knows it (cheaper reconnect storms).
    ...(session ? { session } : {}),
  });
  ws.on('upgrade', (res: IncomingMessage) => {
    const sock = res.socket as TLSSocket;
    sock.on('session', keepSession);
    const s = sock.getSession();
    if (s) keepSession(s);
  });
  ws.binaryType = 'nodebuffer';
  return ws;
}
