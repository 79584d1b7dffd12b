// API roles: read-only and operator tokens next to the admin token; every state-changing route of
// fastify's route table refuses a read-only token with a 403 naming the permission, and leaves an
// event; state-changing requests are audited; the api-token CLI; event paging and filters.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startInProcessHub, type InProcessHub } from '../helpers/in-process-hub.js';
import { routeTable } from '../../hub/api/access.js';
import { permissionFor } from '../../hub/api/roles.js';
import { runCli, HUB_BIN, apiCall } from '../helpers/processes.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Ev {
  id: number;
  type: string;
  actor: string;
  nodeId: string | null;
  pool: string | null;
  message: string;
  data: Record<string, unknown>;
}
type Err = { error: { code: string; message: string } };

let h: InProcessHub;
before(async () => {
  h = await startInProcessHub();
});
after(async () => {
  await h?.stop();
});

async function makeToken(role: string): Promise<{ id: string; token: string }> {
  const r = await h.call<{ id: string; token: string; role: string }>('POST', '/v1/api-tokens', undefined, {
    role,
    description: `${role} test`,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.role, role);
  assert.match(r.body.token, /^atoll_api_/);
  return r.body;
}

function fill(url: string): string {
  return url
    .replace(':pool', 'default')
    .replace(':action', 'cordon')
    .replace(/:[a-zA-Z]+/g, 'nope');
}

async function events(query: string): Promise<Ev[]> {
  const r = await h.call<{ items: Ev[] }>('GET', `/v1/events?limit=1000&${query}`);
  assert.equal(r.status, 200);
  return r.body.items;
}

test('a read-only token is refused on every state-changing route, with a 403 naming the permission and an event', async () => {
  const ro = await makeToken('read-only');
  const routes = routeTable(h.hub.api).filter(
    (r) =>
      r.url.startsWith('/v1') && (r.method !== 'GET' || permissionFor(r.method, r.url, r.config.permission) !== 'read'),
  );
  assert.ok(routes.length >= 12, `only ${routes.length} state-changing routes found: ${JSON.stringify(routes)}`);
  for (const must of [
    'POST /v1/tokens',
    'DELETE /v1/nodes/:id',
    'POST /v1/nodes/:id/actions/:action',
    'POST /v1/api-tokens',
    'GET /v1/pools/:pool/cloud-init',
    'PUT /v1/cluster/autoheal',
  ]) {
    assert.ok(
      routes.some((r) => `${r.method} ${r.url}` === must),
      `${must} missing from the route table`,
    );
  }
  for (const r of routes) {
    const res = await h.call<Err>(
      r.method,
      fill(r.url),
      ro.token,
      r.method === 'GET' || r.method === 'DELETE' ? undefined : {},
    );
    assert.equal(res.status, 403, `${r.method} ${r.url}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'FORBIDDEN');
    const perm = permissionFor(r.method, r.url, r.config.permission);
    assert.ok(res.body.error.message.includes(`"${perm}"`), res.body.error.message);
  }
  const denied = await events('type=api.denied');
  for (const r of routes) {
    assert.ok(
      denied.some((e) => e.actor === ro.id && e.data.action === `${r.method} ${r.url}` && e.data.result === 'denied'),
      `no api.denied event for ${r.method} ${r.url}`,
    );
  }
  // Reads work, and nothing was created.
  for (const path of ['/v1/nodes', '/v1/pools', '/v1/tokens', '/v1/events', '/v1/cluster', '/v1/api-tokens']) {
    assert.equal((await h.call('GET', path, ro.token)).status, 200, path);
  }
  assert.equal((await h.call<{ items: unknown[] }>('GET', '/v1/tokens')).body.items.length, 0);
});

test('a read-only token is refused on every state-changing operation of /openapi.json (path params filled with dummies)', async () => {
  const ro = await makeToken('read-only');
  const doc = (
    await h.call<{ paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }> }>> }>(
      'GET',
      '/openapi.json',
    )
  ).body;
  const ops: Array<{ method: string; path: string; url: string }> = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!['post', 'put', 'patch', 'delete'].includes(method)) continue;
      const names = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      assert.deepEqual(
        names.sort(),
        [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort(),
        `${method} ${path}: path parameters documented`,
      );
      const url = path.replace(/\{([^}]+)\}/g, (_m, name: string) => `dummy-${name}`);
      ops.push({ method: method.toUpperCase(), path, url });
    }
  }
  const writes = routeTable(h.hub.api).filter((r) => r.url.startsWith('/v1') && r.method !== 'GET');
  assert.equal(
    ops.length,
    writes.length,
    `the document has ${ops.length} state-changing operations, the route table ${writes.length}`,
  );
  const before = (await events('type=api.denied')).at(-1)?.id ?? 0;
  for (const op of ops) {
    const res = await h.call<Err>(op.method, op.url, ro.token, op.method === 'DELETE' ? undefined : {});
    assert.equal(res.status, 403, `${op.method} ${op.url}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, 'FORBIDDEN');
    const named = /permission "([^"]+)" required/.exec(res.body.error.message);
    assert.ok(named && named[1] !== 'read', `${op.method} ${op.path}: ${res.body.error.message}`);
    const ev = (await events(`type=api.denied&since=${before}`)).find(
      (e) =>
        e.actor === ro.id &&
        e.data.target === op.url &&
        e.data.action === `${op.method} ${op.path.replace(/\{([^}]+)\}/g, ':$1')}`,
    );
    assert.ok(ev, `no api.denied event for ${op.method} ${op.url}`);
    assert.equal(ev.data.permission, named[1]);
    assert.equal(ev.data.result, 'denied');
    assert.match(ev.message, new RegExp(`"${named[1]}"`));
  }
  // Nothing was created or changed by the refused requests.
  assert.equal((await h.call<{ items: unknown[] }>('GET', '/v1/tokens')).body.items.length, 0);
  assert.deepEqual(
    (await h.call<{ items: Array<{ name: string }> }>('GET', '/v1/pools')).body.items.map((p) => p.name),
    ['default'],
  );
});

