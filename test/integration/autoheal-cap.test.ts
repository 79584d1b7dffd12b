// Autoheal in a pool of two (the cap allows one node), and the provider hook path checked when it
// is set: a missing, relative, non-file or non-executable path is refused with VALIDATION.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, waitFor, removeDir, removeTree, runCli, HUB_BIN, type HubHandle } from '../helpers/processes.js';
import { Puppet } from '../helpers/puppet.js';

interface Ev {
  type: string;
  nodeId: string | null;
  message: string;
  data: Record<string, unknown>;
}
type Err = { error: { code: string; message: string } };
interface Pool {
  autoheal: { hook: string | null; afterRestart: string };
}

let hub: HubHandle;
let work: string;
const puppets: Puppet[] = [];
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'atoll-cap-'));
  hub = await startHub({ extraArgs: ['--autoheal-interval', '300ms'] });
});
after(async () => {
  for (const p of puppets) p.stop();
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
  if (work) removeTree(work);
});

test('one sick node of two is repaired under the default 40% cap', async () => {
  const r = await hub.api('POST', '/v1/pools', {
    name: 'pair',
    autoheal: { afterRestart: '1s', afterReboot: '30s', afterReplace: '60s' },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(
    (await hub.api<{ autoheal: { maxUnhealthyPercent: number } }>('GET', '/v1/pools/pair')).body.autoheal
      .maxUnhealthyPercent,
    40,
  );
  const tok = await hub.api<{ token: string }>('POST', '/v1/tokens', { pool: 'pair', uses: 2 });
  const [sick, well] = await Promise.all(['pair-1', 'pair-2'].map((n) => Puppet.join(hub, tok.body.token, n)));
  puppets.push(sick, well);
  sick.k3sState = 'crashed';
  await waitFor('restart-k3s on the sick node', async () => sick.commands.includes('restart-k3s'), 40_000).catch(
    async (err: Error) => {
      const ds = (await hub.api<{ items: Ev[] }>('GET', `/v1/events?limit=1000&node=${sick.id}`)).body.items.map(
        (e) => `${e.type}: ${e.message}`,
      );
      throw new Error(`${err.message}\n${ds.join('\n')}`);
    },
  );
  const evs = (await hub.api<{ items: Ev[] }>('GET', `/v1/events?limit=1000&type=autoheal.step&node=${sick.id}`)).body
    .items;
  assert.equal(evs[0]?.data.action, 'restart-k3s');
  assert.deepEqual(well.commands, []);
});

test('a hook path is refused when it does not exist, is relative, is not a file or cannot be run', async () => {
  const plain = join(work, 'plain.sh');
  writeFileSync(plain, '#!/bin/sh\necho "{\\"ok\\": true}"\n');
  chmodSync(plain, 0o644);
  const dir = join(work, 'a-dir');
  mkdirSync(dir);
  const cases: Array<[hook: string, message: RegExp]> = [
    [join(work, 'missing-hook'), /^autoheal\.hook: .*missing-hook does not exist on the hub$/],
    ['hooks/my-hook', /^autoheal\.hook: "hooks\/my-hook" must be an absolute path/],
    [dir, /^autoheal\.hook: .*a-dir is not a file$/],
    [plain, /^autoheal\.hook: .*plain\.sh is not executable by the hub \(chmod \+x /],
  ];
  for (const [hook, message] of cases) {
    const patched = await hub.api<Err>('PATCH', '/v1/pools/default', { autoheal: { hook } });
    assert.equal(patched.status, 400, hook);
    assert.equal(patched.body.error.code, 'VALIDATION');
    assert.match(patched.body.error.message, message);
    const created = await hub.api<Err>('POST', '/v1/pools', { name: 'hooked', autoheal: { hook } });
    assert.equal(created.status, 400, hook);
    assert.match(created.body.error.message, message);
    assert.equal((await hub.api('GET', '/v1/pools/hooked')).status, 404, 'a refused pool is not created');
  }
  assert.equal((await hub.api<Pool>('GET', '/v1/pools/default')).body.autoheal.hook, null, 'nothing was stored');

  chmodSync(plain, 0o755);
  const set = await runCli(HUB_BIN, ['pool', 'update', 'default', '--hook', plain, '--data-dir', hub.dataDir]);
  assert.equal(set.code, 0, set.stderr);
  assert.equal((await hub.api<Pool>('GET', '/v1/pools/default')).body.autoheal.hook, plain);
  // Checked when set, not after: a hook that went away later does not block other changes.
  chmodSync(plain, 0o644);
  assert.equal((await hub.api('PATCH', '/v1/pools/default', { autoheal: { afterRestart: '3m' } })).status, 200);
  const cleared = await runCli(HUB_BIN, ['pool', 'update', 'default', '--hook', 'none', '--data-dir', hub.dataDir]);
  assert.equal(cleared.code, 0, cleared.stderr);
  assert.equal((await hub.api<Pool>('GET', '/v1/pools/default')).body.autoheal.hook, null);
  const refused = await runCli(HUB_BIN, [
    'pool',
    'update',
    'default',
    '--hook',
    join(work, 'missing-hook'),
    '--data-dir',
    hub.dataDir,
  ]);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /^error: autoheal\.hook: .*missing-hook does not exist on the hub \(VALIDATION, HTTP 400\)$/m,
  );
});
