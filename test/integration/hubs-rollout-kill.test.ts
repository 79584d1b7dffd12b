// Two hubs on one PostgreSQL, each with its k3s server (the stand-in) on the shared k3s datastore, and
// three real agents with their k3s agents, joined through hub A, which leads the 'upgrades' role and
// runs a rolling k3s upgrade; kill -9 of hub A once one node is done and another is in progress. The
// agents move to hub B (from the hubs list of their welcome), and hub B takes the lead within 15 s and
// finishes the same rollout from its stored step (not restarted): each node is swapped once, the node
// done before the kill is not touched again, no node is left cordoned, and every node ends Ready on
// the new version. Needs a build (dist/) and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree, waitFor, type AgentHandle } from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { stopProc } from '../helpers/bad-input.js';
import type { HubGroup, TestHub } from '../helpers/hubs.js';
import type { RolloutView } from '../helpers/upgrade-cluster.js';
import {
  V1,
  assertAllOnV1,
  assertUpgradedOnce,
  leads,
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
  work = mkdtempSync(join(tmpdir(), 'atoll-hubs-rollout-'));
});
after(async () => {
  for (const a of track.agents) await stopProc(a.proc);
  await track.group?.cleanup();
  server?.stop();
  for (const a of track.agents) removeTree(join(a.dataDir, '..'));
  if (work) removeTree(work);
});

test(
  'kill -9 of the upgrades leader mid-rollout: the other hub finishes it from the stored step, no node upgraded twice or left cordoned',
  { skip, timeout: 300_000 },
  async () => {
    const { a, b, nodes } = await startRolloutCluster(server!, work, 'rollkill', 'a', track);
    // The rollout, through the leader; slow enough per node (dwell) to be caught in the middle.
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
    const FINAL = new Set(['done', 'skipped', 'upgrade-failed', 'upgrade-blocked']);
    const atKill = await waitFor(
      'one node done and another in progress',
      async () => {
        const r = await view(b);
        const done = r.nodes.filter((n) => n.phase === 'done');
        const busy = r.nodes.filter((n) => n.phase !== 'pending' && !FINAL.has(n.phase));
        return done.length >= 1 && busy.length === 1 ? r : undefined;
      },
      120_000,
      100,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(await view(b))}\n${a.proc.stderr().slice(-3000)}`);
    });
    await a.kill();
    const killedAt = Date.now();
    const doneBefore = atKill.nodes.filter((n) => n.phase === 'done');
    const busy = atKill.nodes.find((n) => n.phase !== 'pending' && !FINAL.has(n.phase))!;

    await waitFor('hub B leads upgrades', () => leads(b, 'upgrades'), 15_000, 100);
    const tookOverMs = Date.now() - killedAt;
    const r = await waitFor(
      'the rollout finished by hub B',
      async () => {
        const x = await view(b);
        return x.state !== 'running' && x.state !== 'waiting-window' ? x : undefined;
      },
      150_000,
      250,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(await view(b))}\n${b.proc.stderr().slice(-3000)}`);
    });
    const finishedMs = Date.now() - killedAt;
    process.stdout.write(
      `# killed hub A with ${doneBefore.map((n) => n.name).join(',')} done and ${busy.name} in ${busy.phase}; hub B led in ${tookOverMs} ms, finished in ${finishedMs} ms\n`,
    );
    assert.ok(tookOverMs < 15_000, `took over in ${tookOverMs} ms`);
    assert.equal(r.id, id);
    assert.equal(r.state, 'done', JSON.stringify(r));
    assert.deepEqual(
      r.nodes.map((n) => n.phase),
      nodes.map(() => 'done'),
    );
    // Not restarted: the nodes done before the kill kept their times; one rollout, resumed once or more.
    for (const n of doneBefore) {
      const now = r.nodes.find((x) => x.id === n.id)!;
      assert.deepEqual([now.startedAt, now.finishedAt], [n.startedAt, n.finishedAt], `${n.name} was not redone`);
    }
    const events = await rolloutEvents(b, id);
    assert.equal(events.filter((e) => e.type === 'upgrade.started').length, 1, 'started once');
    assert.ok(
      events.some((e) => e.type === 'upgrade.resumed'),
      'hub B resumed it from its stored step',
    );
    // No node upgraded twice. The node in progress at the kill resumes its stored step (a cordon again
    // is harmless); the others were cordoned once.
    assertUpgradedOnce(events, nodes, busy.id);
    // Every node Ready on the new version, schedulable (kube's view through hub B), and ready in atoll.
    await assertAllOnV1(b, nodes, work);
  },
);
