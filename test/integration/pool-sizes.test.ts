// A pool's size bounds and autoscale settings against a real hub (issue 19): the API refuses bounds
// out of order and autoscale for a pool whose hook cannot create and delete machines; the CLI sets
// them and `pool scale` sets the target size within the bounds, audited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, runCli, removeDir, removeTree, HUB_BIN, type HubHandle } from '../helpers/processes.js';

type Err = { error: { code: string; message: string } };
interface Pool {
  name: string;
  minSize: number;
  maxSize: number;
  autoscale: Record<string, unknown>;
}

let hub: HubHandle;
let home: string;
before(async () => {
  home = mkdtempSync(join(tmpdir(), 'atoll-pool-sizes-'));
  hub = await startHub();
});
after(async () => {
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
  if (home) removeTree(home);
});

const cli = (args: string[]) => runCli(HUB_BIN, [...args, '--data-dir', hub.dataDir], { XDG_CONFIG_HOME: home });

function hookScript(name: string, actions: string[]): string {
  const path = join(home, name);
  writeFileSync(
    path,
    `#!/bin/sh\nif [ "$1" = capabilities ]; then echo '{"ok":true,"actions":${JSON.stringify(actions)}}'; exit 0; fi\necho '{"ok":false,"message":"not in this test"}'\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

test('bounds: defaults, bounded, minSize <= maxSize (also against the stored other bound)', async () => {
  const def = await hub.api<Pool>('GET', '/v1/pools/default');
  assert.equal(def.body.minSize, 0);
  assert.equal(def.body.maxSize, 100);
  assert.equal(def.body.autoscale.enabled, false);
  assert.equal(def.body.autoscale.scaleDownUnneeded, '10m');
  const made = await hub.api<Pool>('POST', '/v1/pools', { name: 'batch', minSize: 1, maxSize: 3 });
  assert.equal(made.status, 201);
  assert.deepEqual([made.body.minSize, made.body.maxSize], [1, 3]);
  const crossed = await hub.api<Err>('PATCH', '/v1/pools/batch', { minSize: 4 });
  assert.equal(crossed.status, 400);
  assert.equal(crossed.body.error.message, 'minSize (4) must not exceed maxSize (3)');
  const huge = await hub.api<Err>('PATCH', '/v1/pools/batch', { maxSize: 100_000 });
  assert.equal(huge.status, 400);
  const badDuration = await hub.api<Err>('PATCH', '/v1/pools/batch', { autoscale: { scaleDownUnneeded: 'soon' } });
  assert.equal(badDuration.status, 400);
  assert.match(badDuration.body.error.message, /autoscale\.scaleDownUnneeded/);
  assert.equal((await hub.api<Pool>('GET', '/v1/pools/batch')).body.minSize, 1, 'nothing changed');
});

test('autoscale is refused without a hook that lists create and delete; accepted with one', async () => {
  const none = await hub.api<Err>('PATCH', '/v1/pools/batch', { autoscale: { enabled: true } });
  assert.equal(none.status, 400);
  assert.match(none.body.error.message, /^autoscale: pool batch has no provider hook/);
  const partial = hookScript('reboot-only', ['reboot', 'replace']);
  const r1 = await hub.api<Err>('PATCH', '/v1/pools/batch', {
    autoheal: { hook: partial },
    autoscale: { enabled: true },
  });
  assert.equal(r1.status, 400);
  assert.match(r1.body.error.message, /does not support create and delete \(its capabilities: reboot, replace\)/);
  const full = hookScript('full', ['reboot', 'replace', 'create', 'delete']);
  const r2 = await hub.api<Pool>('PATCH', '/v1/pools/batch', {
    autoheal: { hook: full },
    autoscale: { enabled: true, scaleDownUnneeded: '30s' },
  });
  assert.equal(r2.status, 200, JSON.stringify(r2.body));
  assert.equal(r2.body.autoscale.enabled, true);
  assert.equal(r2.body.autoscale.scaleDownUnneeded, '30s');
  assert.equal(r2.body.autoscale.scaleDownUtilizationThreshold, 0.5);
});

test('CLI: sizes and autoscale flags, pool show, pool scale within the bounds, audited', async () => {
  const upd = await cli(['pool', 'update', 'batch', '--max-size', '5', '--scale-down-utilization-threshold', '0.3']);
  assert.equal(upd.code, 0, upd.stderr);
  const show = await cli(['pool', 'show', 'batch']);
  assert.match(show.stdout, /size:\s+min 1, max 5/);
  assert.match(show.stdout, /autoscale:\s+on · scale down under 0\.3 for 30s/);
  const out = await cli(['pool', 'scale', 'batch', '--size', '9']);
  assert.equal(out.code, 1);
  assert.match(out.stderr, /size 9 is outside pool batch's bounds 1\.\.5/);
  const ok = await cli(['pool', 'scale', 'batch', '--size', '2']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'pool batch target size 2\n');
  const ev = await hub.api<{ items: Array<{ type: string; message: string; actor: string }> }>(
    'GET',
    '/v1/events?type=pool.scaled',
  );
  assert.equal(ev.body.items.length, 1);
  assert.equal(ev.body.items[0].message, 'pool batch target size set to 2');
  assert.equal(ev.body.items[0].actor, 'admin');
});
