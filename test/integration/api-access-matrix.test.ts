// Deny by default, on the route that matched: every operation of /openapi.json (and every gateway
// route) is tried over real TLS with the spellings an attacker uses to slip past a check on the raw
// path (percent-escapes in either case, escaped slashes, //, dot segments, absolute-form targets, a
// trailing slash, upper case, HEAD, OPTIONS), with no token and with each role. Every call gets 401
// or 403 unless the role allows the operation (a token-holder may get a 404 "no route" for a
// spelling that matches nothing: that reaches no handler). Also: every registered route declares an
// access rule, and the canonical spelling does pass for the roles that are allowed (the matrix can fail).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { escapeLetters, fill, send, spellings } from '../helpers/attack-spellings.js';
import { startInProcessHub, type InProcessHub } from '../helpers/in-process-hub.js';
import { routeTable } from '../../hub/api/access.js';
import { permissionFor, roleAllows, type Role } from '../../hub/api/roles.js';
import Fastify from 'fastify';
import { installAccessControl } from '../../hub/api/access.js';
import { createAuthenticator } from '../../hub/api/auth.js';
import { installErrorHandler } from '../../hub/http/errors.js';
import { secretMatches, sha256Hex } from '../../hub/tokens/secrets.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HubServices } from '../../hub/api/services.js';

let h: InProcessHub;
before(async () => {
  h = await startInProcessHub();
});
after(async () => {
  await h?.stop();
});

test('the API: every operation, every spelling, every role: 401/403 unless allowed; no route without a rule', async () => {
  // Every registered route either is public or declares a permission.
  for (const r of routeTable(h.hub.api)) {
    if (r.config.public === true) continue;
    assert.ok(permissionFor(r.method, r.url, r.config.permission), `${r.method} ${r.url} declares no access rule`);
  }
  const tokens: Array<{ role: Role | 'none'; token?: string }> = [{ role: 'none' }];
  for (const role of ['scrape', 'read-only', 'operator'] as const) {
    const r = await h.call<{ token: string }>('POST', '/v1/api-tokens', undefined, {
      role,
      description: `matrix ${role}`,
    });
    assert.equal(r.status, 201);
    tokens.push({ role, token: r.body.token });
  }
  tokens.push({ role: 'admin', token: h.adminToken });

  const doc = (await h.call<{ paths: Record<string, Record<string, unknown>> }>('GET', '/openapi.json')).body;
  const ops: Array<{ method: string; pattern: string; path: string; permission: unknown }> = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const method of Object.keys(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const pattern = path.replace(/\{([^}]+)\}/g, ':$1');
      const route = routeTable(h.hub.api).find((r) => r.method === method.toUpperCase() && r.url === pattern);
      assert.ok(route, `${method} ${path} is documented but not routed`);
      if (route.config.public === true) continue;
      ops.push({ method: method.toUpperCase(), pattern, path: fill(path), permission: route.config.permission });
    }
  }
  assert.ok(ops.length >= 30, `only ${ops.length} protected operations in /openapi.json`);
  // Rotating the admin token replaces the admin's token: tried last, the admin's token read again after each call.
  const ROTATE = '/v1/admin-token/rotate';
  ops.sort((x, y) => Number(x.pattern === ROTATE) - Number(y.pattern === ROTATE));
  assert.equal(ops.at(-1)?.pattern, ROTATE, 'the admin token rotation is in the matrix');
  const admin = tokens[tokens.length - 1];
  assert.ok(
    ops.some((o) => o.pattern === '/metrics'),
    '/metrics needs a token',
  );

  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  let calls = 0;
  try {
    for (const op of ops) {
      const permission = permissionFor(op.method, op.pattern, op.permission);
      assert.ok(permission);
      const variants = op.path.startsWith('/v1/')
        ? spellings(op.path)
        : [
            { name: 'canonical', target: op.path },
            { name: 'trailing slash', target: `${op.path}/` },
            { name: 'escaped', target: escapeLetters(op.path, true) },
            { name: 'absolute form', target: `http://x${op.path}` },
          ];
      const methods = [op.method, ...(op.method === 'GET' ? ['HEAD'] : []), 'OPTIONS'];
      for (const t of tokens) {
        const role = t.role;
        const allowed = role !== 'none' && roleAllows(role, permission);
        const noRoute = new Set<string>();
        for (const method of methods) {
          for (const v of variants) {
            const res = await send(h.hub.apiUrl, agent, method, v.target, t.token);
            if (op.pattern === ROTATE && res.status === 200) {
              assert.equal(role, 'admin');
              admin.token = readFileSync(join(h.dataDir, 'admin-token'), 'utf8').trim();
            }
            if (res.status === 404 && /"message":"no route /.test(res.body)) noRoute.add(v.target);
            calls++;
            const what = `${method} ${v.target} (${v.name}) as ${role}: ${res.status} ${res.body.slice(0, 200)}`;
            if (role === 'none') {
              assert.equal(res.status, 401, what);
              continue;
            }
            if (allowed) {
              assert.notEqual(res.status, 401, what);
              if (v.name === 'canonical' && method === op.method) assert.notEqual(res.status, 403, what);
              continue;
            }
            if (res.status === 404) {
              // A token-holder may learn that a spelling matches no route; no handler ran. (HEAD
              // has no body: its GET twin must have said so.)
              if (method === 'HEAD') assert.ok(noRoute.has(v.target), what);
              else assert.match(res.body, /"code":"NOT_FOUND","message":"no route /, what);
              continue;
            }
            assert.equal(res.status, 403, what);
          }
        }
      }
    }
  } finally {
    agent.destroy();
  }
  assert.ok(calls > 2000, `${calls} calls`);
  // Nothing was minted by any refused call: the only API tokens are the three made above.
  const list = await h.call<{ items: unknown[] }>('GET', '/v1/api-tokens', admin.token);
  assert.equal(list.body.items.length, 3);
});

