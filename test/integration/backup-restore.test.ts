// A hub's data dir is lost while its agent runs; `atoll-hub restore` of a backup made beside the
// running hub brings it back with the same CA: the agent reconnects with the certificate it holds,
// with no new token and no new join. `backup create` and `backup list` are what an operator runs.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  HUB_BIN,
  removeDir,
  runCli,
  startAgentJoin,
  startHub,
  waitFor,
  type AgentHandle,
  type HubHandle,
} from '../helpers/processes.js';
import { createToken, stopProc } from '../helpers/bad-input.js';
import { sqliteOnly } from '../helpers/test-datastore.js';

const skip = sqliteOnly('the restored hub runs on the hub.db of the archive');
const dirs: string[] = [];
const hubs: HubHandle[] = [];
const agents: AgentHandle[] = [];
after(async () => {
  for (const a of agents) await stopProc(a.proc);
  for (const h of hubs) await stopProc(h.proc);
  for (const d of dirs) removeDir(d);
});

interface NodeView {
  id: string;
  name: string;
  connected: boolean;
}

const certFiles = (dir: string): Record<string, string> =>
  Object.fromEntries(
    readdirSync(dir)
      .filter((f) => /^node-.*\.(crt|key)$/.test(f))
      .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
  );

test(
  'backup create beside a running hub, data dir deleted, restore: same CA, the agent reconnects with its certificate (no re-join)',
  { skip },
  async () => {
    const hub = await startHub();
    hubs.push(hub);
    dirs.push(hub.dataDir);
    const work = dirname(hub.dataDir);
    const token = (await createToken(hub)).token;
    const agent = startAgentJoin(hub, token, { args: ['--node-name', 'kept-node'] });
    agents.push(agent);
    dirs.push(agent.dataDir);
    const nodes = async (): Promise<NodeView[]> =>
      (await hub.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
    const [node] = await waitFor(
      'the agent to join and connect',
      async () => {
        const ns = await nodes();
        return ns.length === 1 && ns[0].connected ? ns : undefined;
      },
      30_000,
    );
    const certsBefore = certFiles(agent.dataDir);
    assert.ok(
      Object.keys(certsBefore).length >= 2,
      `the agent holds its key and certificate: ${Object.keys(certsBefore)}`,
    );
    const caBefore = hub.caPem();
    const passFile = join(work, 'passphrase');
    writeFileSync(passFile, 'correct horse battery staple\n', { mode: 0o600 });

    // Two backups beside the running hub: one into <data-dir>/backups (listed), one out of the data dir.
    const inDir = await runCli(HUB_BIN, ['backup', 'create', '--data-dir', hub.dataDir]);
    assert.equal(inDir.code, 0, inDir.stderr);
    assert.match(inDir.stdout, /the cluster secret is NOT in the archive: keep .*cluster-secret safe/);
    const archive = join(work, 'hub.atoll-backup');
    const made = await runCli(HUB_BIN, [
      'backup',
      'create',
      '--data-dir',
      hub.dataDir,
      '--passphrase-file',
      passFile,
      '--out',
      archive,
    ]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, new RegExp(`wrote ${archive.replace(/[.]/g, '\\.')} \\(`));
    assert.match(made.stdout, /k3s datastore: no embedded k3s datastore/);
    assert.equal(statSync(archive).mode & 0o777, 0o600, 'the archive is 0600');

    const list = await runCli(HUB_BIN, ['backup', 'list', '--data-dir', hub.dataDir]);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.match(lines[0], /^NAME\s+CREATED\s+SIZE\s+ATOLL$/);
    assert.equal(lines.length, 2, list.stdout);
    assert.match(lines[1], /^atoll-\S+\.atoll-backup\s+\d{4}-\d\d-\d\dT\S+Z\s+[\d.]+ (B|KiB|MiB)\s+\d+\.\d+\.\d+/);
    const audit = await hub.api<{ items: { type: string; actor: string }[] }>('GET', '/v1/events?type=backup.created');
    assert.equal(audit.body.items.length, 2, 'each backup left an audit event');

    // The disk is lost.
    const adminBefore = hub.adminToken();
    await hub.stop();
    rmSync(hub.dataDir, { recursive: true, force: true });
    const restored = await runCli(HUB_BIN, [
      'restore',
      archive,
      '--data-dir',
      hub.dataDir,
      '--passphrase-file',
      passFile,
    ]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /the cluster secret is in place \(from the archive\)/);
    assert.equal(statSync(hub.dataDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(hub.dataDir, 'cluster-secret')).mode & 0o777, 0o600);
    // The admin token of the backup (rotated since, maybe because it leaked) does not come back.
    assert.match(restored.stdout, /admin token: a new one is made at the first start/);
    assert.ok(!existsSync(join(hub.dataDir, 'admin-token')));

    await hub.restart();
    assert.notEqual(hub.adminToken(), adminBefore, 'a new admin token');
    assert.equal((await hub.api('GET', '/v1/nodes', undefined, adminBefore)).status, 401, 'the old one is refused');
    assert.equal(hub.caPem(), caBefore, 'the restored hub has the same CA');
    const back = await waitFor(
      'the agent to reconnect to the restored hub',
      async () => {
        const ns = await nodes();
        return ns.length === 1 && ns[0].connected ? ns[0] : undefined;
      },
      30_000,
    );
    assert.equal(back.id, node.id, 'the same node');
    assert.deepEqual(certFiles(agent.dataDir), certsBefore, 'the agent kept its key and certificate');
    assert.equal(agent.proc.child.exitCode, null, 'the agent never exited');
    const events = await hub.api<{ items: { type: string }[] }>('GET', '/v1/events?limit=1000');
    const types = events.body.items.map((e) => e.type);
    assert.equal(types.filter((t) => t === 'node.joined').length, 1, `joined once: ${types.join(',')}`);
    assert.ok(types.includes('backup.restored'), `the restore is in the audit trail: ${types.join(',')}`);
  },
);
