// The hub's answer when it refuses the WebSocket upgrade: an HTTP status and a JSON error body.
import type { IncomingMessage } from 'node:http';

export interface Refusal {
  status: number;
  code: string;
  message: string;
}

const MAX_BODY = 64 * 1024;

export function readRefusal(res: IncomingMessage): Promise<Refusal> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      const status = res.statusCode ?? 0;
      try {
        const e = (JSON.parse(Buffer.concat(chunks).toString()) as { error: { code: string; message: string } }).error;
        resolve({ status, code: String(e.code), message: String(e.message ?? '') });
      } catch {
        resolve({ status, code: `HTTP_${status}`, message: '' });
      }
    };
    res.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    res.on('end', done);
    res.on('error', done);
  });
}

/**
 * What the agent does about a refusal or a close from a hub. Only an explicit NODE_REMOVED (the hub
 * sends it after the removal is committed) ends the node: it stops k3s and forgets its identity. A
 * hub that does not know the node yet, is draining, shutting down or cut off from its database, or
 * refuses for any other reason, is left for another hub (`elsewhere` first, `retry` in turn).
 */
export type LinkVerdict = 'removed' | 'identity-conflict' | 'recover' | 'elsewhere' | 'retry';

/** The verdict on a refused WebSocket upgrade. */
export function refusalVerdict(r: Refusal): LinkVerdict {
  // A revoked certificate of a node that lives on: this is a stale copy of the identity.
  if (r.code === 'CERT_REVOKED' || r.code === 'IDENTITY_IN_USE') return 'identity-conflict';
  if (r.code === 'NODE_REMOVED') return 'removed';
  // Expired (by the hub's clock): recover over HTTPS before the next try.
  if (r.status === 401 && /expired/.test(r.message)) return 'recover';
  return r.status === 503 ? 'elsewhere' : 'retry';
}

/** The verdict on a Close frame from the hub. */
export function closeVerdict(code: string): LinkVerdict {
  if (code === 'NODE_REMOVED') return 'removed';
  if (code === 'IDENTITY_IN_USE') return 'identity-conflict';
  if (code === 'CERT_EXPIRED') return 'recover';
  return code === 'HUB_DRAINING' || code === 'HUB_SHUTDOWN' ? 'elsewhere' : 'retry';
}
