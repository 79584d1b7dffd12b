// Follows GET /v1/events/stream (Server-Sent Events) and survives hub restarts: on a lost stream
// it reconnects with Last-Event-ID (and since=) after a capped, jittered backoff, so no event is
// missed or shown twice; it gives up after being unable to connect for `giveUpAfterMs`.
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { connectError, describeHttpError, requestOptions, type ClientSettings } from './api-client.js';
import { CliError } from './output.js';

export interface StreamEvent {
  id: number;
  [k: string]: unknown;
}

export interface FollowOptions {
  /** Only events after this id. */
  since: number;
  filters: Record<string, string | undefined>;
  onEvent(e: StreamEvent): void;
  /** Told about lost streams and reconnects (stderr). */
  onNotice(message: string): void;
  giveUpAfterMs: number;
  /** The hub pings every 15 s; silence this long means a dead connection. */
  idleTimeoutMs?: number;
  firstBackoffMs?: number;
  maxBackoffMs?: number;
}

const MAX_LINE = 1024 * 1024;

/**
 * Splits an SSE byte stream into events (id + data); comments and other fields are skipped. A block with
 * an id and no data moves the cursor only (`onCursor`): the hub sends one after rows a filter skipped.
 */
export function sseParser(
  onMessage: (id: string | undefined, data: string) => void,
  onCursor?: (id: string) => void,
): (chunk: string) => void {
  let buffer = '';
  let id: string | undefined;
  let data: string[] = [];
  return (chunk) => {
    buffer += chunk;
    if (buffer.length > MAX_LINE && !buffer.includes('\n')) throw new CliError('event stream line too long');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (line === '') {
        if (data.length) onMessage(id, data.join('\n'));
        else if (id !== undefined) onCursor?.(id);
        id = undefined;
        data = [];
      } else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      else if (line.startsWith('id:')) id = line.slice(3).trim();
    }
  };
}

/** One connection: resolves when the stream ends (hub gone), rejects with a CliError the caller must not retry. */
function connectOnce(
  s: ClientSettings,
  o: FollowOptions,
  cursor: () => number,
  onOpen: () => void,
  onEvent: (e: StreamEvent) => void,
  onCursor: (id: number) => void,
): Promise<string> {
  const q = new URLSearchParams({ since: String(cursor()) });
  for (const [k, v] of Object.entries(o.filters)) if (v) q.set(k, v);
  const url = new URL(`/v1/events/stream?${q}`, s.url);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      requestOptions(s, 'GET', { accept: 'text/event-stream', 'last-event-id': String(cursor()) }),
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          let text = '';
          res.on('data', (c: Buffer) => {
            if (text.length < 4096) text += c.toString('utf8');
          });
          res.on('end', () => {
            const message = describeHttpError(
              res.statusCode ?? 0,
              res.statusMessage ?? '',
              String(res.headers['content-type'] ?? ''),
              text,
            );
            // A refusal is final; a hub that is starting or overloaded is worth another try.
            if ((res.statusCode ?? 0) >= 500) resolve(message);
            else reject(new CliError(message));
          });
          return;
        }
        onOpen();
        res.setEncoding('utf8');
        const parse = sseParser(
          (_id, data) => {
            let e: StreamEvent;
            try {
              e = JSON.parse(data) as StreamEvent;
            } catch {
              return; // not an event
            }
            if (Number.isInteger(e.id)) onEvent(e);
          },
          (id) => {
            if (/^\d{1,15}$/.test(id)) onCursor(Number(id));
          },
        );
        res.on('data', (chunk: string) => {
          try {
            parse(chunk);
          } catch (err) {
            req.destroy(err as Error);
          }
        });
        res.on('end', () => resolve('the hub closed the stream'));
        res.on('error', (err) => resolve(err.message === 'aborted' ? 'the connection was closed' : err.message));
      },
    );
    req.setTimeout(o.idleTimeoutMs ?? 45_000, () => req.destroy(new Error('no data (not even a ping) for too long')));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const c = connectError(s, e);
      resolve(c.message);
    });
    req.end();
  });
}

/** Follows the stream until a final refusal or until the hub stayed unreachable too long. */
export async function followEvents(settings: () => ClientSettings, o: FollowOptions): Promise<never> {
  let last = o.since;
  let attempt = 0;
  let downSince: number | undefined;
  for (;;) {
    let openedAt: number | undefined;
    const why = await connectOnce(
      settings(),
      o,
      () => last,
      () => {
        openedAt = Date.now();
        if (downSince !== undefined) o.onNotice(`reconnected; resuming after event ${last}`);
        downSince = undefined;
      },
      (e) => {
        if (e.id <= last) return; // already shown
        last = e.id;
        o.onEvent(e);
      },
      (id) => (last = Math.max(last, id)),
    );
    const now = Date.now();
    if (openedAt !== undefined || downSince === undefined) downSince = now;
    const down = now - downSince;
    // A stream that lasted is a fresh start; one that keeps dropping at once backs off further.
    if (openedAt !== undefined && now - openedAt > 30_000) attempt = 0;
    if (down >= o.giveUpAfterMs) {
      throw new CliError(
        `gave up: no event stream for ${Math.round(down / 1000)}s (${why}); continue with: atoll-hub events --follow --since ${last}`,
      );
    }
    const cap = o.maxBackoffMs ?? 5_000;
    const delay = Math.min(cap, (o.firstBackoffMs ?? 500) * 2 ** Math.min(attempt, 10));
    const wait = Math.round(delay / 2 + Math.random() * (delay / 2));
    attempt++;
    o.onNotice(`event stream lost (${why}); reconnecting in ${(wait / 1000).toFixed(1)}s`);
    await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(0, o.giveUpAfterMs - down))));
  }
}
