// The hub's start banner: a join line with a live token only while there are no nodes, and short
// lived (15 min); once a node has joined, a restart prints the `atoll-hub join-command` hint and
// mints no token.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHub,
  startAgentJoin,
  waitFor,
  removeDir,
  removeTree,
  type HubHandle,
  type AgentHandle,
} from '../helpers/processes.js';

interface TokenView {
  id: string;
  expiresAt: string;
  createdAt: string;
  description: string;
}

let hub: HubHandle | undefined;
let agent: AgentHandle | undefined;

after(async () => {
  await agent?.proc.kill('SIGKILL');
  if (agent) removeTree(agent.dataDir);
  await hub?.stop('SIGKILL');
  if (hub) removeDir(hub.dataDir);
});

async function tokens(h: HubHandle): Promise<TokenView[]> {
  return (await h.api<{ items: TokenView[] }>('GET', '/v1/tokens?all=true')).body.items;
}

test(
  'no nodes: a 15-minute join line; with nodes: the join-command hint and no new token',
  { timeout: 60_000 },
  async () => {
    hub = await startHub();
    const h = hub;
    const first = await waitFor(
      'the banner',
      () => /join a first server[^\n]*\n\s+(curl [^\n]+)/.exec(h.proc.stdout()) ?? undefined,
      20_000,
    );
    assert.match(h.proc.stdout(), /single use, expires in 15 min, at \d{4}-/);
    const token = /--token (AT1\S+)/.exec(first[1])?.[1];
    assert.ok(token);
    const id = token.split('::')[1].split('.')[0];
    const t = (await tokens(h)).find((x) => x.id === id);
    assert.ok(t, 'the banner token is a real token');
    // Made before it was printed (so at most 15 min from now), moments before.
    const left = Date.parse(t.expiresAt) - Date.now();
    assert.ok(left > 14 * 60_000 && left <= 15 * 60_000, `expires in 15 min (${left} ms left)`);

    agent = startAgentJoin(h, token);
    await waitFor(
      'the node to be ready',
      async () =>
        (await h.api<{ items: Array<{ state: string }> }>('GET', '/v1/nodes')).body.items.some(
          (n) => n.state === 'ready',
        ),
      20_000,
    );
    const before = (await tokens(h)).length;
    await h.stop('SIGTERM');
    await h.restart();
    const out = await waitFor(
      'the banner after restart',
      () =>
        /nodes: +1; to join another server[^\n]*\n\s+(atoll-hub join-command[^\n]+)/.exec(h.proc.stdout()) ?? undefined,
      20_000,
    );
    assert.equal(out[1], `atoll-hub join-command --data-dir ${h.dataDir} [--pool P]`);
    assert.doesNotMatch(h.proc.stdout(), /AT1[0-9a-f]{64}/, 'no token in the banner');
    assert.equal((await tokens(h)).length, before, 'no token was minted');
  },
);
