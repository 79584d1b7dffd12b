// Link flapping is visible: a node whose agent link keeps dropping and coming back shows its
// reconnects in GET /v1/nodes/{id} (link.flaps1h, lastConnectAt, lastDisconnectAt), in the metrics
// (atoll_agent_link_flaps_total, atoll_node_link_flaps_1h), and autoheal marks it flapping even though
// each outage is too short to make it unreachable. Real hub, raw mTLS agent links on loopback.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { removeDir, scrapeMetrics, startHub, waitFor, type HubHandle } from '../helpers/processes.js';
import { createToken, openLink, rawJoin, type JoinedNode } from '../helpers/bad-input.js';

interface Link {
  flaps1h: number;
  lastConnectAt: string | null;
  lastDisconnectAt: string | null;
}
interface NodeBody {
  id: string;
  name: string;
  link: Link;
  autoheal: { flapping?: boolean } | null;
}

let hub: HubHandle;
let flappy: JoinedNode;
let steady: JoinedNode;

before(async () => {
  hub = await startHub({ extraArgs: ['--autoheal-interval', '300ms'] });
  const t = await createToken(hub, { reusable: true });
  flappy = await rawJoin(hub, t.token, 'flappy');
  steady = await rawJoin(hub, t.token, 'steady');
});

after(async () => {
  await hub?.stop('SIGKILL');
  if (hub) removeDir(hub.dataDir);
});

async function node(id: string): Promise<NodeBody> {
  const r = await hub.api<NodeBody>('GET', `/v1/nodes/${id}`);
  assert.equal(r.status, 200);
  return r.body;
}

test('5 connects of one node are 4 flaps: shown on the node, in the list and in the metrics', async () => {
  const fresh = await node(flappy.nodeId);
  assert.deepEqual(fresh.link, { flaps1h: 0, lastConnectAt: null, lastDisconnectAt: null });
  const steadyLink = await openLink(hub, steady);
  let last = await openLink(hub, flappy);
  for (let i = 0; i < 4; i++) {
    last.send({ close: { code: 'AGENT_STOPPING', reason: `flap ${i}` } });
    await last.closedWithin();
    last = await openLink(hub, flappy);
  }
  const n = await node(flappy.nodeId);
  assert.equal(n.link.flaps1h, 4, 'the first connect after the hub started is not a flap');
  assert.ok(
    n.link.lastConnectAt && n.link.lastDisconnectAt && n.link.lastConnectAt >= n.link.lastDisconnectAt,
    JSON.stringify(n.link),
  );
  assert.equal((await node(steady.nodeId)).link.flaps1h, 0);
  const list = (await hub.api<{ items: NodeBody[] }>('GET', '/v1/nodes')).body.items;
  assert.equal(list.find((x) => x.id === flappy.nodeId)?.link.flaps1h, 4);

  const m = await scrapeMetrics(hub);
  assert.equal(m.status, 200);
  assert.match(m.body, /^atoll_agent_link_flaps_total 4$/m);
  assert.match(m.body, /^atoll_node_link_flaps_1h\{node="flappy",pool="default"\} 4$/m);
  assert.doesNotMatch(m.body, /atoll_node_link_flaps_1h\{node="steady"/);
  last.terminate();
  steadyLink.terminate();
});

test('autoheal sees link flaps: the node is marked flapping with an event, the steady one is not', async () => {
  const ev = await waitFor(
    'an autoheal.flapping event for the flapping node',
    async () => {
      const items = (
        await hub.api<{ items: Array<{ nodeId: string; message: string; data: { linkFlaps?: number } }> }>(
          'GET',
          '/v1/events?type=autoheal.flapping&limit=1000',
        )
      ).body.items;
      return items.find((e) => e.nodeId === flappy.nodeId);
    },
    20_000,
    200,
  );
  assert.match(ev.message, /agent link came back \d+ times within 15 min: capped at reboot/);
  assert.ok((ev.data.linkFlaps ?? 0) >= 4);
  assert.equal((await node(flappy.nodeId)).autoheal?.flapping, true);
  const events = (
    await hub.api<{ items: Array<{ nodeId: string }> }>('GET', '/v1/events?type=autoheal.flapping&limit=1000')
  ).body.items;
  assert.equal(
    events.some((e) => e.nodeId === steady.nodeId),
    false,
  );
});
