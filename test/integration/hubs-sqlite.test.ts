// One hub on SQLite: GET /v1/hubs lists it alone, live, leading every singleton role, under the id it
// made at first start and keeps in <data-dir>/hub-id across restarts. Needs a build (dist/hub/main.js).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeTree, startHub, type HubHandle } from '../helpers/processes.js';
import { stopProc } from '../helpers/bad-input.js';

let hub: HubHandle | undefined;
after(async () => {
  await stopProc(hub?.proc);
  if (hub) removeTree(join(hub.dataDir, '..'));
});

interface HubItem {
  id: string;
  publicUrl: string;
  apiUrl: string;
  live: boolean;
  leader: string[];
  self: boolean;
  agents: number;
}

test('a SQLite hub lists itself in GET /v1/hubs, leading every role, with an id kept across restarts', async () => {
  hub = await startHub();
  const id = readFileSync(join(hub.dataDir, 'hub-id'), 'utf8').trim();
  assert.match(id, /^hub-[0-9a-f]{8}$/);
  const r = await hub.api<{ items: HubItem[] }>('GET', '/v1/hubs');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.items.length, 1);
  const [me] = r.body.items;
  assert.equal(me.id, id);
  assert.equal(me.self, true);
  assert.equal(me.live, true);
  assert.equal(me.publicUrl, hub.gatewayUrl);
  assert.equal(me.apiUrl, hub.apiUrl);
  assert.equal(me.agents, 0);
  assert.deepEqual(me.leader.sort(), [
    'autoheal',
    'autoscale',
    'backups',
    'event-retention',
    'lifespan',
    'purges',
    'support-watch',
    'upgrades',
  ]);
  await hub.stop();
  await hub.restart();
  const again = await hub.api<{ items: HubItem[] }>('GET', '/v1/hubs');
  assert.deepEqual(
    again.body.items.map((i) => i.id),
    [id],
    'the same id after a restart, and no stale row',
  );
});
