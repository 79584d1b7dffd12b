// An event stream (GET /v1/events/stream) opened with a token, to see whether the hub lets it open
// and when it closes it (a revoked or rotated token ends its stream).
import { request } from 'node:https';
import type { ClientRequest } from 'node:http';
import type { HubHandle } from './processes.js';

export interface WatchedStream {
  status: number;
  /** Whether the hub has closed the stream. */
  ended(): boolean;
}

/** Opens the stream; `open` collects the request so the test can destroy it in `after`. */
export function watchStream(
  hub: Pick<HubHandle, 'apiUrl' | 'caPem'>,
  token: string,
  open: ClientRequest[],
): Promise<WatchedStream> {
  return new Promise((resolve, reject) => {
    let ended = false;
    const req = request(
      `${hub.apiUrl}/v1/events/stream`,
      { ca: hub.caPem(), headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => (ended = true));
        res.on('close', () => (ended = true));
        res.on('error', () => (ended = true));
        resolve({ status: res.statusCode ?? 0, ended: () => ended });
      },
    );
    req.on('error', reject);
    req.end();
    open.push(req);
  });
}
