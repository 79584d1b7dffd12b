// A full disk under the hub's data dir: a small tmpfs mounted by this test. The hub refuses writes
// (token create, join) with 507 DISK_FULL, keeps serving reads and its connected agents, does not
// crash when a node goes silent meanwhile, and works again once space is back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeTree,
  removeDir,
  type HubHandle,
  type AgentHandle,
} from '../helpers/processes.js';
import { fill } from '../helpers/tmpfs.js';
import {
  createToken,
  gatewayCall,
  joinBody,
  keyAndCsr,
  listNodes,
  assertError,
  stopProc,
} from '../helpers/bad-input.js';
import { sqliteOnly } from '../helpers/test-datastore.js';

const sqliteFile = sqliteOnly(
  'the full disk is under the data dir, where hub.db is; the PostgreSQL server is elsewhere',
);

const root = process.getuid?.() === 0;
let work: string | undefined;
let mnt: string | undefined;
let mounted = false;
let hub: HubHandle | undefined;
const agents: AgentHandle[] = [];

function unmount(): void {
  if (!mounted || !mnt) return;
  if (spawnSync('umount', [mnt]).status !== 0) spawnSync('umount', ['-l', mnt]);
  mounted = false;
}

after(async () => {
  for (const a of agents) await stopProc(a.proc, 2_000);
  await stopProc(hub?.proc, 3_000);
  unmount();
  for (const a of agents) removeDir(a.dataDir);
  if (work) removeTree(work);
});
process.once('exit', unmount);

async function metric(hub: HubHandle, name: string): Promise<number> {
  const res = await hub.api<string>('GET', '/metrics');
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(String(res.body));
  return m ? Number(m[1]) : NaN;
}

test(
  'a full data disk: 507 DISK_FULL on writes, reads and agents keep working, and it recovers',
  { skip: (root ? false : 'mounting a tmpfs needs root') || sqliteFile, timeout: 90_000 },
  async () => {
    work = mkdtempSync(join(tmpdir(), 'atoll-diskfull-'));
    mnt = join(work, 'mnt');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0700', 'tmpfs', mnt], { encoding: 'utf8' });
    assert.equal(m.status, 0, `mount tmpfs: ${m.stderr}`);
    mounted = true;

    hub = await startHub({
      dataDir: join(mnt, 'data'),
      heartbeat: '500ms',
      unreachableAfter: '3s',
      extraArgs: ['--join-rate-limit', '100000'],
    });
    const reusable = await createToken(hub, { reusable: true });
    const steady = startAgentJoin(hub, reusable.token, { args: ['--node-name', 'steady'] });
    const doomed = startAgentJoin(hub, reusable.token, { args: ['--node-name', 'doomed'] });
    agents.push(steady, doomed);
    await waitFor(
      'both agents ready',
      async () => {
        const nodes = await listNodes(hub!);
        return nodes.length === 2 && nodes.every((n) => n.state === 'ready' && n.connected);
      },
      30_000,
    );
    const before = await listNodes(hub);
    const steadyNode = before.find((n) => n.name === 'steady')!;

    const filler = join(mnt, 'filler');
    const filled = fill(filler, 64 << 20);
    assert.ok(filled > 1 << 20, `the filler took the free space (${filled} bytes)`);

    // Writes are refused with a typed error. SQLite may still reuse WAL space it already holds, so a
    // few writes can pass first; once refused, they stay refused while the disk is full.
    let firstRefusal = -1;
    const statuses: number[] = [];
    for (let i = 0; i < 400 && firstRefusal < 0; i++) {
      const r: { status: number; body: { error?: { code: string; message: string } } } = await hub.api(
        'POST',
        '/v1/tokens',
        { ttl: '10m', description: 'x'.repeat(400) },
      );
      statuses.push(r.status);
      if (r.status !== 201) {
        assert.equal(r.status, 507, `a refused write is 507, got ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error?.code, 'DISK_FULL');
        assert.match(r.body.error?.message ?? '', /disk is full/);
        firstRefusal = i;
      }
    }
    assert.ok(
      firstRefusal >= 0,
      `token creation was refused once the disk was full (statuses: ${statuses.slice(-5).join(',')})`,
    );
    for (let i = 0; i < 3; i++) {
      const r: { status: number } = await hub.api('POST', '/v1/tokens', { ttl: '10m' });
      assert.equal(r.status, 507, 'token create stays refused while the disk is full');
    }
    const k = await keyAndCsr('late');
    const join1 = await gatewayCall(hub, 'POST', '/v1/join', joinBody(reusable.token, k.csr, 'late'));
    assertError(join1, 507, 'DISK_FULL', /disk is full/);

    // Reads still work, and no node was half-created.
    assert.equal((await hub.api('GET', '/healthz')).status, 200);
    assert.equal((await hub.api('GET', '/v1/events?limit=10')).status, 200);
    assert.deepEqual((await listNodes(hub)).map((n) => n.id).sort(), before.map((n) => n.id).sort());

    // A node goes silent while the disk is full: the hub must not crash over the state it cannot store.
    await stopProc(doomed.proc, 2_000);
    const reportsBefore = await metric(hub, 'atoll_health_reports_total');
    await new Promise((r) => setTimeout(r, 4_500));
    assert.equal(hub.proc.child.exitCode, null, `the hub is still running (stderr: ${hub.proc.stderr().slice(-2000)})`);
    const during = await listNodes(hub);
    const s = during.find((n) => n.id === steadyNode.id)!;
    assert.equal(s.connected, true, 'the connected agent stays connected');
    assert.equal(s.connectedAt, steadyNode.connectedAt, 'and was not dropped and reconnected');
    assert.ok((await metric(hub, 'atoll_health_reports_total')) >= reportsBefore + 4, 'its reports keep arriving');

    // Space comes back: writes work again, the silent node's state is stored, the steady one is fine.
    rmSync(filler);
    const tok = await waitFor(
      'token create works again',
      async () => {
        const r = await hub!.api<{ token: string }>('POST', '/v1/tokens', { ttl: '10m' });
        return r.status === 201 ? r.body : undefined;
      },
      10_000,
    );
    assert.ok(tok.token);
    const k2 = await keyAndCsr('after');
    const join2 = await gatewayCall<{ nodeId: string }>(
      hub,
      'POST',
      '/v1/join',
      joinBody(reusable.token, k2.csr, 'after'),
    );
    assert.equal(join2.status, 201, `join works again: ${JSON.stringify(join2.body)}`);
    await waitFor(
      'the silent node is stored as unreachable',
      async () => (await listNodes(hub!)).find((n) => n.name === 'doomed')?.state === 'unreachable',
      10_000,
    );
    const lastSeen1 = (await hub.api<{ lastSeen: string }>('GET', `/v1/nodes/${steadyNode.id}`)).body.lastSeen;
    await waitFor(
      'the steady node is still ready and its reports are stored again',
      async () => {
        const n = (
          await hub!.api<{ state: string; lastSeen: string; connectedAt: string }>('GET', `/v1/nodes/${steadyNode.id}`)
        ).body;
        return n.state === 'ready' && n.connectedAt === steadyNode.connectedAt && n.lastSeen > lastSeen1;
      },
      10_000,
    );
  },
);
