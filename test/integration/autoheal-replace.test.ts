// Autoheal replacement through a provider hook: a node whose agent is gone is rebooted through the
// hook, then replaced: the hook gets the pool's cloud-init, the new machine joins with the token in
// it, and once it is Ready the old node is drained and removed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, waitFor, removeDir, AGENT_BIN, type HubHandle, removeTree } from '../helpers/processes.js';
import { Puppet } from '../helpers/puppet.js';

interface Ev {
  type: string;
  nodeId: string | null;
  message: string;
  data: Record<string, unknown>;
}

const work = mkdtempSync(join(tmpdir(), 'atoll-hook-'));
let hub: HubHandle | undefined;
const puppets: Puppet[] = [];

after(async () => {
  for (const p of puppets) p.stop();
  const pidFile = join(work, 'replacement.pid');
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (hub) {
    await hub.stop('SIGKILL');
    removeDir(hub.dataDir);
  }
  removeTree(work);
});

test('a lost node is rebooted through the hook, then replaced through cloud-init, then removed', async () => {
  // The hook: JSON on stdin. reboot: pretend (the machine stays dead). replace: start a new machine,
  // here a real agent process that joins with the token and hub URL of the cloud-init it was given.
  const hook = join(work, 'hook.sh');
  writeFileSync(
    hook,
    `#!/bin/sh
set -eu
req=$(cat)
echo "$1" >> "${work}/hook-calls"
case "$1" in
  reboot) echo '{"ok": true, "message": "power-cycled (but it stays dead)"}' ;;
  replace)
    printf '%s' "$req" > "${work}/replace-request.json"
    token=$(printf '%s' "$req" | grep -o 'AT1[0-9a-f]\\{64\\}::[a-z0-9]\\{8\\}\\.[a-z0-9]\\{32\\}' | head -n1)
    hub=$(printf '%s' "$req" | grep -o 'https://127\\.0\\.0\\.1:[0-9]*' | head -n1)
    nohup "${process.execPath}" "${AGENT_BIN}" join --hub "$hub" --token "$token" --k3s off --node-name replacement --data-dir "${work}/new-machine" > "${work}/replacement.log" 2>&1 &
    echo $! > "${work}/replacement.pid"
    echo '{"ok": true, "message": "machine created", "machineId": "vm-42"}' ;;
esac
`,
  );
  chmodSync(hook, 0o755);
  hub = await startHub({ extraArgs: ['--autoheal-interval', '300ms'] });
  const h = hub;
  const r = await h.api('PATCH', '/v1/pools/default', {
    autoheal: {
      afterRestart: '1s',
      afterReboot: '2s',
      afterReplace: '4s',
      replaceTimeout: '60s',
      maxUnhealthyPercent: 60,
      hook,
    },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const tok = await h.api<{ token: string }>('POST', '/v1/tokens', { uses: 2 });
  const old = await Puppet.join(h, tok.body.token, 'old');
  const buddy = await Puppet.join(h, tok.body.token, 'buddy');
  puppets.push(old, buddy);
  await new Promise((res) => setTimeout(res, 8_500)); // the hub's startup grace
  old.disconnect();

  await waitFor(
    'the old node removed after its replacement is Ready',
    async () => (await h.api('GET', `/v1/nodes/${old.id}`)).status === 404,
    45_000,
  ).catch(async (err: Error) => {
    const evs = (await h.api<{ items: Ev[] }>('GET', '/v1/events?limit=1000')).body.items.map(
      (e) => `${e.type}: ${e.message}`,
    );
    throw new Error(
      `${err.message}\n${evs.join('\n')}\n${existsSync(join(work, 'replacement.log')) ? readFileSync(join(work, 'replacement.log'), 'utf8').slice(-1000) : ''}`,
    );
  });
  const calls = readFileSync(join(work, 'hook-calls'), 'utf8').trim().split('\n');
  assert.deepEqual(calls, ['reboot', 'replace']);
  const request = JSON.parse(readFileSync(join(work, 'replace-request.json'), 'utf8')) as {
    action: string;
    pool: string;
    node: { id: string };
    cloudInit: string;
  };
  assert.equal(request.node.id, old.id);
  assert.match(request.cloudInit, /^#cloud-config/);
  const nodes = (await h.api<{ items: Array<{ name: string; state: string }> }>('GET', '/v1/nodes')).body.items;
  assert.deepEqual(nodes.map((n) => n.name).sort(), ['buddy', 'replacement']);
  assert.ok(nodes.every((n) => n.state === 'ready'));
  const evs = (await h.api<{ items: Ev[] }>('GET', `/v1/events?node=${old.id}&limit=1000`)).body.items;
  const steps = evs.filter((e) => e.type === 'autoheal.step').map((e) => e.message);
  assert.match(steps[0], /restart-k3s: skipped: the agent is unreachable/);
  assert.match(steps[1], /reboot: reboot through the provider hook/);
  assert.match(steps[2], /replace: replacement requested.*vm-42/);
  assert.ok(steps.some((m) => /replacement replacement is Ready/.test(m)));
  assert.ok(evs.some((e) => e.type === 'node.removed'));
});
