// The event log stays bounded on a real hub: 200 reconnects of one node write a handful of rows whose
// counts add up (and cursor readers and the SSE stream still see the latest), events beyond
// --events-max-count are pruned, and GET /v1/cluster shows the retention and what is stored.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import type { ClientRequest } from 'node:http';
import { after, before, test } from 'node:test';
import { removeDir, startHub, waitFor, type HubHandle } from '../helpers/processes.js';
import { createToken, openLink, rawJoin, type JoinedNode } from '../helpers/bad-input.js';

interface Ev {
  id: number;
  type: string;
  nodeId: string | null;
  message: string;
  data: Record<string, unknown>;
}
interface Cluster {
  events: { retention: { maxAge: string; maxAgeMs: number; maxCount: number }; count: number; oldestAt: string | null };
}

const MAX_COUNT = 60;
let hub: HubHandle;
let raw: JoinedNode;
const streams: ClientRequest[] = [];

before(async () => {
  hub = await startHub({ extraArgs: ['--events-max-count', String(MAX_COUNT), '--events-max-age', '2h'] });
  raw = await rawJoin(hub, (await createToken(hub)).token, 'storm');
});

after(async () => {
  for (const s of streams) s.destroy();
  await hub?.stop('SIGKILL');
  if (hub) removeDir(hub.dataDir);
});

async function events(query: string): Promise<Ev[]> {
  const r = await hub.api<{ items: Ev[] }>('GET', `/v1/events?limit=1000&${query}`);
  assert.equal(r.status, 200);
  return r.body.items;
}

const countOf = (e: Ev): number => (e.data.repeated ? Number(e.data.count) : 1);

/** Live events of one node from the SSE stream. */
function stream(nodeId: string): Ev[] {
  const got: Ev[] = [];
  const req = request(
    `${hub.apiUrl}/v1/events/stream?node=${nodeId}`,
    { ca: hub.caPem(), headers: { authorization: `Bearer ${hub.adminToken()}` } },
    (res) => {
      let buf = '';
      res.on('data', (d: Buffer) => {
        buf += d.toString();
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const data = buf
            .slice(0, i)
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          buf = buf.slice(i + 2);
          if (data) got.push(JSON.parse(data) as Ev);
        }
      });
    },
  );
  req.on('error', () => undefined);
  streams.push(req);
  req.end();
  return got;
}

test('200 reconnects of one node write a handful of events; their counts add up; cursors and the stream see the latest', async () => {
  const live = stream(raw.nodeId);
  await new Promise((r) => setTimeout(r, 300));
  let midCursor = 0;
  for (let i = 0; i < 200; i++) {
    const link = await openLink(hub, raw);
    link.send({ close: { code: 'AGENT_STOPPING', reason: `round ${i}` } });
    await link.closedWithin();
    if (i === 99) midCursor = (await events('')).at(-1)?.id ?? 0;
  }
  const mine = await waitFor(
    'all 200 disconnects counted',
    async () => {
      const evs = await events(`node=${raw.nodeId}`);
      const n = evs.filter((e) => e.type === 'node.disconnected').reduce((s, e) => s + countOf(e), 0);
      return n === 200 ? evs : undefined;
    },
    10_000,
  );
  const connects = mine.filter((e) => e.type === 'node.connected');
  const disconnects = mine.filter((e) => e.type === 'node.disconnected');
  // Three as they are and one counting row per type and minute (the storm may straddle a minute).
  assert.ok(
    connects.length <= 5 && disconnects.length <= 5,
    `rows: ${connects.length} connected, ${disconnects.length} disconnected`,
  );
  assert.equal(
    connects.reduce((s, e) => s + countOf(e), 0),
    200,
    'every connect is counted',
  );
  const last = connects.at(-1)!;
  assert.equal(last.data.repeated, true);
  assert.match(last.message, /more like this since/);
  assert.match(disconnects.at(-1)!.message, /round 199/, 'the counting row says what happened last');

  // A reader whose cursor is from the middle of the storm gets the newest counting rows.
  const after = await events(`since=${midCursor}&node=${raw.nodeId}`);
  assert.ok(
    after.some((e) => e.id === last.id),
    'since= a mid-storm cursor includes the latest count',
  );
  // The stream delivered versions in id order and ends with the same count.
  const streamed = await waitFor(
    'the stream has the final count',
    () => {
      const c = live.filter((e) => e.type === 'node.connected').at(-1);
      return c?.id === last.id ? live : undefined;
    },
    5_000,
  );
  for (let i = 1; i < streamed.length; i++) assert.ok(streamed[i].id > streamed[i - 1].id);
});

test('events beyond --events-max-count are pruned soon, oldest first; GET /v1/cluster shows retention and count', async () => {
  const newest: string[] = [];
  for (let i = 0; i < 150; i++) {
    const t = await createToken(hub, { description: `retention ${i}` });
    if (i >= 150 - 20) newest.push(t.id);
  }
  const cluster = await waitFor(
    `at most ${MAX_COUNT} events stored`,
    async () => {
      const c = (await hub.api<Cluster>('GET', '/v1/cluster')).body;
      return c.events.count <= MAX_COUNT ? c : undefined;
    },
    10_000,
  );
  assert.deepEqual(cluster.events.retention, { maxAge: '2h', maxAgeMs: 7_200_000, maxCount: MAX_COUNT });
  assert.ok(cluster.events.count > 0);
  assert.equal(typeof cluster.events.oldestAt, 'string');
  const kept = await events('');
  assert.ok(kept.length <= MAX_COUNT);
  assert.ok(kept[0].id > 150, `the oldest were pruned (first kept id ${kept[0].id})`);
  const tokensKept = kept.filter((e) => e.type === 'token.created').map((e) => e.data.tokenId);
  for (const id of newest) assert.ok(tokensKept.includes(id), `the newest events are kept (${id})`);
  // A cursor from before the pruned range still pages on from what is left.
  assert.equal((await events('since=1'))[0].id, kept[0].id);
});