test('public API routes need no token; everything else without a token is 401, even a target that matches no route', async () => {
  const agent = new Agent({ keepAlive: false });
  try {
    // The reported exploit: the cluster-admin kubeconfig and new credentials with no token.
    for (const [method, path] of [
      ['GET', '/%761/cluster/kubeconfig'],
      ['POST', '/%761/tokens'],
      ['POST', '/%761/api-tokens'],
      ['GET', 'http://x/v1/cluster/kubeconfig'],
    ]) {
      const r = await send(h.hub.apiUrl, agent, method, path);
      assert.equal(r.status, 401, `${method} ${path}: ${r.status} ${r.body}`);
      assert.doesNotMatch(r.body, /apiVersion|"token"/);
    }
    for (const path of ['/healthz', '/openapi.json', '/'])
      assert.equal((await send(h.hub.apiUrl, agent, 'GET', path)).status, 200, path);
    for (const path of ['/metrics', '/v1', '/v1/', '/v1/nope', '/nope', '/%2e%2e/etc/passwd', 'http://x/metrics']) {
      const r = await send(h.hub.apiUrl, agent, 'GET', path);
      assert.equal(r.status, 401, `${path}: ${r.status} ${r.body}`);
      assert.match(r.body, /"code":"UNAUTHORIZED"/);
    }
    // A scrape token reads /metrics and nothing else.
    const scrape = await h.call<{ token: string }>('POST', '/v1/api-tokens', undefined, {
      role: 'scrape',
      description: 'prometheus',
    });
    const m = await send(h.hub.apiUrl, agent, 'GET', '/metrics', scrape.body.token);
    assert.equal(m.status, 200);
    assert.match(m.body, /atoll_/);
    assert.equal((await send(h.hub.apiUrl, agent, 'GET', '/v1/nodes', scrape.body.token)).status, 403);
  } finally {
    agent.destroy();
  }
});

test('a route registered without an access rule answers 403 to everyone, the admin too, and never runs', async () => {
  const app = Fastify();
  installErrorHandler(app);
  const noted: string[] = [];
  const svc = {
    events: {
      note: async (e: { type: string }) => {
        noted.push(e.type);
      },
    },
  } as unknown as HubServices;
  installAccessControl(
    app,
    svc,
    createAuthenticator({ matches: (t) => secretMatches(t, sha256Hex('the-admin-token')) }),
  );
  let ran = 0;
  app.post('/v1/undeclared', async () => {
    ran++;
    return { ran };
  });
  app.get('/v1/nodes', async () => {
    ran++;
    return { items: [] };
  });
  app.get('/also-undeclared', async () => {
    ran++;
    return 'x';
  });
  try {
    const admin = { authorization: 'Bearer the-admin-token' };
    for (const [method, url] of [
      ['POST', '/v1/undeclared'],
      ['GET', '/also-undeclared'],
      ['HEAD', '/also-undeclared'],
    ] as const) {
      assert.equal((await app.inject({ method, url, headers: admin })).statusCode, 403, `${method} ${url} as admin`);
      assert.equal((await app.inject({ method, url })).statusCode, 401, `${method} ${url} without a token`);
    }
    assert.equal(ran, 0, 'no undeclared handler ran');
    assert.equal(
      (await app.inject({ method: 'GET', url: '/v1/nodes', headers: admin })).statusCode,
      200,
      'a declared route runs',
    );
    assert.equal(ran, 1);
  } finally {
    await app.close();
  }
});
