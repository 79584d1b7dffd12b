// GET /v1/events/stream: the event log as Server-Sent Events. Live events as they are recorded;
// with ?since=CURSOR (or a Last-Event-ID header on reconnect) the missed ones first, in order.
// Filters: type (comma-separated; `node.*` matches a prefix), node, pool.
import type { RoutePlugin } from '../http/route-plugin.js';
import type { HubServices } from './services.js';
import type { EventRecord } from '../store/types.js';
import { responses, textBody } from './schemas.js';
import { sseWriter } from './sse-writer.js';

const HEARTBEAT_MS = 15_000;
/** How often an open stream checks that its token is still valid (revoked, on any hub: closed). */
const REAUTH_MS = 1000;
/** Events one connection replays at most (sent), and rows it reads for them (a type filter skips some). */
const REPLAY_MAX = 5_000;
const REPLAY_ROWS_MAX = 100_000;
/** Live events held while a replay is sent, at most (more: the stream is dropped), and the rounds spent sending them. */
const BUFFER_MAX = 10_000;
const BUFFER_ROUNDS = 100;

export function eventFilter(q: { type?: string; node?: string; pool?: string }): (e: EventRecord) => boolean {
  const types = (q.type ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return (e) =>
    (types.length === 0 || types.some((t) => (t.endsWith('*') ? e.type.startsWith(t.slice(0, -1)) : e.type === t))) &&
    (!q.node || e.nodeId === q.node) &&
    (!q.pool || e.pool === q.pool);
}

export const streamRoutes: RoutePlugin<{ svc: HubServices }> = async (app, { svc }) => {
  app.get(
    '/v1/events/stream',
    {
      schema: {
        summary: 'Live events as Server-Sent Events (text/event-stream)',
        querystring: {
          type: 'object',
          properties: {
            since: { type: 'integer', minimum: 0, description: 'replay events after this cursor first' },
            type: { type: 'string', description: 'comma-separated types; node.* matches a prefix' },
            node: { type: 'string' },
            pool: { type: 'string' },
          },
        },
        response: responses({
          200: textBody(
            'text/event-stream',
            "an endless text/event-stream; each event's data is an event object as in GET /v1/events",
          ),
        }),
      },
    },
    async (req, reply) => {
      const q = req.query;
      const header = req.headers['last-event-id'];
      const lastId = typeof header === 'string' && /^\d{1,15}$/.test(header.trim()) ? Number(header.trim()) : undefined;
      const since = lastId ?? q.since;
      const matches = eventFilter(q);
      // HEAD: the headers, then done (a hijacked endless stream would never flush them).
      if (req.method === 'HEAD')
        return reply.type('text/event-stream; charset=utf-8').header('cache-control', 'no-store').send();
      reply.hijack();
      const res = reply.raw;
      // The client has every event up to its cursor: none at or below it is sent (live ones included).
      let replayedUpTo = since ?? -1;
      let buffer: EventRecord[] | undefined = [];
      const out = sseWriter(res, (droppedWhy, unsent) => {
        clearInterval(heartbeat);
        clearInterval(reauth);
        unsubscribe();
        if (droppedWhy) req.log.warn({ unsent, why: droppedWhy }, 'event stream dropped');
      });
      const wanted = (e: EventRecord): boolean => e.id > replayedUpTo && matches(e);
      const write = (e: EventRecord): boolean =>
        out.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      /** false: wait for the client (or the stream is gone). */
      const send = (e: EventRecord): boolean => (out.gone() || !wanted(e) ? !out.gone() : write(e));
      // Every hub's events when several share the store (cluster/event-feed.ts), else this hub's.
      const unsubscribe = (svc.hubs?.events ?? svc.events).subscribe(
        (e) => {
          if (!buffer) return void send(e);
          buffer.push(e);
          if (buffer.length > BUFFER_MAX) out.drop(`more than ${BUFFER_MAX} events recorded while replaying`);
        },
        // Events of other hubs may have been skipped: the client reconnects and replays them from its cursor.
        () => out.drop('events of other hubs could not be read in order'),
      );
      const heartbeat = setInterval(() => out.write(': ping\n\n'), HEARTBEAT_MS);
      heartbeat.unref();
      // A token revoked (or its role changed) while the stream is open ends the stream.
      const reauth = setInterval(() => {
        if (req.stillAllowed && !req.stillAllowed()) out.drop('its token is no longer valid');
      }, REAUTH_MS);
      reauth.unref();
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      out.write(': atoll event stream\nretry: 2000\n\n');
      // A replay is never cut short silently: past REPLAY_MAX events sent (or REPLAY_ROWS_MAX read, most
      // filtered out by type), or when the store cannot be read, the stream ends and the client reconnects
      // from its cursor for the rest. An id-only block first moves that cursor past the rows read, so a
      // client whose filter matches little does not read the same rows again.
      try {
        if (since !== undefined) {
          let cursor = since;
          for (let sent = 0, rows = 0; !out.gone(); ) {
            if (sent >= REPLAY_MAX || rows >= REPLAY_ROWS_MAX) {
              out.write(`id: ${replayedUpTo}\n\n`);
              req.log.info({ sent, rows }, 'event stream replay continues on the next connection');
              return out.end();
            }
            const page = await svc.store.listEvents({ since: cursor, limit: 1000, nodeId: q.node, pool: q.pool });
            for (const e of page) {
              const take = wanted(e);
              replayedUpTo = Math.max(replayedUpTo, e.id);
              if (take) {
                sent++;
                if (!write(e)) await out.drained();
              }
              if (out.gone()) return;
            }
            rows += page.length;
            if (page.length < 1000) break;
            cursor = page[page.length - 1].id;
          }
        }
      } catch (err) {
        req.log.warn({ err }, 'event stream replay failed: the stream ends, the client reconnects from its cursor');
        return out.end();
      }
      // Events recorded during the replay, minus those the replay already sent; more may come in
      // while this waits for the client, so take them in rounds.
      for (let round = 0; round < BUFFER_ROUNDS && buffer && buffer.length > 0 && !out.gone(); round++) {
        const pending = buffer.splice(0).sort((a, b) => a.id - b.id);
        for (const e of pending) {
          if (!send(e)) await out.drained();
          if (out.gone()) return;
        }
      }
      const rest = (buffer ?? []).sort((a, b) => a.id - b.id);
      buffer = undefined;
      for (const e of rest) send(e);
    },
  );
};
