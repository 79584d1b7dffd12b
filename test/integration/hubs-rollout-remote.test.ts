// Two hubs on one PostgreSQL, each with its k3s server (the stand-in) on the shared k3s datastore, and
// three real agents with their k3s agents, joined through hub B. Hub A leads the 'upgrades' role and
// runs a rolling k3s upgrade of nodes whose agents are all connected to hub B: each node passes
// preflight and verify with what its agent reports on hub B, hub B sends it the new version, and every
// node ends Ready on the new version, upgraded once and uncordoned. Needs a build (dist/) and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree, waitFor, type AgentHandle } from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { stopProc } from '../helpers/bad-input.js';
import type { HubGroup, TestHub } from '../helpers/hubs.js';
import type { NodeView, RolloutView } from '../helpers/upgrade-cluster.js';
import {
  AGENTS,
  V1,
  assertAllOnV1,
  assertUpgradedOnce,
  rolloutEvents,
  startRolloutCluster,
} from '../helpers/hubs-rollout.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';

let server: PgServer | undefined;
let work = '';
const track: { group?: HubGroup; agents: AgentHandle[] } = { agents: [] };

before(async () => {
  if (skip) return;
  server = await startPostgres();
  work = mkdtempSync(join(tmpdir(), 'atoll-hubs-rollout-remote-'));
});
after(async () => {
  for (const a of track.agents) await stopProc(a.proc);
  await track.group?.cleanup();
  server?.stop();
  for (const a of track.agents) removeTree(join(a.dataDir, '..'));
  if (work) removeTree(work);
});

test(
  'the upgrades leader upgrades nodes whose agents are connected to another hub',
  { skip, timeout: 300_000 },
  async () => {
    const { a, b, nodes } = await startRolloutCluster(server!, work, 'rollremote', 'b', track);
    // Hub A (no agent link) sees them ready too: their state from what hub B stores, their
    // Kubernetes view from the shared k3s datastore.
    await waitFor(
      'the nodes ready as seen by hub A',
      async () => {
        const items = (await a.api<{ items: NodeView[] }>('GET', '/v1/nodes')).body.items;
        return items.length === AGENTS && items.every((n) => n.state === 'ready' && n.k3s.ready);
      },
      30_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify((await a.api('GET', '/v1/nodes')).body)}`);
    });

    // The rollout, through the leader (hub A), which holds no agent link.
    const started = await a.api<RolloutView>('POST', '/v1/upgrades', {
      version: V1,
      window: 'now',
      dwell: '4s',
      verifyTimeout: '60s',
      drain: { timeout: '10s' },
      controlPlane: false,
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = started.body.id;
    const view = async (h: TestHub): Promise<RolloutView> =>
      (await h.api<RolloutView>('GET', `/v1/upgrades/${id}`)).body;
    const r = await waitFor(
      'the rollout finished',
      async () => {
        const x = await view(a);
        return x.state !== 'running' && x.state !== 'waiting-window' ? x : undefined;
      },
      150_000,
      250,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(await view(a))}`);
    });
    process.stdout.write(`# rollout of 3 nodes on hub B by the leader hub A: ${r.message}\n`);
    assert.equal(r.id, id);
    assert.equal(r.state, 'done', JSON.stringify(r));
    assert.deepEqual(
      r.nodes.map((n) => n.phase),
      nodes.map(() => 'done'),
    );
    const events = await rolloutEvents(b, id);
    assert.equal(events.filter((e) => e.type === 'upgrade.started').length, 1, 'started once');
    // No node upgraded twice: one swap (the new version sent), one cordon and one done per node.
    assertUpgradedOnce(events, nodes);
    // Every node Ready on the new version, schedulable (kube's view through hub B), and ready in atoll.
    await assertAllOnV1(b, nodes, work);
  },
);
