// Two hubs on one PostgreSQL and a real agent joined through hub A. SIGTERM of hub A (a hub shutting
// down refuses its agents): the agent moves to hub B and keeps its identity and files. Then, with hub A
// back, the node is removed through hub A while its agent is connected to hub B: hub B tells the agent
// (NODE_REMOVED) once the removal is committed, and the agent forgets its identity and exits 3.
// (A hub that has never seen the node refuses nothing: hub-failover.test.ts.) Needs a build and PostgreSQL.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree, startAgentJoin, waitFor, type AgentHandle, type HubHandle } from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { createToken, stopProc } from '../helpers/bad-input.js';
import { HubGroup } from '../helpers/hubs.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
let server: PgServer | undefined;
let group: HubGroup | undefined;
let agent: AgentHandle | undefined;
let agentRoot = '';

after(async () => {
  await stopProc(agent?.proc);
  await group?.cleanup();
  server?.stop();
  if (agentRoot) removeTree(agentRoot);
});

interface NodeView {
  id: string;
  state: string;
  connected: boolean;
}

async function liveHubs(h: HubHandle): Promise<number> {
  const r = await h.api<{ items: { live: boolean }[] }>('GET', '/v1/hubs').catch(() => undefined);
  return r?.status === 200 ? r.body.items.filter((i) => i.live).length : 0;
}

test(
  'a hub shutting down never makes the agent forget itself; a removal through another hub does, once committed',
  { skip, timeout: 180_000 },
  async () => {
    server = await startPostgres();
    group = new HubGroup(server, 'removed', { poolSize: 4, prefix: 'atoll-removed-' });
    const [a, b] = await group.addAll([{ id: 'hub-a' }, { id: 'hub-b' }]);
    await waitFor('both hubs live', async () => (await liveHubs(a)) === 2, 15_000, 200);
    await new Promise((res) => setTimeout(res, 2_500)); // a membership beat with both: the welcome lists both

    agentRoot = mkdtempSync(join(tmpdir(), 'atoll-removed-agent-'));
    agent = startAgentJoin(a, (await createToken(a)).token, { dataDir: join(agentRoot, 'data') });
    const ag = agent;
    const readyOn = async (hub: HubHandle): Promise<NodeView | undefined> => {
      const r = await hub.api<{ items: NodeView[] }>('GET', '/v1/nodes').catch(() => undefined);
      const items = r?.status === 200 ? r.body.items : [];
      return items.length === 1 && items[0].state === 'ready' && items[0].connected ? items[0] : undefined;
    };
    const node = await waitFor('the agent ready on hub A', () => readyOn(a), 30_000);
    const hubsFile = join(ag.dataDir, 'hubs.json');
    await waitFor(
      'both hubs in hubs.json',
      () =>
        existsSync(hubsFile) && (JSON.parse(readFileSync(hubsFile, 'utf8')) as { hubs: string[] }).hubs.length === 2,
      10_000,
    );
    const identity = (): { nodeId: string; certFile: string } =>
      JSON.parse(readFileSync(join(ag.dataDir, 'identity.json'), 'utf8')) as { nodeId: string; certFile: string };
    const first = identity();

    // SIGTERM of hub A: it sheds its agent, which goes to hub B with its identity and files intact.
    await a.stop('SIGTERM');
    const onB = await waitFor('the agent ready on hub B', () => readyOn(b), 30_000, 100);
    assert.equal(onB.id, node.id);
    assert.deepEqual(identity(), first, 'the same identity and certificate');
    assert.equal(existsSync(join(ag.dataDir, 'removed.json')), false, 'not removed');
    assert.equal(ag.proc.child.exitCode, null, 'the agent runs on');

    // Hub A back; the node removed through it while the agent is connected to hub B.
    await a.restart();
    await waitFor('both hubs live again', async () => (await liveHubs(a)) === 2, 15_000, 200);
    assert.ok(await readyOn(b), 'still on hub B');
    const askedAt = Date.now();
    const del = await a.api('DELETE', `/v1/nodes/${node.id}`);
    assert.ok(del.status === 200 || del.status === 204, JSON.stringify(del.body));
    for (const h of [a, b]) assert.equal((await h.api('GET', `/v1/nodes/${node.id}`)).status, 404, 'committed');
    const code = await Promise.race([
      ag.proc.exited,
      new Promise<'running'>((res) => setTimeout(() => res('running'), 20_000)),
    ]);
    const toldMs = Date.now() - askedAt;
    process.stdout.write(`# the agent on hub B was told of its removal through hub A in ${toldMs} ms\n`);
    assert.equal(code, 3, `exit 3 (removed); agent stderr:\n${ag.proc.stderr().slice(-2000)}`);
    assert.equal(existsSync(join(ag.dataDir, 'identity.json')), false, 'the identity is gone');
    const removed = JSON.parse(readFileSync(join(ag.dataDir, 'removed.json'), 'utf8')) as {
      nodeId: string;
      removedAt: string;
    };
    assert.equal(removed.nodeId, node.id);
    assert.ok(Date.parse(removed.removedAt) >= askedAt - 1000, 'told after the removal was asked for');
    assert.match(b.proc.stdout() + b.proc.stderr(), /node removed through another hub/);
  },
);
