// GET /v1/events/stream replays what a client missed, and never cuts a replay short silently: past
// 5,000 events the stream ends, and the client's reconnect with Last-Event-ID (as EventSource does)
// gets the rest, in order, none twice. A follow filtered by type gets an id-only block that moves its
// cursor past the rows it read, so it does not read them again. A Last-Event-ID that is no number
// (empty, "1e3") is no cursor.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import type { ClientRequest } from 'node:http';
import { startInProcessHub, type InProcessHub } from '../helpers/in-process-hub.js';
import { waitFor } from '../helpers/processes.js';

let ip: InProcessHub | undefined;
const open: ClientRequest[] = [];
after(async () => {
  for (const r of open) r.destroy();
  await ip?.stop();
});

interface Read {
  ids: number[];
  ended(): boolean;
}

function stream(h: InProcessHub, headers: Record<string, string>, query = ''): Promise<Read & { cursor(): number }> {
  return new Promise((resolve, reject) => {
    const ids: number[] = [];
    let cursor = -1;
    let ended = false;
    let buf = '';
    const req = request(
      `${h.hub.apiUrl}/v1/events/stream${query}`,
      {
        ca: h.hub.services.caPem,
        headers: { authorization: `Bearer ${h.adminToken}`, accept: 'text/event-stream', ...headers },
      },
      (res) => {
        assert.equal(res.statusCode, 200);
        res.on('data', (d: Buffer) => {
          buf += d.toString();
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            const block = buf.slice(0, i);
            const id = /^id: (\d+)$/m.exec(block);
            if (id) cursor = Number(id[1]);
            if (id && /^data: /m.test(block)) ids.push(Number(id[1]));
            buf = buf.slice(i + 2);
          }
        });
        const end = (): void => void (ended = true);
        res.on('end', end);
        res.on('close', end);
        res.on('error', end);
        resolve({ ids, ended: () => ended, cursor: () => cursor });
      },
    );
    req.on('error', (err) => (open.includes(req) ? undefined : reject(err)));
    open.push(req);
    req.end();
  });
}

test('a replay of more than 5,000 events ends the stream; the reconnect from the last id gets the rest, once each', async () => {
  ip = await startInProcessHub();
  const store = ip.hub.services.store;
  const first = (await store.listEvents({ order: 'desc', limit: 1 }))[0]?.id ?? 0;
  const N = 5_300;
  for (let i = 0; i < N; i++)
    await store.appendEvent({ type: 'test.replay', actor: 'test', message: `e${i}`, data: { i } });
  const last = (await store.listEvents({ order: 'desc', limit: 1 }))[0].id;

  const a = await stream(ip, { 'last-event-id': String(first) });
  await waitFor('the first stream ends after its replay', () => a.ended(), 30_000, 20);
  assert.equal(a.ids.length, 5_000, 'ended at the cap, not left to go on live with a gap');
  assert.equal(a.cursor(), a.ids.at(-1), 'the id-only block before the end names the last row read');
  const b = await stream(ip, { 'last-event-id': String(a.ids.at(-1)) });
  await waitFor('the rest', () => b.ids.at(-1) === last, 30_000, 20);
  const all = [...a.ids, ...b.ids];
  assert.equal(new Set(all).size, all.length, 'none twice');
  assert.deepEqual(
    all,
    [...all].sort((x, y) => x - y),
    'in order',
  );
  assert.ok(all.length >= N && all[0] === first + 1, `${all.length} events from ${all[0]}`);
  assert.ok(!b.ended(), 'the second stream goes on live');

  // A follow of one type, of which one event is among the 5,300: the first connection reads 5,300 rows,
  // sends one, and goes on live; its cursor moved past what it read.
  const marker = await ip.hub.services.events.record({ type: 'test.marker', actor: 'test', message: 'm' });
  const typed = await stream(ip, { 'last-event-id': String(first) }, '?type=test.marker');
  await waitFor('the one matching event', () => typed.ids.includes(marker.id), 30_000, 20);
  assert.deepEqual(typed.ids, [marker.id]);
  assert.ok(!typed.ended());

  // Not a cursor: no replay at all, only what is recorded from now on.
  for (const bad of ['', ' ', '1e3', '0x10']) {
    const c = await stream(ip, { 'last-event-id': bad });
    await new Promise((r) => setTimeout(r, 100));
    const made = await ip.hub.services.events.record({ type: 'test.live', actor: 'test', message: bad });
    await waitFor(`the live event (Last-Event-ID ${JSON.stringify(bad)})`, () => c.ids.includes(made.id), 5_000, 10);
    assert.deepEqual(c.ids, [made.id], `Last-Event-ID ${JSON.stringify(bad)} replayed nothing`);
  }
});
