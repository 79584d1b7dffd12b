// A hub that must not keep its agents (the shouldShedAgents hook: shutting down, or cut off from its
// database) closes their links with HUB_DRAINING and refuses new ones with 503 HUB_DRAINING. The
// agent goes to other hubs and comes back; none of these refusals makes it stop or forget its
// identity (only a committed NODE_REMOVED does). A real agent process against a hub in this process.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startInProcessHub, type InProcessHub } from '../helpers/in-process-hub.js';
import { removeTree, startAgentJoin, waitFor, type AgentHandle } from '../helpers/processes.js';
import { stopProc } from '../helpers/bad-input.js';

let hub: InProcessHub | undefined;
let agent: AgentHandle | undefined;
const dirs: string[] = [];
after(async () => {
  await stopProc(agent?.proc);
  await hub?.stop();
  for (const d of dirs) removeTree(d);
});

interface NodeView {
  id: string;
  state: string;
  connected: boolean;
}

test('a draining hub sends its agents away; they keep their identity and come back', { timeout: 90_000 }, async () => {
  let shed = false;
  let gatewayUrl = '';
  hub = await startInProcessHub({ deps: { shouldShedAgents: () => shed, liveGatewayUrls: () => [gatewayUrl] } });
  const h = hub;
  gatewayUrl = `https://127.0.0.1:${(h.hub.gateway.server.address() as AddressInfo).port}`;
  const token = (await h.call<{ token: string }>('POST', '/v1/tokens', undefined, { ttl: '10m' })).body.token;
  const base = mkdtempSync(join(tmpdir(), 'atoll-draining-agent-'));
  dirs.push(base);
  agent = startAgentJoin({ gatewayUrl }, token, { dataDir: join(base, 'data') });
  const a = agent;
  const node = async (): Promise<NodeView | undefined> =>
    (await h.call<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items[0];
  const first = await waitFor(
    'the agent connected',
    async () => ((await node())?.connected ? node() : undefined),
    30_000,
  );
  const identity = readFileSync(join(a.dataDir, 'identity.json'), 'utf8');

  shed = true;
  await waitFor('the link closed with HUB_DRAINING', () => /"code":"HUB_DRAINING"/.test(a.proc.stderr()), 10_000);
  await waitFor(
    'a new link refused with 503 HUB_DRAINING',
    () => /HUB_DRAINING this hub is not taking agents/.test(a.proc.stderr()),
    10_000,
  );
  assert.equal((await node())?.connected, false, 'no agent kept while draining');
  assert.equal(a.proc.child.exitCode, null, 'the agent runs on');
  assert.equal(existsSync(join(a.dataDir, 'removed.json')), false, 'not removed');
  assert.equal(readFileSync(join(a.dataDir, 'identity.json'), 'utf8'), identity, 'the identity is kept');

  shed = false;
  const back = await waitFor('the agent back', async () => ((await node())?.connected ? node() : undefined), 30_000);
  assert.equal(back?.id, first?.id);
  assert.equal(readFileSync(join(a.dataDir, 'identity.json'), 'utf8'), identity);
});
