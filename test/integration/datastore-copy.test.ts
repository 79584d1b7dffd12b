// atoll-hub datastore copy with real processes: a hub on SQLite with a joined agent, stopped, copied
// to a fresh PostgreSQL database, started again on it with the same data dir (the same cluster-secret
// file): the agent reconnects with its certificate (same node, no re-join) and the API shows the same
// nodes, tokens and events. A running source, and a target that holds data, are refused and changed
// nothing; PostgreSQL back to SQLite works too. Needs a build (dist/hub/main.js).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HUB_BIN,
  removeTree,
  runCli,
  startAgentJoin,
  startHub,
  waitFor,
  type AgentHandle,
  type HubHandle,
} from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { createToken, stopProc } from '../helpers/bad-input.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
let server: PgServer | undefined;
let hub: HubHandle | undefined;
let agent: AgentHandle | undefined;
const dirs: string[] = [];

before(async () => {
  if (!skip) server = await startPostgres();
});
after(async () => {
  await stopProc(agent?.proc, 3_000);
  await stopProc(hub?.proc);
  server?.stop();
  for (const d of dirs) removeTree(d);
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'atoll-copy-'));
  dirs.push(d);
  return d;
}

interface Node {
  id: string;
  name: string;
  state: string;
  connected: boolean;
}
interface Ev {
  id: number;
  type: string;
  nodeId?: string | null;
}

const COUNTED = ['nodes', 'tokens', 'events', 'secrets', 'certs', 'pools'];
const counts = (db: string): string =>
  COUNTED.map((t) => `${t}=${server!.psql(`SELECT COUNT(*) FROM ${t}`, db).trim()}`).join(' ');

async function snapshot(h: HubHandle): Promise<{ nodes: Node[]; tokens: unknown[]; events: Ev[] }> {
  const nodes = (await h.api<{ items: Node[] }>('GET', '/v1/nodes')).body.items;
  const tokens = (await h.api<{ items: unknown[] }>('GET', '/v1/tokens?all=true')).body.items;
  const events = (await h.api<{ items: Ev[] }>('GET', '/v1/events?limit=1000')).body.items;
  return { nodes, tokens, events };
}

test(
  'a hub moved from SQLite to PostgreSQL keeps its nodes, tokens, events and CA; the agent reconnects without re-joining',
  { skip, timeout: 180_000 },
  async () => {
    const home = tempDir();
    // On SQLite whatever ATOLL_TEST_DATASTORE says: this is the hub that moves.
    hub = await startHub({ dataDir: join(home, 'data'), extraArgs: ['--datastore', 'sqlite'] });
    const h = hub;
    const joinToken = await createToken(h, { description: 'for the agent' });
    await createToken(h, { description: 'an unused one', uses: 3 });
    agent = startAgentJoin(h, joinToken.token, { k3s: 'off' });
    const ready = async (): Promise<Node | undefined> => {
      const r = await h.api<{ items: Node[] }>('GET', '/v1/nodes').catch(() => undefined);
      const items = r?.status === 200 ? r.body.items : [];
      return items.length === 1 && items[0].state === 'ready' && items[0].connected ? items[0] : undefined;
    };
    const node = await waitFor('the agent ready on SQLite', ready, 30_000);
    const before = await snapshot(h);
    assert.equal(before.events.filter((e) => e.type === 'node.joined').length, 1);

    server!.createDatabase('moved');
    const url = server!.urlFor('moved');
    const password = decodeURIComponent(new URL(url).password);

    // The hub still runs: refused, nothing copied.
    const busy = await runCli(HUB_BIN, ['datastore', 'copy', '--from', h.dataDir, '--to', url]);
    assert.equal(busy.code, 1, busy.stdout + busy.stderr);
    assert.match(busy.stderr, /is in use by another process \(pid \d+/);
    assert.equal(server!.psql(`SELECT to_regclass('nodes') IS NULL`, 'moved').trim(), 't', 'nothing written');

    await h.stop();
    const copy = await runCli(HUB_BIN, [
      'datastore',
      'copy',
      '--from',
      `sqlite:${join(h.dataDir, 'hub.db')}`,
      '--to',
      url,
    ]);
    assert.equal(copy.code, 0, copy.stdout + copy.stderr);
    const copied = (table: string, out = copy.stdout): number =>
      Number(new RegExp(`^ {2}${table} +(\\d+) rows$`, 'm').exec(out)?.[1] ?? -1);
    assert.equal(copied('nodes'), 1);
    assert.ok(copied('tokens') >= 2, copy.stdout);
    assert.ok(copied('secrets') >= 1, 'the sealed CA and keys');
    // The stopping hub wrote its own events after the snapshot.
    assert.ok(copied('events') >= before.events.length, copy.stdout);
    const lastId = Number(/the store\.copied event is id (\d+)/.exec(copy.stdout)?.[1]);
    assert.ok(lastId >= before.events[before.events.length - 1].id);
    assert.equal((copy.stdout + copy.stderr).includes(password), false, 'the password is never printed');
    assert.equal(server!.psql('SELECT last_id FROM event_counter', 'moved').trim(), String(lastId));
    assert.equal(server!.psql('SELECT COUNT(*) FROM events', 'moved').trim(), String(copied('events') + 1));

    await h.restart(['--datastore', url]);
    const again = await waitFor('the agent ready on PostgreSQL', ready, 45_000);
    assert.equal(again.id, node.id, 'the same node: no re-join');
    const afterMove = await snapshot(h);
    assert.deepEqual(
      afterMove.nodes.map((n) => [n.id, n.name]),
      before.nodes.map((n) => [n.id, n.name]),
    );
    assert.deepEqual(afterMove.tokens, before.tokens, 'the same tokens, uses included');
    assert.deepEqual(afterMove.events.slice(0, before.events.length), before.events, 'the same events, same ids');
    assert.equal(afterMove.events.filter((e) => e.type === 'node.joined').length, 1, 'no new node.joined');
    const ids = afterMove.events.map((e) => e.id);
    assert.ok(
      ids.every((id, k) => k === 0 || id > ids[k - 1]),
      'ids stay unique and ordered',
    );
    assert.ok(ids[ids.length - 1] > lastId, 'the hub on PostgreSQL writes events after the copied ids');
    const audit = afterMove.events.find((e) => e.id === lastId);
    assert.equal(audit?.type, 'store.copied', 'the copy left an audit event');
    assert.equal(server!.psql(`SELECT COUNT(*) FROM nodes`, 'moved').trim(), '1', 'the hub runs on PostgreSQL');

    // A target that holds data: refused, and it changes nothing.
    await h.stop();
    const held = counts('moved');
    const refused = await runCli(HUB_BIN, ['datastore', 'copy', '--from', h.dataDir, '--to', url]);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /already holds data \(.*nodes: 1.*\): copy into an empty database only/);
    assert.equal(refused.stderr.includes(password), false);
    assert.equal(counts('moved'), held, 'the target is unchanged');

    // And back: PostgreSQL to a new SQLite file, the same rows.
    const back = join(tempDir(), 'data', 'hub.db');
    const home2 = await runCli(HUB_BIN, ['datastore', 'copy', '--from', url, '--to', `sqlite:${back}`]);
    assert.equal(home2.code, 0, home2.stdout + home2.stderr);
    const nEvents = server!.psql('SELECT COUNT(*) FROM events', 'moved').trim();
    assert.equal(String(copied('events', home2.stdout)), nEvents);
    assert.equal(copied('nodes', home2.stdout), 1);
  },
);
