// GET /openapi.json: the OpenAPI 3 document generated from the route schemas passes a standard
// validator (@seriousme/openapi-schema-validator), lists every /v1 route of the route table, and
// documents a success response (a schema, or 204) and the JSON error body for each operation.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startInProcessHub, type InProcessHub } from '../helpers/in-process-hub.js';
import { routeTable } from '../../hub/api/access.js';

let h: InProcessHub | undefined;
after(async () => {
  await h?.stop();
});

test('the OpenAPI document is valid and covers every /v1 route', async () => {
  h = await startInProcessHub();
  const r = await h.hub.api.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(r.statusCode, 200);
  const doc = JSON.parse(r.body) as { openapi: string; paths: Record<string, Record<string, unknown>> };
  assert.match(doc.openapi, /^3\./);
  const res = await new Validator().validate(doc);
  assert.equal(res.valid, true, JSON.stringify(res.errors, null, 2));
  for (const route of routeTable(h.hub.api).filter((x) => x.url.startsWith('/v1'))) {
    const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}');
    assert.ok(doc.paths[path]?.[route.method.toLowerCase()], `${route.method} ${path} missing from the document`);
  }
  for (const p of ['/healthz', '/metrics', '/v1/events/stream', '/v1/api-tokens']) assert.ok(doc.paths[p], p);
});

// Operations whose response schema is still to come; every other one must document its responses.
const RESPONSE_SCHEMA_PENDING = new Set<string>([]);

test('every operation documents its success response and its error body', async (t) => {
  h ??= await startInProcessHub();
  const doc = JSON.parse((await h.hub.api.inject({ method: 'GET', url: '/openapi.json' })).body) as {
    paths: Record<
      string,
      Record<
        string,
        {
          responses: Record<string, { content?: Record<string, { schema?: { type?: unknown; properties?: object } }> }>;
        }
      >
    >;
  };
  let checked = 0;
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const name = `${method} ${path}`;
      const ok = Object.entries(op.responses).filter(([status]) => /^2/.test(status));
      const documented =
        ok.length > 0 &&
        ok.every(
          ([status, r]) => status === '204' || Object.values(r.content ?? {}).some((c) => c.schema?.type !== undefined),
        );
      if (RESPONSE_SCHEMA_PENDING.has(name)) {
        if (documented) t.diagnostic(`${name} has a response schema now: take it off RESPONSE_SCHEMA_PENDING`);
        continue;
      }
      assert.ok(documented, `${name}: no response schema (${JSON.stringify(op.responses)})`);
      for (const status of ['4XX', '5XX']) {
        const err = op.responses[status]?.content?.['application/json']?.schema as
          | { properties?: { error?: { properties?: object } } }
          | undefined;
        assert.ok(
          err?.properties?.error?.properties && 'code' in err.properties.error.properties,
          `${name}: no ${status} error body`,
        );
      }
      checked++;
    }
  }
  assert.ok(checked >= 25, `only ${checked} operations checked`);
});
