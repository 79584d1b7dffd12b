// Hub membership on a real store: a hub without a beat shows as gone (live: false) for
// --forget-hubs-after, then its row is removed by the next beat of any live hub; this hub's own row
// and live hubs stay. And --forget-hubs-after is parsed and bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqliteStore } from '../../../hub/store/index.js';
import { createMembership } from '../../../hub/cluster/membership.js';
import { createLogger } from '../../../hub/logger.js';
import { parseHubConfig } from '../../../hub/config.js';
import { ConfigError } from '../../../hub/errors.js';

const hub = (id: string) => ({
  id,
  publicUrl: `https://${id}:9444`,
  apiUrl: `https://${id}:9443`,
  gatewayUrl: `https://${id}:9444`,
  startedAt: '2026-01-01T00:00:00.000Z',
});

test('a hub without a beat shows as gone, then is forgotten after forgetAfterMs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-membership-'));
  const store = await openSqliteStore({ path: join(dir, 'hub.db') });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await store.beatHub({ ...hub('dead'), agents: 3 });
  const m = createMembership({
    store,
    self: hub('me'),
    agents: () => 0,
    logger: createLogger('silent'),
    intervalMs: 60_000,
    liveAfterMs: 100,
    forgetAfterMs: 400,
  });
  await sleep(150);
  await m.start();
  t.after(() => m.stop());
  const first = await m.list();
  assert.deepEqual(
    first.map((h) => [h.id, h.live]),
    [
      ['dead', false],
      ['me', true],
    ].sort(),
    'gone, not yet forgotten',
  );
  assert.deepEqual(m.liveGatewayUrls(), ['https://me:9444'], 'never handed to agents');
  await sleep(400);
  const other = createMembership({
    store,
    self: hub('me'),
    agents: () => 0,
    logger: createLogger('silent'),
    intervalMs: 60_000,
    liveAfterMs: 100,
    forgetAfterMs: 400,
  });
  await other.start(); // a beat: the forgetting runs
  other.stop();
  assert.deepEqual(
    (await m.list()).map((h) => h.id),
    ['me'],
    'forgotten',
  );
});

test('--forget-hubs-after: default 1h, a duration, at least 10s', () => {
  const base = { dataDir: '/var/lib/atoll-test', publicUrl: 'https://hub.example:9444' };
  assert.equal(parseHubConfig(base, {}, false).forgetHubsAfterMs, 3_600_000);
  assert.equal(parseHubConfig({ ...base, forgetHubsAfter: '10m' }, {}, false).forgetHubsAfterMs, 600_000);
  assert.equal(parseHubConfig(base, { ATOLL_FORGET_HUBS_AFTER: '30s' }, false).forgetHubsAfterMs, 30_000);
  assert.throws(() => parseHubConfig({ ...base, forgetHubsAfter: '5s' }, {}, false), ConfigError);
});

test('a beat that hangs (the link to the database cut: no answer, no error) makes the hub cut off after the live window', async (t) => {
  let hang = false;
  const pending: Array<() => void> = [];
  const store = {
    beatHub: () => (hang ? new Promise<void>((resolve) => pending.push(resolve)) : Promise.resolve()),
    listHubs: () => Promise.resolve([{ ...hub('me'), agents: 0, lastBeat: '2026-01-01T00:00:00.000Z', ageMs: 0 }]),
    removeHub: () => Promise.resolve(false),
  };
  let now = 0;
  const m = createMembership({
    store,
    self: hub('me'),
    agents: () => 0,
    logger: createLogger('silent'),
    intervalMs: 10,
    liveAfterMs: 60,
    mono: () => now,
  });
  await m.start();
  t.after(() => m.stop());
  assert.equal(m.storeReachable(), true);
  hang = true;
  const tick = async (ms: number): Promise<void> => {
    now += ms;
    await sleep(15); // a beat timer tick
  };
  await tick(30);
  assert.equal(m.storeReachable(), true, 'a slow beat is not a cut');
  for (let i = 0; i < 10; i++) await tick(10);
  assert.equal(m.storeReachable(), false, 'a beat with no answer for the live window is');
  // The database answers again: the hung beat ends, the next one gets through.
  hang = false;
  for (const resolve of pending.splice(0)) resolve();
  await tick(10);
  await tick(10);
  assert.equal(m.storeReachable(), true);
});
