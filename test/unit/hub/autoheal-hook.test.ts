// The provider hook is told only what the hub knows for itself: a node that reports a foreign
// address cannot point the hook at another machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { harness } from './autoheal-harness.js';
import { tempDir } from '../store/helpers.js';

interface HookCall {
  action: string;
  pool: string;
  node: Record<string, unknown> & { reported: { addresses: string[]; labels: Record<string, string> } };
}

function hookScript(dir: string): { path: string; calls(): HookCall[] } {
  const path = join(dir, 'hook.sh');
  const log = join(dir, 'calls.jsonl');
  writeFileSync(
    path,
    `#!/bin/sh
req=$(cat)
printf '%s\\n' "$req" >> "${log}"
case "$1" in
  replace) echo '{"ok": true, "message": "made", "machineId": "vm-7"}' ;;
  *) echo '{"ok": true, "message": "power-cycled"}' ;;
esac
`,
  );
  chmodSync(path, 0o755);
  return {
    path,
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as HookCall)
        : [],
  };
}

test('a node reporting a foreign address: the hook gets the addresses the hub saw, the claims under reported, and later the machine id it returned', async (t) => {
  const hook = hookScript(tempDir(t));
  const h = await harness(t, { pool: { hook: hook.path } });
  const sick = await h.join('sick', { addresses: ['203.0.113.9'], labels: { role: 'db' } });
  const buddy = await h.join('buddy');
  await h.connect(sick, '::ffff:127.0.0.7');
  await h.connect(buddy, '127.0.0.8');
  await h.run(6_000); // the engine's startup grace
  await h.disconnect(sick);
  await h.run(60_000);

  const calls = hook.calls();
  assert.deepEqual(
    calls.map((c) => c.action),
    ['reboot', 'replace'],
  );
  for (const c of calls) {
    assert.deepEqual(Object.keys(c.node).sort(), ['id', 'machineId', 'name', 'observedAddresses', 'reported']);
    assert.equal(c.node.id, sick);
    assert.equal(c.node.name, 'sick');
    assert.equal(c.node.machineId, null, 'the hub never made this machine');
    // The agent's connection, then the join's source: both seen by the hub itself.
    assert.deepEqual(c.node.observedAddresses, ['127.0.0.7', '127.0.0.9']);
    assert.deepEqual(c.node.reported.addresses, ['203.0.113.9']);
    assert.deepEqual(c.node.reported.labels, { role: 'db' });
    const { reported: _reported, ...trusted } = c.node;
    assert.doesNotMatch(JSON.stringify(trusted), /203\.0\.113\.9/, 'the foreign address appears only under reported');
  }

  // The machine the hook made joins with the cloud-init's token; once Ready it replaces the old node,
  // and it is known by the machine id the hook returned.
  const fresh = await h.join('fresh', { tokenId: 'tok-replacement', addresses: ['198.51.100.1'] });
  await h.connect(fresh, '127.0.0.10');
  await h.run(2_000);
  assert.equal(await h.store.getNode(sick), undefined, 'the old node was removed');
  await h.run(120_000); // past the pool's cooldown and the replacement's proving period
  await h.disconnect(fresh);
  await h.run(30_000);
  const later = hook.calls().slice(2);
  assert.equal(
    later[0]?.action,
    'reboot',
    JSON.stringify((await h.list('autoheal.decision', fresh)).map((e) => e.message)),
  );
  assert.equal(later[0].node.id, fresh);
  assert.equal(later[0].node.machineId, 'vm-7');
  assert.deepEqual(later[0].node.observedAddresses, ['127.0.0.10', '127.0.0.9']);
});
