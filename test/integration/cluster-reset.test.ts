// atoll-hub cluster reset, with real processes (the k3s stand-in as the hub's k3s and the agent's):
// refused while the hub runs and without confirmation; then the k3s datastore comes back from the
// newest backup (objects made after it are gone), the node gets a new k3s bootstrap token and its
// kubelet registers again by itself, with no new join.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HUB_BIN,
  ROOT,
  removeTree,
  runCli,
  startAgentJoin,
  startHub,
  waitFor,
  type AgentHandle,
  type HubHandle,
} from '../helpers/processes.js';
import { freePort } from '../helpers/ports.js';
import { sqliteOnly } from '../helpers/test-datastore.js';
import { kubeCore } from '../helpers/k3s-standin.js';

const skip = sqliteOnly('cluster reset works on a SQLite data dir');
let work: string | undefined;
let hub: HubHandle | undefined;
let agent: AgentHandle | undefined;
after(async () => {
  await agent?.proc.kill('SIGKILL').catch(() => undefined);
  await hub?.stop('SIGKILL').catch(() => undefined);
  if (work) removeTree(work);
});

interface View {
  id: string;
  k3s: { ready: boolean | null };
}

async function configMaps(h: HubHandle): Promise<string[]> {
  const list = await (await kubeCore(h)).listNamespacedConfigMap({ namespace: 'default' });
  return list.items.map((c) => c.metadata?.name ?? '').filter((n) => n.startsWith('cm-'));
}

test(
  'cluster reset: from the newest backup, then empty; the node gets a new k3s token and registers again',
  { skip },
  async () => {
    work = mkdtempSync(join(tmpdir(), 'atoll-cluster-reset-'));
    const standin = join(work, 'k3s');
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts/build-standin.mjs'), '--out', standin], {
      encoding: 'utf8',
    });
    assert.equal(b.status, 0, b.stderr);
    const dataDir = join(work, 'data');
    hub = await startHub({
      dataDir,
      k3s: standin,
      extraArgs: ['--k3s-https-port', String(await freePort())],
      env: { ATOLL_STANDIN_HEARTBEAT_MS: '1000' },
    });
    const h = hub;
    const running = async (): Promise<boolean> =>
      (await h.api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running';
    await waitFor('control plane running', running, 30_000);
    const kubeletPort = await freePort();
    const tok = await h.api<{ token: string }>('POST', '/v1/tokens', {});
    agent = startAgentJoin(h, tok.body.token, {
      k3s: 'auto',
      args: ['--node-name', 'worker-1'],
      env: {
        ATOLL_STANDIN_KUBELET_PORT: String(kubeletPort),
        ATOLL_AGENT_KUBELET_HEALTHZ_URL: `http://127.0.0.1:${kubeletPort}/healthz`,
        ATOLL_STANDIN_HEARTBEAT_MS: '1000',
        ATOLL_AGENT_K3S_START_GRACE_MS: '3000',
      },
    });
    const a = agent;
    const k3sReady = async (): Promise<View | undefined> => {
      const n = (await h.api<{ items: View[] }>('GET', '/v1/nodes')).body.items[0];
      return n?.k3s.ready === true ? n : undefined;
    };
    const node = await waitFor('k3s Ready', k3sReady, 40_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${a.proc.stderr().slice(-2000)}`);
    });
    const kube = await kubeCore(h);
    await kube.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cm-before' } } });
    const stateFile = join(dataDir, 'k3s', 'server', 'db', 'standin-state.json');
    const persisted = (name: string) => (): boolean =>
      existsSync(stateFile) && spawnSync('grep', ['-q', name, stateFile]).status === 0;
    await waitFor('cm-before persisted', persisted('cm-before'), 10_000);
    const made = await runCli(HUB_BIN, ['backup', 'create', '--data-dir', dataDir]);
    assert.equal(made.code, 0, made.stderr);
    await kube.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cm-after' } } });
    await waitFor('cm-after persisted', persisted('cm-after'), 10_000);

    const busy = await runCli(HUB_BIN, ['cluster', 'reset', '--data-dir', dataDir, '--yes']);
    assert.equal(busy.code, 1, busy.stderr);
    assert.match(busy.stderr, /DATA_DIR_LOCKED|is in use|held by/i);

    await h.stop();
    const unconfirmed = await runCli(HUB_BIN, ['cluster', 'reset', '--data-dir', dataDir]);
    assert.equal(unconfirmed.code, 2, unconfirmed.stderr);
    assert.match(unconfirmed.stderr, /pass --yes/);
    assert.ok(persisted('cm-after')(), 'nothing changed without confirmation');

    const reset = await runCli(HUB_BIN, ['cluster', 'reset', '--data-dir', dataDir, '--yes']);
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(reset.stdout, /k3s datastore: from .*\.atoll-backup; the old one is kept at .*db\.reset-/);
    assert.match(reset.stdout, /1 nodes get new k3s bootstrap tokens/);
    assert.ok(
      readdirSync(join(dataDir, 'k3s', 'server')).some((f) => f.startsWith('db.reset-')),
      'the old datastore is kept',
    );

    await h.restart();
    await waitFor('control plane running after the reset', running, 30_000);
    const tokensMade = async (): Promise<number> =>
      (await h.api<{ items: unknown[] }>('GET', '/v1/events?type=k3s.token-created&limit=100')).body.items.length;
    await waitFor('a new k3s bootstrap token', async () => (await tokensMade()) >= 2, 30_000);
    const again = await waitFor('k3s Ready again', k3sReady, 40_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${a.proc.stderr().slice(-2000)}`);
    });
    assert.equal(again.id, node.id, 'the same node, no new join');
    const kubeNodes = await (await kubeCore(h)).listNode();
    assert.ok(
      kubeNodes.items.some((n) => n.metadata?.name === 'worker-1'),
      'the kubelet registered again',
    );
    assert.deepEqual(await configMaps(h), ['cm-before'], 'the datastore of the backup');
    const events = await h.api<{ items: { type: string }[] }>('GET', '/v1/events?limit=1000');
    const types = events.body.items.map((e) => e.type);
    assert.equal(types.filter((t) => t === 'node.joined').length, 1);
    assert.ok(types.includes('cluster.reset'), types.join(','));
  },
);
