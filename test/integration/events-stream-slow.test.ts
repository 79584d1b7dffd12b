// GET /v1/events/stream with a client that never reads: the hub drops the stream once a bounded
// amount is unsent (it does not keep every event for it), its subscription goes away, and readers
// that do read keep getting events.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { startInProcessHub, type InProcessHub } from '../helpers/in-process-hub.js';
import { waitFor } from '../helpers/processes.js';
import type { EventRecord } from '../../hub/store/types.js';

let ip: InProcessHub | undefined;
const sockets: TLSSocket[] = [];
after(async () => {
  for (const s of sockets) s.destroy();
  await ip?.stop();
});

interface Stream {
  socket: TLSSocket;
  received(): number;
  text(): string;
  closed(): boolean;
}

/** Opens the event stream over real TLS; resolves once the response head has arrived. */
async function openStream(h: InProcessHub): Promise<Stream> {
  const url = new URL(h.hub.apiUrl);
  const socket = tlsConnect({
    host: url.hostname,
    port: Number(url.port),
    ca: h.hub.services.caPem,
    servername: 'localhost',
    checkServerIdentity: () => undefined,
  });
  sockets.push(socket);
  let received = 0;
  let text = '';
  let closed = false;
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
  });
  socket.on('data', (d: Buffer) => {
    received += d.length;
    if (text.length < 64 * 1024) text += d.toString('latin1');
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('close', () => reject(new Error('no TLS to the API')));
  });
  socket.write(
    `GET /v1/events/stream HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${h.adminToken}\r\nAccept: text/event-stream\r\n\r\n`,
  );
  await waitFor('the stream response head', () => text.includes('\r\n\r\n'), 5_000, 10);
  assert.match(text, /^HTTP\/1\.1 200/);
  return { socket, received: () => received, text: () => text, closed: () => closed };
}

const PAD = 'x'.repeat(16 * 1024);
const EVENT_BYTES = PAD.length + 200;

function floodEvent(id: number): EventRecord {
  return {
    id,
    at: new Date().toISOString(),
    type: 'test.flood',
    nodeId: null,
    pool: null,
    actor: 'test',
    message: 'flood',
    data: { pad: PAD },
  };
}

test(
  'a stream client that never reads is dropped after a bounded amount; its subscription is removed',
  { timeout: 60_000 },
  async (t) => {
    ip = await startInProcessHub();
    // What the stream listens to: every hub's events on PostgreSQL (the hubs' feed), else this hub's.
    const feed = ip.hub.services.hubs?.events ?? ip.hub.services.events;
    const events = ip.hub.services.events;
    const base = feed.subscriberCount();
    const deaf = await openStream(ip);
    deaf.socket.pause();
    await waitFor('the stream subscribed', () => feed.subscriberCount() === base + 1, 5_000, 10);

    // Live events while the client does not read: at most 160 rounds of 25 x 16 KiB (64 MiB). Their ids
    // follow the newest stored one: the feed of several hubs passes events on in id order only.
    await new Promise((r) => setTimeout(r, 200));
    const start = ((await ip.hub.services.store.listEvents({ order: 'desc', limit: 1 }))[0]?.id ?? 0) + 1;
    let published = 0;
    for (let round = 0; round < 160 && feed.subscriberCount() > base; round++) {
      for (let i = 0; i < 25; i++) events.publish(floodEvent(start + published++));
      await new Promise((r) => setTimeout(r, 5));
    }
    const publishedMiB = (published * EVENT_BYTES) / 2 ** 20;
    t.diagnostic(`deaf stream dropped after ${publishedMiB.toFixed(1)} MiB of events`);
    assert.equal(
      feed.subscriberCount(),
      base,
      `the deaf stream is still subscribed after ${publishedMiB.toFixed(1)} MiB of events`,
    );
    // What the kernel buffers on loopback (send and receive side) plus the hub's 8 MiB hard bound.
    assert.ok(publishedMiB < 32, `dropped only after ${publishedMiB.toFixed(1)} MiB of events`);

    // When the client reads at last, it gets what was already in flight and then the end, not the rest.
    deaf.socket.resume();
    await waitFor('the deaf stream ends', () => deaf.closed(), 10_000, 20);
    assert.ok(
      deaf.received() < published * EVENT_BYTES,
      `received ${deaf.received()} of ${published * EVENT_BYTES} bytes`,
    );

    // A client that reads is served as before.
    const reader = await openStream(ip);
    await waitFor('the reader subscribed', () => feed.subscriberCount() === base + 1, 5_000, 10);
    for (let i = 0; i < 200; i++) events.publish(floodEvent(start + published + i));
    await waitFor('the reader got the events', () => reader.received() > 200 * PAD.length, 10_000, 20);
    assert.equal(reader.closed(), false);
    assert.equal(feed.subscriberCount(), base + 1);
    reader.socket.destroy();
    await waitFor('the reader unsubscribed', () => feed.subscriberCount() === base, 5_000, 10);
  },
);