test('an operator acts on nodes but manages no tokens, pools or settings; the admin can do everything', async () => {
  const op = await makeToken('operator');
  // Reaches the handler (404: no such node), so the permission check passed.
  const act = await h.call<Err>('POST', '/v1/nodes/nope/actions/cordon', op.token);
  assert.equal(act.status, 404, JSON.stringify(act.body));
  assert.equal((await h.call('DELETE', '/v1/nodes/nope', op.token)).status, 404);
  for (const [method, url, perm] of [
    ['POST', '/v1/tokens', 'tokens:write'],
    ['POST', '/v1/pools', 'pools:write'],
    ['PUT', '/v1/cluster/autoheal', 'cluster:settings'],
    ['POST', '/v1/api-tokens', 'api-tokens:write'],
    ['PATCH', '/v1/nodes/nope', 'nodes:settings'],
    ['GET', '/v1/cluster/kubeconfig', 'cluster:kubeconfig'],
  ]) {
    const r = await h.call<Err>(method, url, op.token, method === 'GET' ? undefined : {});
    assert.equal(r.status, 403, `${method} ${url}`);
    assert.match(r.body.error.message, new RegExp(`"${perm}"`));
  }
  const pool = await h.call('POST', '/v1/pools', undefined, { name: 'audited' });
  assert.equal(pool.status, 201);
  const audit = await events('type=api.request');
  const created = audit.find((e) => e.data.action === 'POST /v1/pools' && e.actor === 'admin');
  assert.ok(created, JSON.stringify(audit));
  assert.equal(created.data.result, 'ok');
  assert.equal(created.data.target, '/v1/pools');
  const opAct = audit.find((e) => e.actor === op.id && e.data.action === 'POST /v1/nodes/:id/actions/:action');
  assert.ok(opAct, 'operator action audited');
  assert.equal(opAct.data.result, 'failed');
  assert.equal(opAct.nodeId, 'nope');
});

test('an action is audited before its answer: a read right after it finds the event', async () => {
  const audited = async (): Promise<number> =>
    (await h.hub.services.store.listEvents({ type: 'api.request', limit: 1000 })).filter(
      (e) => e.message === 'POST /v1/pools -> 201',
    ).length;
  const before = await audited();
  const caPem = readFileSync(join(h.dataDir, 'ca.crt'), 'utf8');
  // Ten actions in a row, each followed at once by a look into the store: no waiting, no retry.
  for (let i = 0; i < 10; i++) {
    // Over the real HTTPS listener: the answer is on the wire, as a client sees it.
    const r = await apiCall(h.hub.apiUrl, caPem, h.adminToken, 'POST', '/v1/pools', { name: `audit-order-${i}` });
    assert.equal(r.status, 201);
    assert.equal(await audited(), before + i + 1, `action ${i} was not yet audited when its answer came`);
  }
});

