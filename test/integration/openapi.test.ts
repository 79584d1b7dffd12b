// GET /openapi.json: the OpenAPI 3 document generated from the route schemas passes a standard
// validator (@seriousme/openapi-schema-validator) and lists every /v1 route of the route table.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startInProcessHub, type InProcessHub } from '../helpers/in-process-hub.js';
import { routeTable } from '../../hub/api/access.js';

let h: InProcessHub | undefined;
after(async () => { await h?.stop(); });

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
