// Three hub processes on one PostgreSQL (the same cluster secret), two real agents joined through hub
// A, which leads every role. kill -9 of hub A: both agents are welcomed by hub B or C within 30 s
// (from the hubs list of their welcome), B or C leads every role within 15 s, and a reboot sent
// through a surviving hub reaches each agent, wherever its link is (the agents' reboot command only
// touches a file). Needs a build (dist/) and PostgreSQL.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree, startAgentJoin, waitFor, type AgentHandle, type HubHandle } from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { ROLES as ALL_ROLES } from '../../hub/cluster/leadership.js';
import { createToken, stopProc } from '../helpers/bad-input.js';
import { HubGroup } from '../helpers/hubs.js';

// Every singleton role the hub knows, sorted: each must move off a dead leader (but `backups`, which
// only hubs with --backup-interval take: hubs-backups.test.ts).
const ROLES = ALL_ROLES.filter((r) => r !== 'backups').sort();
const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
let server: PgServer | undefined;
let group: HubGroup | undefined;
const agents: AgentHandle[] = [];
const dirs: string[] = [];

after(async () => {
  for (const a of agents) await stopProc(a.proc);
  await group?.cleanup();
  server?.stop();
  for (const d of dirs) removeTree(d);
});

interface HubItem {
  id: string;
  agents: number;
  live: boolean;
  leader: string[];
}

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

async function hubList(h: HubHandle): Promise<HubItem[]> {
  const r = await h.api<{ items: HubItem[] }>('GET', '/v1/hubs').catch(() => undefined);
  return r?.status === 200 ? r.body.items : [];
}

test(
  'three hubs: kill -9 of the leader, the agents move to the others, and a command through any survivor reaches them',
  { skip, timeout: 240_000 },
  async () => {
    server = await startPostgres();
    group = new HubGroup(server, 'three', { poolSize: 4, prefix: 'atoll-three-' });
    const [a, b, c] = await group.addAll([{ id: 'hub-a' }, { id: 'hub-b' }, { id: 'hub-c' }]);
    await waitFor(
      'three hubs live, hub A leading',
      async () => {
        const l = await hubList(a);
        return l.filter((h) => h.live).length === 3 && l.find((h) => h.id === 'hub-a')?.leader.length === ROLES.length;
      },
      20_000,
      200,
    );

    // The welcome lists the hubs of hub A's last membership beat (every 2 s): let one pass with all three live.
    await new Promise((r) => setTimeout(r, 2_500));
    const token = (await createToken(a, { reusable: true })).token;
    const markers: string[] = [];
    for (let i = 0; i < 2; i++) {
      const root = tempDir(`atoll-three-agent-${i}-`);
      const marker = join(root, 'rebooted');
      markers.push(marker);
      agents.push(
        startAgentJoin({ gatewayUrl: a.gatewayUrl }, token, {
          dataDir: join(root, 'data'),
          args: ['--node-name', `three-${i}`],
          env: { ATOLL_AGENT_REBOOT_COMMAND: `touch ${marker}` },
        }),
      );
    }
    const nodes = await waitFor(
      'both agents on hub A, with the three hubs in hubs.json',
      async () => {
        const l = (await hubList(a)).find((h) => h.id === 'hub-a');
        const known = agents.map((ag) =>
          existsSync(join(ag.dataDir, 'hubs.json'))
            ? (JSON.parse(readFileSync(join(ag.dataDir, 'hubs.json'), 'utf8')) as { hubs: string[] }).hubs.length
            : 0,
        );
        const r = await a.api<{ items: { id: string; state: string }[] }>('GET', '/v1/nodes');
        return (
          l?.agents === 2 &&
          known.every((n) => n === 3) &&
          r.body.items.every((n) => n.state === 'ready') &&
          r.body.items
        );
      },
      40_000,
      200,
    );
    assert.equal(nodes.length, 2);

    await a.stop('SIGKILL');
    const killedAt = Date.now();
    const spread = await waitFor(
      'both agents welcomed by hub B or C',
      async () => {
        const lb = await hubList(b);
        const on = (l: HubItem[], id: string) => l.find((h) => h.id === id)?.agents ?? 0;
        return on(lb, 'hub-b') + on(lb, 'hub-c') === 2 && lb;
      },
      30_000,
      200,
    );
    const movedMs = Date.now() - killedAt;
    const led = await waitFor(
      'every role led by B or C',
      async () => {
        const l = await hubList(b);
        const roles = l.filter((h) => h.live && h.id !== 'hub-a').flatMap((h) => h.leader);
        return roles.length === ROLES.length && roles;
      },
      15_000,
      200,
    );
    assert.deepEqual([...led].sort(), ROLES);
    const tookOverMs = Date.now() - killedAt;
    process.stdout.write(
      `# agents moved in ${movedMs} ms (${spread.map((h) => `${h.id}:${h.agents}`).join(' ')}); roles in ${tookOverMs} ms\n`,
    );

    // A reboot of each node through each survivor: one of the two holds the link, the other relays.
    for (const n of nodes)
      for (const via of [b, c]) {
        const r = await via.api<{ ok?: boolean; message?: string }>(
          'POST',
          `/v1/nodes/${n.id}/actions/reboot?wait=20s`,
        );
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.ok, true);
      }
    for (const m of markers) await waitFor(`the reboot command ran (${m})`, () => existsSync(m), 5_000, 50);
  },
);