test('bad, missing and revoked tokens get 401; tokens are stored hashed', async () => {
  const ro = await makeToken('read-only');
  assert.equal((await h.call('GET', '/v1/nodes', ro.token)).status, 200);
  const wrong = `${ro.token.slice(0, -1)}${ro.token.endsWith('x') ? 'y' : 'x'}`; // a different last character
  assert.equal((await h.call('GET', '/v1/nodes', wrong)).status, 401);
  assert.equal((await h.hub.api.inject({ method: 'GET', url: '/v1/nodes' })).statusCode, 401);
  const rows = await h.hub.services.store.listApiTokens();
  assert.ok(
    rows.some((r) => r.id === ro.id && r.secretHash.length === 64),
    'the token is stored, hashed',
  );
  assert.ok(!JSON.stringify(rows).includes(ro.token.split('_').pop()!), 'the secret is not stored');
  const list = await h.call<{ items: Array<{ id: string; revokedAt: string | null }> }>('GET', '/v1/api-tokens');
  assert.ok(!JSON.stringify(list.body).includes('secretHash'));
  assert.equal((await h.call('DELETE', `/v1/api-tokens/${ro.id}`)).status, 204);
  assert.equal((await h.call('GET', '/v1/nodes', ro.token)).status, 401);
  assert.equal((await h.call('DELETE', '/v1/api-tokens/doesnotexist')).status, 404);
});

test('atoll-hub api-token create/list/revoke', async () => {
  const env = { ATOLL_API_URL: h.hub.apiUrl };
  const created = await runCli(
    HUB_BIN,
    ['api-token', 'create', '--role', 'operator', '--description', 'cli', '--data-dir', h.dataDir],
    env,
  );
  assert.equal(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  assert.match(token, /^atoll_api_[0-9a-f]{12}_/);
  assert.equal((await h.call('POST', '/v1/nodes/x/actions/reboot', token)).status, 404);
  const list = await runCli(HUB_BIN, ['api-token', 'list', '--data-dir', h.dataDir, '-o', 'json'], env);
  assert.equal(list.code, 0, list.stderr);
  const items = (JSON.parse(list.stdout) as { items: Array<{ id: string; role: string; description: string }> }).items;
  const mine = items.find((t) => t.description === 'cli');
  assert.ok(mine);
  assert.equal(mine.role, 'operator');
  const bad = await runCli(HUB_BIN, ['api-token', 'create', '--role', 'root', '--data-dir', h.dataDir], env);
  assert.equal(bad.code, 2);
  const rev = await runCli(HUB_BIN, ['api-token', 'revoke', mine.id, '--data-dir', h.dataDir], env);
  assert.equal(rev.code, 0, rev.stderr);
  assert.equal((await h.call('GET', '/v1/nodes', token)).status, 401);
});

test('GET /v1/events pages with a cursor and filters by type, node and pool', async () => {
  for (const name of ['p1', 'p2', 'p3'])
    assert.equal((await h.call('POST', '/v1/pools', undefined, { name })).status, 201);
  const page1 = await h.call<{ items: Ev[]; cursor: number }>('GET', '/v1/events?type=pool.created&limit=2');
  assert.equal(page1.body.items.length, 2);
  const page2 = await h.call<{ items: Ev[]; cursor: number }>(
    'GET',
    `/v1/events?type=pool.created&limit=2&since=${page1.body.cursor}`,
  );
  assert.ok(page2.body.items.length >= 1);
  assert.ok(page2.body.items.every((e) => e.id > page1.body.cursor && e.type === 'pool.created'));
  const byPool = await h.call<{ items: Ev[] }>('GET', '/v1/events?pool=p2');
  assert.ok(byPool.body.items.length >= 1 && byPool.body.items.every((e) => e.pool === 'p2'));
  const byNode = await h.call<{ items: Ev[] }>('GET', '/v1/events?node=nope');
  assert.ok(byNode.body.items.every((e) => e.nodeId === 'nope'));
});
