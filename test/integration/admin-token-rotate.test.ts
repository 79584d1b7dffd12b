// atoll-hub admin-token rotate against a real hub process: the old token is refused at once (an event
// stream opened with it ends), the new one is in <data-dir>/admin-token (0600) and works, the CLI and
// the logs never show it, an admin-token.rotated event is stored, and the hub restarted keeps the new
// one. The route refuses a missing or wrong token and an API token, changing nothing.
// Needs a build (dist/hub/main.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import type { ClientRequest } from 'node:http';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { startHub, runCli, removeDir, waitFor, HUB_BIN, type HubHandle } from '../helpers/processes.js';
import { watchStream, type WatchedStream } from '../helpers/watch-stream.js';

let hub: HubHandle;
const streams: ClientRequest[] = [];
before(async () => {
  hub = await startHub();
});
after(async () => {
  for (const s of streams) s.destroy();
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
});

interface EventItem {
  type: string;
  actor: string;
  message: string;
  data?: Record<string, unknown>;
}

const openStream = (token: string): Promise<WatchedStream> => watchStream(hub, token, streams);

test('admin-token rotate: the old token is refused at once, the new one is in the 0600 file and works, and the hub keeps it after a restart', async () => {
  const old = hub.adminToken();
  const readOnly = await hub.api<{ token: string }>('POST', '/v1/api-tokens', { role: 'read-only' });
  assert.equal(readOnly.status, 201);
  const stream = await openStream(old);
  assert.equal(stream.status, 200);
  assert.equal((await hub.api('GET', '/v1/nodes', undefined, old)).status, 200);

  const r = await runCli(HUB_BIN, ['admin-token', 'rotate', '--data-dir', hub.dataDir]);
  assert.equal(r.code, 0, r.stderr);
  const fresh = hub.adminToken();
  const path = join(hub.dataDir, 'admin-token');
  assert.notEqual(fresh, old);
  assert.match(fresh, /^atoll_admin_[A-Za-z0-9_-]{32}$/);
  assert.equal(statSync(path).mode & 0o777, 0o600, 'the file is 0600');
  assert.match(r.stdout, /admin token rotated: the old one no longer works/);
  assert.ok(r.stdout.includes(path), `points at the file: ${r.stdout}`);
  assert.ok(!`${r.stdout}${r.stderr}`.includes(fresh), 'the CLI does not print the new token');

  // At once: the very next request with the old token is refused, the new one passes.
  const refused = await hub.api<{ error: { code: string } }>('GET', '/v1/nodes', undefined, old);
  assert.equal(refused.status, 401);
  assert.equal(refused.body.error.code, 'UNAUTHORIZED');
  assert.equal((await hub.api('GET', '/v1/nodes', undefined, fresh)).status, 200);
  assert.equal((await hub.api('GET', '/v1/nodes', undefined, readOnly.body.token)).status, 200, 'API tokens stay');
  // The stream opened with the old token re-checks it every second: it ends.
  await waitFor('the old token’s event stream ended', () => stream.ended(), 5000, 50);

  const events = await hub.api<{ items: EventItem[] }>('GET', '/v1/events?type=admin-token.rotated', undefined, fresh);
  assert.equal(events.status, 200);
  assert.equal(events.body.items.length, 1, JSON.stringify(events.body));
  const e = events.body.items[0];
  assert.equal(e.actor, 'admin');
  assert.equal(e.data?.path, path);
  const everything = JSON.stringify((await hub.api('GET', '/v1/events?limit=1000', undefined, fresh)).body);
  assert.ok(!everything.includes(fresh) && !everything.includes(old), 'no event holds a token');
  const logs = hub.proc.stdout() + hub.proc.stderr();
  assert.ok(!logs.includes(fresh) && !logs.includes(old), 'the hub logs no token');

  // -o json: the answer names the file and the scope, never the token.
  const again = await runCli(HUB_BIN, ['admin-token', 'rotate', '--data-dir', hub.dataDir, '-o', 'json']);
  assert.equal(again.code, 0, again.stderr);
  const doc = JSON.parse(again.stdout) as { path: string; scope: string; rotatedAt: string };
  assert.equal(doc.path, path);
  assert.equal(doc.scope, process.env.ATOLL_TEST_DATASTORE === 'postgres' ? 'cluster' : 'hub');
  const third = hub.adminToken();
  assert.ok(!again.stdout.includes(third));
  assert.equal((await hub.api('GET', '/v1/nodes', undefined, fresh)).status, 401, 'the second one is refused too');

  await hub.stop();
  await hub.restart();
  assert.equal(hub.adminToken(), third, 'the restarted hub keeps the file');
  assert.equal((await hub.api('GET', '/v1/nodes', undefined, third)).status, 200);
  assert.equal((await hub.api('GET', '/v1/nodes', undefined, old)).status, 401);
});

test('the rotate route refuses a missing or wrong token and API tokens, and changes nothing', async () => {
  const before = hub.adminToken();
  const operator = await hub.api<{ token: string }>('POST', '/v1/api-tokens', { role: 'operator' });
  assert.equal(operator.status, 201);
  const post = (headers: Record<string, string>): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request(
        `${hub.apiUrl}/v1/admin-token/rotate`,
        { method: 'POST', ca: hub.caPem(), headers },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end();
    });
  assert.equal(await post({}), 401, 'no token');
  assert.equal(await post({ authorization: `Bearer atoll_admin_${'x'.repeat(32)}` }), 401, 'a wrong token');
  assert.equal(await post({ authorization: `Basic ${Buffer.from(`admin:${before}`).toString('base64')}` }), 401);
  assert.equal(await post({ authorization: `Bearer ${operator.body.token}` }), 403, 'an operator API token');
  const wrong = await runCli(HUB_BIN, ['admin-token', 'rotate', '--data-dir', hub.dataDir], {
    ATOLL_ADMIN_TOKEN: 'not-the-token',
  });
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /UNAUTHORIZED/);
  assert.equal(hub.adminToken(), before, 'the token is unchanged');
  assert.equal((await hub.api('GET', '/v1/nodes', undefined, before)).status, 200);
  const denied = await hub.api<{ items: EventItem[] }>('GET', '/v1/events?type=api.denied');
  assert.ok(
    denied.body.items.some((e) => e.message.includes('/v1/admin-token/rotate')),
    'the refused API token is audited',
  );
});
