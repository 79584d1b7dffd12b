// GET /v1/events/stream: Server-Sent Events with joins (node.joined, written inside store.enroll),
// state changes and admin actions as they happen; replay after a cursor; filters; auth.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage, ClientRequest } from 'node:http';
import { startHub, removeDir, waitFor, type HubHandle } from '../helpers/processes.js';
import { Puppet } from '../helpers/puppet.js';

interface Ev {
  id: number;
  type: string;
  nodeId: string | null;
  pool: string | null;
  data: Record<string, unknown>;
}

let hub: HubHandle | undefined;
const puppets: Puppet[] = [];
const streams: ClientRequest[] = [];
after(async () => {
  for (const s of streams) s.destroy();
  for (const p of puppets) p.stop();
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
});

function openStream(
  h: HubHandle,
  query: string,
  token = h.adminToken(),
  headers: Record<string, string> = {},
): Promise<{ res: IncomingMessage; events: Ev[]; names: string[] }> {
  return new Promise((resolve, reject) => {
    const opts: RequestOptions = {
      ca: h.caPem(),
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers },
    };
    const req = request(`${h.apiUrl}/v1/events/stream${query}`, opts, (res) => {
      const events: Ev[] = [];
      const names: string[] = [];
      let buf = '';
      res.on('data', (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          const name = block.split('\n').find((l) => l.startsWith('event: '));
          if (data) events.push(JSON.parse(data) as Ev);
          if (name) names.push(name.slice(7));
        }
      });
      resolve({ res, events, names });
    });
    req.on('error', reject);
    streams.push(req);
    req.end();
  });
}

test('the event stream sends joins, state changes and actions live, replays after a cursor and filters', async () => {
  hub = await startHub();
  const h = hub;
  const live = await openStream(h, '');
  assert.equal(live.res.statusCode, 200);
  assert.match(String(live.res.headers['content-type']), /^text\/event-stream/);
  const nodesOnly = await openStream(h, '?type=node.*');

  const tok = await h.api<{ token: string }>('POST', '/v1/tokens', {});
  const p = await Puppet.join(h, tok.body.token, 'sse-1');
  puppets.push(p);
  const joined = await waitFor('node.joined on the stream', () =>
    live.events.find((e) => e.type === 'node.joined' && e.nodeId === p.id),
  );
  assert.equal(joined.pool, 'default');
  await waitFor('node ready on the stream', () =>
    live.events.find((e) => e.type === 'node.state' && e.nodeId === p.id && e.data.to === 'ready'),
  );
  assert.ok(live.names.includes('node.joined'));
  const reboot = await h.api('POST', `/v1/nodes/${p.id}/actions/reboot`);
  assert.equal(reboot.status, 200);
  await waitFor('admin.action on the stream', () =>
    live.events.find((e) => e.type === 'admin.action' && e.nodeId === p.id),
  );
  await waitFor('audit event on the stream', () =>
    live.events.find((e) => e.type === 'api.request' && e.nodeId === p.id),
  );
  // Ids increase; the filtered stream saw only node.* events, including the join.
  for (let i = 1; i < live.events.length; i++)
    assert.ok(live.events[i].id > live.events[i - 1].id || live.events[i].type === 'node.joined');
  await waitFor('filtered stream has the join', () => nodesOnly.events.some((e) => e.type === 'node.joined'));
  assert.ok(
    nodesOnly.events.every((e) => e.type.startsWith('node.')),
    JSON.stringify(nodesOnly.events.map((e) => e.type)),
  );

  // Replay: ?since= and Last-Event-ID give the missed events first, in order, without duplicates.
  const cursor = joined.id - 1;
  const replay = await openStream(h, `?since=${cursor}`);
  await waitFor('replayed events', () => replay.events.length >= 3 && replay.events);
  assert.equal(replay.events[0].id, joined.id);
  const ids = replay.events.map((e) => e.id);
  assert.deepEqual(
    ids,
    [...new Set(ids)].sort((a, b) => a - b),
  );
  const resumed = await openStream(h, '', h.adminToken(), { 'last-event-id': String(joined.id) });
  await waitFor('resumed after the join', () => resumed.events.length >= 1);
  assert.ok(resumed.events[0].id > joined.id);

  // A read-only token may watch; no token may not.
  const ro = await h.api<{ token: string }>('POST', '/v1/api-tokens', { role: 'read-only' });
  const roStream = await openStream(h, '?type=pool.created', ro.body.token);
  assert.equal(roStream.res.statusCode, 200);
  await h.api('POST', '/v1/pools', { name: 'watched' });
  await waitFor('pool.created to the read-only watcher', () => roStream.events.find((e) => e.pool === 'watched'));
  const anon = await openStream(h, '', 'wrong');
  assert.equal(anon.res.statusCode, 401);

  // Revoking the token ends its open stream (it does not keep watching with a dead token).
  const roId = ro.body.token.split('_')[2]; // atoll_api_<id>_<secret>
  let ended = false;
  roStream.res.on('close', () => (ended = true));
  const revokedAt = Date.now();
  assert.equal((await h.api('DELETE', `/v1/api-tokens/${roId}`)).status < 300, true);
  await waitFor("the revoked token's stream closed", () => ended, 5000);
  assert.ok(Date.now() - revokedAt < 3000, `closed ${Date.now() - revokedAt} ms after the revocation`);
  await h.api('POST', '/v1/pools', { name: 'after-revoke' });
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!roStream.events.some((e) => e.pool === 'after-revoke'));
});
