// Two hubs on one PostgreSQL, sharing the cluster secret (so one CA, each with its own serving
// certificate): an agent joins through hub A, whose welcome lists A and B (ATOLL_TEST_PEER_GATEWAYS
// stands in for the hub membership service); hub B started before the join, so it has never seen the
// node. kill -9 of hub A: the agent is connected and ready on hub B within 30 s, with the same node id
// and the same certificate (no re-join), it keeps its identity, and `atoll-agent status` names hub B.
// Needs a build (dist/) and PostgreSQL.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AGENT_BIN,
  removeTree,
  runCli,
  startAgentJoin,
  waitFor,
  type AgentHandle,
  type HubHandle,
} from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { freePort } from '../helpers/ports.js';
import { createToken, stopProc } from '../helpers/bad-input.js';
import { HubGroup } from '../helpers/hubs.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
let server: PgServer | undefined;
let group: HubGroup | undefined;
let agent: AgentHandle | undefined;
const dirs: string[] = [];

after(async () => {
  await stopProc(agent?.proc);
  await group?.cleanup();
  server?.stop();
  for (const d of dirs) removeTree(d);
});

interface NodeView {
  id: string;
  state: string;
  connected: boolean;
}

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

test(
  'kill -9 of the hub an agent is on: it is ready on another hub within 30 s, same node and certificate',
  { skip, timeout: 180_000 },
  async () => {
    server = await startPostgres();
    group = new HubGroup(server, 'failover', { prefix: 'atoll-failover-' });
    const [portA, portB] = [await freePort(), await freePort()];
    const urlA = `https://127.0.0.1:${portA}`;
    const urlB = `https://127.0.0.1:${portB}`;
    const hubArgs = (port: number): string[] => [
      '--gateway-listen',
      `127.0.0.1:${port}`,
      '--public-url',
      `https://127.0.0.1:${port}`,
    ];
    const [hubA, hubB] = await group.addAll([
      { extraArgs: hubArgs(portA), env: { ATOLL_TEST_PEER_GATEWAYS: urlB } },
      { extraArgs: hubArgs(portB), env: { ATOLL_TEST_PEER_GATEWAYS: urlA } },
    ]);
    const [dataA, dataB] = [hubA.dataDir, hubB.dataDir];
    assert.equal(hubB.caPem(), hubA.caPem(), 'one CA');
    assert.notEqual(
      readFileSync(join(dataB, 'serving.crt'), 'utf8'),
      readFileSync(join(dataA, 'serving.crt'), 'utf8'),
      'each hub has its own serving certificate',
    );

    agent = startAgentJoin({ gatewayUrl: urlA }, (await createToken(hubA)).token, {
      dataDir: join(tempDir('atoll-failover-agent-'), 'data'),
    });
    const a = agent;
    const readyOn = async (hub: HubHandle): Promise<NodeView | undefined> => {
      const r = await hub.api<{ items: NodeView[] }>('GET', '/v1/nodes').catch(() => undefined);
      const items = r?.status === 200 ? r.body.items : [];
      return items.length === 1 && items[0].state === 'ready' && items[0].connected ? items[0] : undefined;
    };
    const node = await waitFor('the agent ready on hub A', () => readyOn(hubA), 30_000);
    const hubsFile = join(a.dataDir, 'hubs.json');
    await waitFor('hubs.json from the welcome', () => existsSync(hubsFile), 10_000);
    assert.deepEqual((JSON.parse(readFileSync(hubsFile, 'utf8')) as { hubs: string[] }).hubs, [urlA, urlB]);
    const status = async (): Promise<{ nodeId: string; hub: string; hubs: { current: string; known: string[] } }> => {
      const r = await runCli(AGENT_BIN, ['status', '--data-dir', a.dataDir, '-o', 'json']);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { nodeId: string; hub: string; hubs: { current: string; known: string[] } };
    };
    const before = await status();
    assert.equal(before.hubs.current, urlA);
    assert.deepEqual(before.hubs.known, [urlA, urlB]);
    const identity = (): { nodeId: string; certFile: string } =>
      JSON.parse(readFileSync(join(a.dataDir, 'identity.json'), 'utf8')) as { nodeId: string; certFile: string };
    const first = identity();
    const certPem = readFileSync(join(a.dataDir, first.certFile), 'utf8');

    await hubA.stop('SIGKILL');
    const killedAt = Date.now();
    const onB = await waitFor('the agent ready on hub B', () => readyOn(hubB), 30_000, 100).catch(
      async (err: Error) => {
        const nodes = await hubB.api('GET', '/v1/nodes').catch((e: Error) => e.message);
        throw new Error(
          `${err.message}\nhub B nodes: ${JSON.stringify(nodes)}\nagent stderr:\n${a.proc.stderr().slice(-4000)}\nhub B stderr:\n${hubB.proc.stderr().slice(-3000)}`,
        );
      },
    );
    const failoverMs = Date.now() - killedAt;
    // The figure for the report (also in the test output).
    process.stdout.write(`# failover to hub B took ${failoverMs} ms\n`);
    assert.ok(failoverMs < 30_000);
    assert.equal(onB.id, node.id, 'the same node');
    assert.equal(identity().nodeId, first.nodeId);
    assert.equal(identity().certFile, first.certFile, 'the same certificate');
    assert.equal(readFileSync(join(a.dataDir, first.certFile), 'utf8'), certPem);
    assert.equal(existsSync(join(a.dataDir, 'removed.json')), false, 'the agent kept its identity');
    const after = await status();
    assert.equal(after.hubs.current, urlB);
    assert.equal(after.hub, urlA, 'the registration URL stays as it was');
    assert.equal(a.proc.child.exitCode, null, 'the agent runs on');
  },
);
