// The admin token rotated on a cluster of two hub processes on one PostgreSQL: `atoll-hub admin-token
// rotate` through hub A; hub B hears of it (LISTEN/NOTIFY), refuses the old token and accepts the new
// one within a second or two, writes it to its own <data-dir>/admin-token (0600) and ends an event
// stream opened with the old one. A hub that was down during a rotation starts with the newest token.
// Needs a build (dist/hub/main.js) and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ClientRequest } from 'node:http';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { HUB_BIN, runCli, waitFor, type HubHandle } from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { HubGroup } from '../helpers/hubs.js';
import { watchStream, type WatchedStream } from '../helpers/watch-stream.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
let server: PgServer | undefined;
let group: HubGroup | undefined;
const streams: ClientRequest[] = [];

before(async () => {
  if (skip) return;
  server = await startPostgres();
  group = new HubGroup(server, 'admintok');
  await group.addAll([{ id: 'hub-a' }, { id: 'hub-b' }]);
});
after(async () => {
  for (const s of streams) s.destroy();
  await group?.cleanup();
  server?.stop();
});

const openStream = (hub: HubHandle, token: string): Promise<WatchedStream> => watchStream(hub, token, streams);

const status = async (hub: HubHandle, token: string): Promise<number> =>
  (await hub.api('GET', '/v1/nodes', undefined, token)).status;

test(
  'rotated through hub A: hub B refuses the old admin token and takes the new one within seconds, file included; a hub down meanwhile starts with the new one',
  { skip, timeout: 180_000 },
  async () => {
    const [a, b] = group!.hubs;
    const old = a.adminToken();
    assert.equal(b.adminToken(), old, 'one admin token for the cluster');
    assert.equal(await status(b, old), 200);
    const stream = await openStream(b, old);
    assert.equal(stream.status, 200);

    const started = Date.now();
    const r = await runCli(HUB_BIN, ['admin-token', 'rotate', '--data-dir', a.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /every hub of the cluster/);
    const fresh = a.adminToken();
    assert.notEqual(fresh, old);
    assert.ok(!r.stdout.includes(fresh));
    assert.equal(await status(a, old), 401, 'A refuses the old token at once');
    assert.equal(await status(a, fresh), 200);

    // B: the old token refused and the new one accepted, within a couple of seconds.
    await waitFor('hub B to refuse the old token', async () => (await status(b, old)) === 401, 5000, 50);
    const refusedMs = Date.now() - started;
    await waitFor('hub B to accept the new token', async () => (await status(b, fresh)) === 200, 5000, 50);
    const acceptedMs = Date.now() - started;
    process.stdout.write(
      `# hub B refused the old token ${refusedMs} ms and took the new ${acceptedMs} ms after the CLI started\n`,
    );
    assert.ok(acceptedMs < 3000, `hub B took ${acceptedMs} ms`);
    assert.equal(b.adminToken(), fresh, "hub B's admin-token file holds the new token");
    assert.equal(statSync(join(b.dataDir, 'admin-token')).mode & 0o777, 0o600);
    await waitFor("the old token's event stream on hub B ended", () => stream.ended(), 5000, 50);
    assert.match(b.proc.stdout() + b.proc.stderr(), /admin token was rotated through another hub/);
    for (const h of [a, b]) {
      const logs = h.proc.stdout() + h.proc.stderr();
      assert.ok(!logs.includes(fresh) && !logs.includes(old), 'no hub logs a token');
    }
    const events = await b.api<{ items: Array<{ actor: string; data: { scope: string } }> }>(
      'GET',
      '/v1/events?type=admin-token.rotated',
    );
    assert.equal(events.body.items.length, 1, 'the audit event, seen through hub B');
    assert.equal(events.body.items[0].actor, 'admin');
    assert.equal(events.body.items[0].data.scope, 'cluster');

    // B down during the next rotation (its file keeps the previous token): started again, it takes the newest.
    await b.stop();
    const r2 = await runCli(HUB_BIN, ['admin-token', 'rotate', '--data-dir', a.dataDir]);
    assert.equal(r2.code, 0, r2.stderr);
    const newest = a.adminToken();
    assert.notEqual(newest, fresh);
    assert.equal(b.adminToken(), fresh, 'B was down: its file is the previous one');
    await b.restart();
    assert.equal(b.adminToken(), newest, 'the restarted hub B loaded the newest token from the store');
    assert.equal(await status(b, newest), 200);
    assert.equal(await status(b, fresh), 401);
    assert.equal(await status(b, old), 401);
    assert.equal(await status(a, fresh), 401);
  },
);
