// Deny by default on the agent gateway: every route declares public or node access, and the node
// routes refuse every attack spelling of their path (test/helpers/attack-spellings.ts) without a
// client certificate.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { startInProcessHub, type InProcessHub } from '../helpers/in-process-hub.js';
import { routeTable as anyRouteTable } from '../../hub/http/route-table.js';
import { send, spellings } from '../helpers/attack-spellings.js';

let h: InProcessHub;
before(async () => {
  h = await startInProcessHub();
});
after(async () => {
  await h?.stop();
});

test('the gateway: every route declares public or node access; node routes refuse every spelling without a client certificate', async () => {
  const table = anyRouteTable(h.hub.gateway);
  assert.ok(table.length >= 8, JSON.stringify(table));
  for (const r of table)
    assert.ok(
      r.config.access === 'public' || r.config.access === 'node',
      `${r.method} ${r.url} declares no access rule`,
    );
  const nodeRoutes = table.filter((r) => r.config.access === 'node');
  for (const must of ['GET /v1/artifacts/k3s/:version/:arch', 'GET /v1/artifacts/index.json', 'POST /v1/agent/leave']) {
    assert.ok(
      nodeRoutes.some((r) => `${r.method} ${r.url}` === must),
      `${must} needs a node certificate`,
    );
  }
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  const address = h.hub.gateway.server.address();
  assert.ok(address && typeof address === 'object');
  const gatewayUrl = `https://127.0.0.1:${address.port}`;
  try {
    for (const r of nodeRoutes) {
      const path = r.url.replace(':version', 'v1.31.4+k3s1').replace(':arch', 'amd64');
      for (const v of spellings(path)) {
        for (const method of [r.method, ...(r.method === 'GET' ? ['HEAD'] : [])]) {
          const res = await send(gatewayUrl, agent, method, v.target);
          const what = `${method} ${v.target} (${v.name}): ${res.status} ${res.body.slice(0, 200)}`;
          assert.ok(
            res.status === 401 ||
              res.status === 403 ||
              (res.status === 404 && /no route /.test(res.body)) ||
              (res.status === 404 && method === 'HEAD' && res.body === ''),
            what,
          );
          if (v.name === 'canonical') assert.ok(res.status === 401, what);
        }
      }
    }
  } finally {
    agent.destroy();
  }
});
