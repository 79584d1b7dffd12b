// Join tokens from the built CLI against a real hub: token list shows the live ones (--all: every
// one), token revoke takes the whole token string or its id, and the CLI's API client names the
// status and text of an error response that is not the hub's JSON.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, runCli, removeDir, removeTree, HUB_BIN, type HubHandle } from '../helpers/processes.js';
import { freePort } from '../helpers/ports.js';
import { hubServingKey } from '../helpers/hub-secrets.js';

interface Tok {
  id: string;
  status: string;
  description: string;
}
type Err = { error: { code: string; message: string } };

let hub: HubHandle;
let home: string;
before(async () => {
  home = mkdtempSync(join(tmpdir(), 'atoll-cli-home-'));
  hub = await startHub();
});
after(async () => {
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
  if (home) removeTree(home);
});

function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(HUB_BIN, [...args, '--data-dir', hub.dataDir], { XDG_CONFIG_HOME: home, ...env });
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.equal(r.code, 0, `atoll-hub ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function listed(all: boolean): Promise<Tok[]> {
  return (JSON.parse(await ok(['token', 'list', '-o', 'json', ...(all ? ['--all'] : [])])) as { items: Tok[] }).items;
}

test('token list shows only live tokens; --all (and ?all=true) also the revoked, expired and used-up ones', async () => {
  const live = (await ok(['token', 'create', '--description', 'live'])).trim();
  const revoked = (await ok(['token', 'create', '--description', 'revoked'])).trim();
  await ok(['token', 'create', '--ttl', '1s', '--description', 'expired']);
  await ok(['token', 'revoke', revoked]);
  await new Promise((r) => setTimeout(r, 1200));

  const mine = (items: Tok[]): Record<string, string> =>
    Object.fromEntries(
      items.filter((t) => ['live', 'revoked', 'expired'].includes(t.description)).map((t) => [t.description, t.status]),
    );
  assert.deepEqual(mine(await listed(false)), { live: 'active' });
  assert.deepEqual(mine(await listed(true)), { live: 'active', revoked: 'revoked', expired: 'expired' });
  assert.ok((await listed(false)).every((t) => t.status === 'active'));

  const api = await hub.api<{ items: Tok[] }>('GET', '/v1/tokens');
  assert.ok(
    api.body.items.every((t) => t.status === 'active'),
    JSON.stringify(api.body),
  );
  const apiAll = await hub.api<{ items: Tok[] }>('GET', '/v1/tokens?all=true');
  assert.ok(
    apiAll.body.items.some((t) => t.status === 'revoked') && apiAll.body.items.some((t) => t.status === 'expired'),
  );

  const table = await ok(['token', 'list']);
  assert.match(table, /^ID\s+POOL\s+STATUS/);
  assert.ok(table.includes('live') && !table.includes('revoked') && !table.includes('expired'), table);
  const wide = await ok(['token', 'list', '--all', '-o', 'wide']);
  assert.match(wide, /CREATED BY/);
  assert.ok(wide.includes('revoked'));
  assert.ok(live.startsWith('AT1'));
});

test('token revoke takes the whole token string or its id, and refuses anything else with exit 2', async () => {
  const whole = (await ok(['token', 'create', '--description', 'by-string'])).trim();
  const r = await cli(['token', 'revoke', whole]);
  assert.equal(r.code, 0, r.stderr);
  const id = whole.split('::')[1].split('.')[0];
  assert.equal(r.stdout.trim(), `token ${id} revoked`);
  assert.equal((await listed(true)).find((t) => t.id === id)?.status, 'revoked');

  const byId = JSON.parse((await cli(['token', 'create', '--description', 'by-id', '-o', 'json'])).stdout) as {
    id: string;
  };
  assert.equal((await cli(['token', 'revoke', byId.id])).code, 0);
  assert.equal((await listed(true)).find((t) => t.id === byId.id)?.status, 'revoked');

  const bad = await cli(['token', 'revoke', 'AT1deadbeef::x.y']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: not a join token or token id: invalid token CA hash length/m);
  const unknown = await cli(['token', 'revoke', 'zzzzzzzz']);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr.trim(), 'error: token zzzzzzzz does not exist (NOT_FOUND, HTTP 404)');

  // The API itself: a path segment too long for the router answers in the hub's error shape.
  const long = await hub.api<Err>('DELETE', `/v1/tokens/${encodeURIComponent(whole)}`);
  assert.equal(long.status, 400);
  assert.equal(long.body.error.code, 'BAD_REQUEST');
  assert.ok(!long.body.error.message.includes(whole.split('.')[1]), 'the secret is not echoed');
});

test("an error response that is not the hub's JSON is reported with its status and text", async () => {
  // A reverse proxy in front of the hub: same certificate, answers with HTML or foreign JSON.
  const replies: Record<string, { status: number; type: string; body: string }> = {
    '/v1/nodes': {
      status: 502,
      type: 'text/html',
      body: '<html><body><h1>502 Bad Gateway</h1><p>upstream hub is down</p></body></html>',
    },
    '/v1/pools': {
      status: 414,
      type: 'application/json',
      body: JSON.stringify({
        error: 'URI Too Long',
        code: 'FST_ERR_MAX_PARAM_LENGTH',
        message: 'the path is too long',
        statusCode: 414,
      }),
    },
    '/v1/tokens': { status: 503, type: 'text/plain', body: '' },
  };
  const server: Server = createServer(
    { cert: readFileSync(join(hub.dataDir, 'serving.crt')), key: hubServingKey(hub.dataDir) },
    (req, res) => {
      const r = replies[(req.url ?? '').split('?')[0]] ?? { status: 404, type: 'text/plain', body: 'no such thing' };
      res.writeHead(r.status, { 'content-type': r.type }).end(r.body);
    },
  );
  const port = await freePort();
  await new Promise<void>((res) => server.listen(port, '127.0.0.1', res));
  try {
    const env = { ATOLL_API_URL: `https://127.0.0.1:${port}` };
    const html = await cli(['nodes'], env);
    assert.equal(html.code, 1);
    assert.equal(html.stderr.trim(), 'error: HTTP 502 Bad Gateway: 502 Bad Gateway upstream hub is down');
    const foreign = await cli(['pool', 'list'], env);
    assert.equal(foreign.code, 1);
    assert.equal(foreign.stderr.trim(), 'error: HTTP 414 URI Too Long: the path is too long');
    const empty = await cli(['token', 'list'], env);
    assert.equal(empty.stderr.trim(), 'error: HTTP 503 Service Unavailable (empty response)');
  } finally {
    await new Promise((res) => server.close(res));
  }
});
