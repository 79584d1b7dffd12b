// The sinks for alerts and audit events against real receivers on loopback: the webhook retries a
// receiver that fails its first attempts (backoff, same delivery id, each attempt signed), keeps the
// order, never makes its caller wait, and drops the oldest when its queue is full; a 4xx is not
// retried. The JSON-lines file is 0600 and a full disk (/dev/full) costs lines, counted, not the hub.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../../hub/logger.js';
import { WebhookSink, backoffMs, type SinkCounters } from '../../../hub/sinks/webhook-sink.js';
import { JsonlSink } from '../../../hub/sinks/jsonl-sink.js';
import { tempDir } from '../store/helpers.js';

const logger = createLogger('silent');
const SECRET = Buffer.from('a webhook secret of 32 bytes....');

interface Hit {
  at: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function counting() {
  const c = { delivered: 0, failed: 0, dropped: {} as Record<string, number> };
  const counters: SinkCounters = {
    delivered: (n = 1) => void (c.delivered += n),
    failed: () => void c.failed++,
    dropped: (reason, n = 1) => void (c.dropped[reason] = (c.dropped[reason] ?? 0) + n),
  };
  return { c, counters };
}

async function receiver(
  t: import('node:test').TestContext,
  answer: (hit: Hit, n: number, res: ServerResponse) => void,
) {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const hit = { at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      hits.push(hit);
      answer(hit, hits.length, res);
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  t.after(() => new Promise<void>((res) => server.close(() => res())));
  t.after(() => server.closeAllConnections());
  return { hits, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

const until = async (what: string, ok: () => boolean, ms = 10_000): Promise<void> => {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 10)))
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
};

test('webhook: a receiver failing its first two attempts gets the item on the third, signed each time, in order', async (t) => {
  const r = await receiver(t, (_hit, n, res) => {
    res.statusCode = n <= 2 ? 503 : 200;
    res.end();
  });
  const { c, counters } = counting();
  const sink = new WebhookSink({ url: r.url, secret: SECRET, logger, counters, baseDelayMs: 100, random: () => 1 });
  t.after(() => sink.stop());
  sink.send({ kind: 'event', n: 1 });
  sink.send({ kind: 'event', n: 2 });
  await until('both delivered', () => c.delivered === 2);
  assert.equal(r.hits.length, 4);
  const [a1, a2, a3, b] = r.hits;
  assert.deepEqual(
    r.hits.map((h) => JSON.parse(h.body).n),
    [1, 1, 1, 2],
  );
  const id = a1.headers['x-atoll-delivery'];
  assert.ok(id && a2.headers['x-atoll-delivery'] === id && a3.headers['x-atoll-delivery'] === id, 'one delivery id');
  assert.notEqual(b.headers['x-atoll-delivery'], id);
  for (const h of r.hits) {
    const ts = String(h.headers['x-atoll-timestamp']);
    const want = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${h.body}`).digest('hex')}`;
    assert.equal(h.headers['x-atoll-signature'], want);
    assert.ok(Math.abs(Number(ts) - h.at / 1000) < 5);
  }
  // Backoff: 100 ms, then 200 ms (random() = 1 takes the whole of each capped delay).
  assert.ok(a2.at - a1.at >= 95, `first retry after ${a2.at - a1.at} ms`);
  assert.ok(a3.at - a2.at >= 195, `second retry after ${a3.at - a2.at} ms`);
  assert.deepEqual([c.failed, c.dropped], [2, {}]);
});

test('webhook: send never waits, the queue keeps the newest, a 4xx is not retried', async (t) => {
  const held: ServerResponse[] = [];
  const r = await receiver(t, (hit, _n, res) => {
    if (JSON.parse(hit.body).n === 'bad') {
      res.statusCode = 400;
      res.end();
      return;
    }
    held.push(res);
  });
  const { c, counters } = counting();
  const sink = new WebhookSink({ url: r.url, secret: null, logger, counters, capacity: 3, baseDelayMs: 50 });
  t.after(() => sink.stop());
  sink.send({ n: 0 });
  await until('the first one in flight', () => r.hits.length === 1);
  const started = performance.now();
  for (let n = 1; n <= 10; n++) sink.send({ n });
  assert.ok(performance.now() - started < 50, 'send returns at once while the receiver hangs');
  assert.equal(sink.queued(), 3);
  assert.equal(c.dropped.overflow, 7);
  // The receiver answers what it holds, one by one as they come (bounded).
  for (let i = 0; i < 250 && c.delivered < 4; i++) {
    held.splice(0).forEach((res) => res.end());
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.equal(c.delivered, 4);
  assert.deepEqual(
    r.hits.map((h) => JSON.parse(h.body).n),
    [0, 8, 9, 10],
    'the oldest were dropped',
  );
  assert.equal(r.hits[0].headers['x-atoll-signature'], undefined, 'no secret: unsigned');
  sink.send({ n: 'bad' });
  await until('refused', () => c.dropped.refused === 1);
  assert.equal(r.hits.length, 5, 'a 400 is not retried');
});

test('backoff: exponential, capped, jittered to 50-100 %', () => {
  assert.equal(
    backoffMs(1, 1000, 60_000, () => 0),
    500,
  );
  assert.equal(
    backoffMs(1, 1000, 60_000, () => 1),
    1000,
  );
  assert.equal(
    backoffMs(3, 1000, 60_000, () => 1),
    4000,
  );
  assert.equal(
    backoffMs(20, 1000, 60_000, () => 1),
    60_000,
  );
  assert.equal(
    backoffMs(20, 1000, 60_000, () => 0),
    30_000,
  );
});

test('jsonl: one line per document in a 0600 file; an existing file is tightened; a full disk is counted, not thrown', async (t) => {
  const dir = tempDir(t);
  const { c, counters } = counting();
  const path = join(dir, 'events.jsonl');
  const sink = await JsonlSink.open({ path, logger, counters });
  sink.send({ kind: 'event', n: 1 });
  sink.send({ kind: 'alert', n: 2 });
  await sink.stop();
  assert.equal(c.delivered, 2);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(
    readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).n),
    [1, 2],
  );
  const loose = join(dir, 'loose.jsonl');
  writeFileSync(loose, '');
  chmodSync(loose, 0o644);
  await (await JsonlSink.open({ path: loose, logger, counters })).stop();
  assert.equal(statSync(loose).mode & 0o777, 0o600);

  if (!existsSync('/dev/full')) return t.skip('no /dev/full on this machine');
  const full = counting();
  const disk = await JsonlSink.open({ path: '/dev/full', logger, counters: full.counters });
  for (let n = 0; n < 5; n++) disk.send({ n });
  await disk.stop();
  assert.equal(full.c.delivered, 0);
  assert.ok(full.c.failed >= 1);
  assert.equal(full.c.dropped['gave-up'], 5);
  assert.notEqual(statSync('/dev/full').mode & 0o777, 0o600, '/dev/full is not a file: left alone');
});

test('jsonl: a path that cannot be opened is a clear error at start', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(
    JsonlSink.open({ path: join(dir, 'no', 'such', 'dir', 'x.jsonl'), logger, counters: counting().counters }),
    /--events-jsonl .*x\.jsonl: cannot open it for appending \(ENOENT\)/,
  );
});
