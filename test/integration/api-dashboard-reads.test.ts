// The API the dashboard's pages need, over an in-process hub: events paged back from the newest
// (before=), node certificates near expiry, and the halted-rollout actions' refusals and access.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessHub, type InProcessHub } from '../helpers/in-process-hub.js';

let h: InProcessHub;
before(async () => {
  h = await startInProcessHub();
});
after(async () => {
  await h?.stop();
});

interface Ev {
  id: number;
  type: string;
}

test('GET /v1/events?before=: newest first, and the cursor pages on to older events', async () => {
  for (let i = 0; i < 7; i++)
    assert.equal((await h.call('POST', '/v1/pools', undefined, { name: `p${i}` })).status, 201);
  const all = (await h.call<{ items: Ev[] }>('GET', '/v1/events?limit=1000')).body.items;
  assert.ok(all.length >= 10, JSON.stringify(all.map((e) => e.type)));
  const newest = [...all].reverse();
  const first = await h.call<{ items: Ev[]; cursor: number }>(
    'GET',
    `/v1/events?before=${Number.MAX_SAFE_INTEGER}&limit=5`,
  );
  assert.equal(first.status, 200);
  assert.deepEqual(
    first.body.items.map((e) => e.id),
    newest.slice(0, 5).map((e) => e.id),
  );
  assert.equal(first.body.cursor, newest[4].id);
  const second = await h.call<{ items: Ev[]; cursor: number }>('GET', `/v1/events?before=${first.body.cursor}&limit=5`);
  assert.deepEqual(
    second.body.items.map((e) => e.id),
    newest.slice(5, 10).map((e) => e.id),
  );
  const none = await h.call<{ items: Ev[]; cursor: number }>('GET', `/v1/events?before=${all[0].id}`);
  assert.deepEqual([none.body.items, none.body.cursor], [[], all[0].id]);
  assert.equal((await h.call('GET', '/v1/events?before=0')).status, 400);
});

test('GET /v1/certificates: near expiry by default (none here), a duration can widen it, bad input is a 400', async () => {
  const def = await h.call<{ items: unknown[]; withinMs: number }>('GET', '/v1/certificates');
  assert.equal(def.status, 200);
  assert.deepEqual(def.body.items, []);
  assert.equal(def.body.withinMs, (30 * 86_400_000) / 4, 'a quarter of the default 30d lifetime');
  assert.equal(
    (await h.call<{ withinMs: number }>('GET', '/v1/certificates?within=400d')).body.withinMs,
    400 * 86_400_000,
  );
  const bad = await h.call<{ error: { code: string } }>('GET', '/v1/certificates?within=soon');
  assert.deepEqual([bad.status, bad.body.error.code], [400, 'VALIDATION']);
});

test('halted-rollout actions: an unknown rollout is 404, a read-only token is refused', async () => {
  const ro = (await h.call<{ token: string }>('POST', '/v1/api-tokens', undefined, { role: 'read-only' })).body.token;
  assert.equal((await h.call('GET', '/v1/certificates', ro)).status, 200, 'a read route');
  for (const action of ['resume', 'retry', 'dismiss']) {
    const r = await h.call<{ error: { code: string } }>('POST', `/v1/upgrades/upg-nope/${action}`);
    assert.ok(r.status === 404 || r.status === 409, `${action}: ${r.status} ${JSON.stringify(r.body)}`);
    const denied = await h.call<{ error: { code: string } }>('POST', `/v1/upgrades/upg-nope/${action}`, ro);
    assert.deepEqual([denied.status, denied.body.error.code], [403, 'FORBIDDEN']);
  }
});
