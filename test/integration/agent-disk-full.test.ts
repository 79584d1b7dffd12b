// A full disk under the agent's data dir (a small tmpfs): the node reports that file system (not only
// "/") and is degraded for it; a command that cannot be journalled is refused, not run; a renewed
// certificate that cannot be stored does not crash the agent (and the hub mints no more than one);
// once space is back, the renewal completes and commands run again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
  removeTree,
  type HubHandle,
  type AgentHandle,
} from '../helpers/processes.js';
import { createToken, stopProc } from '../helpers/bad-input.js';
import { mountTmpfs, fill, type Tmpfs } from '../helpers/tmpfs.js';

const root = process.getuid?.() === 0;
let disk: Tmpfs | undefined;
let hub: HubHandle | undefined;
let agent: AgentHandle | undefined;
after(async () => {
  await stopProc(agent?.proc, 2_000);
  await stopProc(hub?.proc, 3_000);
  disk?.unmount();
  if (disk) removeTree(disk.work);
  if (hub) removeDir(hub.dataDir);
});

interface Detail {
  id: string;
  state: string;
  reasons: string[];
  connected: boolean;
  health: { disks: Array<{ role: string; path: string; usedPercent: number }> } | null;
  certificates: Array<{ serial: string; revokedAt: string | null }>;
}
interface Cmd {
  state: string;
  result: { ok: boolean; errorCode: string; message: string } | null;
}
interface IdentityFile {
  certFile: string;
  certReceivedAt: string;
}

async function command(h: HubHandle, nodeId: string): Promise<Cmd> {
  const r = await h.api<{ commandId: string }>('POST', `/v1/nodes/${nodeId}/actions/restart-k3s?wait=0`);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return waitFor(
    'the command result',
    async () => {
      const c = (await h.api<Cmd>('GET', `/v1/nodes/${nodeId}/commands/${r.body.commandId}`)).body;
      return c.state === 'done' ? c : undefined;
    },
    15_000,
  );
}

test(
  'a full agent data disk: reported, no unjournalled command, no crash at renewal, and it recovers',
  { skip: root ? false : 'mounting a tmpfs needs root', timeout: 150_000 },
  async () => {
    disk = mountTmpfs('1m', 'atoll-agent-diskfull-');
    // Renewal due two thirds into a 45 s lifetime.
    hub = await startHub({ heartbeat: '1s', unreachableAfter: '5s', extraArgs: ['--node-cert-ttl', '45s'] });
    const h = hub;
    agent = startAgentJoin(h, (await createToken(h)).token, { dataDir: join(disk.mnt, 'data') });
    const a = agent;
    const detail = async (id: string): Promise<Detail> => (await h.api<Detail>('GET', `/v1/nodes/${id}`)).body;
    const nodeId = (
      await waitFor(
        'the agent ready',
        async () => {
          const items = (
            await h.api<{ items: Array<{ id: string; state: string; connected: boolean }> }>('GET', '/v1/nodes')
          ).body.items;
          return items.length === 1 && items[0].state === 'ready' && items[0].connected ? items[0] : undefined;
        },
        20_000,
      )
    ).id;
    const identity = (): IdentityFile =>
      JSON.parse(readFileSync(join(a.dataDir, 'identity.json'), 'utf8')) as IdentityFile;
    const first = identity();

    const filler = join(disk.mnt, 'filler');
    assert.ok(fill(filler, 8 << 20) > 0);

    // The node says its data disk is full, and is degraded for it.
    const full = await waitFor(
      'the data disk reported full',
      async () => {
        const d = await detail(nodeId);
        return d.health?.disks.some((x) => x.role === 'agent-data' && x.usedPercent > 99) &&
          d.reasons.includes('data-disk-pressure')
          ? d
          : undefined;
      },
      15_000,
    );
    assert.equal(full.state, 'degraded');
    assert.equal(full.health!.disks.find((x) => x.role === 'agent-data')!.path, a.dataDir);

    // A command that cannot be journalled is answered with an error and not run (k3s is off here: had
    // it run, the answer would be K3S_DISABLED).
    const refused = await command(h, nodeId);
    assert.equal(refused.result?.ok, false);
    assert.equal(refused.result?.errorCode, 'DISK_FULL', JSON.stringify(refused.result));
    assert.match(refused.result!.message, /not run/);

    // The renewal comes due: the new certificate cannot be stored. The agent lives on, the hub hands
    // out the same certificate again instead of new ones.
    const due = Date.parse(first.certReceivedAt) + 30_000;
    await new Promise((r) => setTimeout(r, due + 5_000 - Date.now()));
    await waitFor(
      'a failed store of the renewed certificate',
      () => /could not store the renewed certificate/.test(a.proc.stderr()),
      10_000,
    );
    assert.equal(a.proc.child.exitCode, null, `the agent is still running:\n${a.proc.stderr().slice(-2000)}`);
    assert.ok((await detail(nodeId)).connected);
    const during = (await detail(nodeId)).certificates;
    assert.ok(during.length <= 2, `at most one spare certificate: ${during.length}`);
    assert.equal(identity().certFile, first.certFile);

    // Space is back: the renewal completes (before the first certificate expires), commands run.
    rmSync(filler);
    await waitFor('the renewed certificate stored', () => identity().certFile !== first.certFile, 15_000);
    assert.ok((await detail(nodeId)).certificates.length <= 2, 'still no extra certificate');
    const renewedSerial = identity().certFile.replace(/^node-|\.crt$/g, '');
    await waitFor(
      'connected with the renewed certificate',
      async () => {
        const d = await detail(nodeId);
        return (
          d.connected &&
          (d.certificates as Array<{ serial: string; usedAt?: string }>).some(
            (c) => c.serial === renewedSerial && c.usedAt,
          )
        );
      },
      10_000,
    );
    const ran = await command(h, nodeId);
    assert.equal(ran.result?.errorCode, 'K3S_DISABLED', JSON.stringify(ran.result));
    await waitFor(
      'no longer degraded',
      async () => !(await detail(nodeId)).reasons.includes('data-disk-pressure'),
      15_000,
    );
  },
);
