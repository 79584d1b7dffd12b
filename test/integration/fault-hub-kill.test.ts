// kill -9 of the hub in the middle of a join storm (one reusable token, plus single-use tokens each
// raced by two joins), with agents reporting health and the API handing out tokens and events.
// After a restart on the same data dir: every join that got a certificate is a stored node, no
// single-use token was used twice, token use counts match the joins, and nothing the API
// acknowledged (a created token, a listed event) is missing. The same storm on SQLite and on
// PostgreSQL (a real server, test/helpers/postgres.ts).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, waitFor, removeDir, type HubHandle } from '../helpers/processes.js';
import {
  createToken,
  gatewayCall,
  joinBody,
  keyAndCsr,
  listNodes,
  stopProc,
  type KeyAndCsr,
  type TokenInfo,
} from '../helpers/bad-input.js';
import { Puppet } from '../helpers/puppet.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';

const hubs: HubHandle[] = [];
const puppets: Puppet[] = [];
let pgServer: PgServer | undefined;
after(async () => {
  for (const p of puppets) p.stop();
  for (const hub of hubs) {
    await stopProc(hub.proc, 3_000);
    removeDir(hub.dataDir);
  }
  pgServer?.stop();
});

interface Ev {
  id: number;
  type: string;
  actor: string;
  nodeId: string | null;
  message: string;
}
interface Job {
  name: string;
  token: string;
  tokenId: string;
  key: KeyAndCsr;
}
type Outcome =
  | { kind: 'joined'; nodeId: string }
  | { kind: 'refused'; status: number; code: string }
  | { kind: 'lost'; error: string };

const REUSABLE_JOINS = 60;
const SINGLE_USE = 15;
const KILL_AFTER = 30;

async function allEvents(h: HubHandle): Promise<Ev[]> {
  const out: Ev[] = [];
  let since = 0;
  for (let page = 0; page < 50; page++) {
    const r = await h.api<{ items: Ev[]; cursor: number }>('GET', `/v1/events?since=${since}&limit=1000`);
    assert.equal(r.status, 200);
    out.push(...r.body.items);
    if (r.body.items.length < 1000) return out;
    since = r.body.cursor;
  }
  throw new Error('more than 50 pages of events');
}

/** The storm, the kill and the checks, on the hub's datastore given by `datastoreArgs`. */
async function killDuringStorm(datastoreArgs: string[]): Promise<void> {
  const h = await startHub({
    heartbeat: '500ms',
    unreachableAfter: '5s',
    extraArgs: ['--join-rate-limit', '100000', ...datastoreArgs],
  });
  hubs.push(h);
  const reusable = await createToken(h, { reusable: true });
  for (let i = 0; i < 3; i++) puppets.push(await Puppet.join(h, reusable.token, `reporter-${i}`));
  const singles: TokenInfo[] = [];
  for (let i = 0; i < SINGLE_USE; i++) singles.push(await createToken(h));

  const jobs: Job[] = [];
  const names = [
    ...Array.from({ length: REUSABLE_JOINS }, (_, i) => ({ name: `storm-${i}`, t: reusable })),
    ...singles.flatMap((t, i) => [
      { name: `single-${i}-a`, t },
      { name: `single-${i}-b`, t },
    ]),
  ];
  // Keys first (in parallel): the storm itself should be joins, not key generation.
  const keys = await Promise.all(names.map((n) => keyAndCsr(n.name)));
  names.forEach((n, i) => jobs.push({ name: n.name, token: n.t.token, tokenId: n.t.id, key: keys[i] }));
  // Interleave so each single-use token's two joins run at about the same time.
  jobs.sort((a, b) => (a.name.replace(/-[ab]$/, '') < b.name.replace(/-[ab]$/, '') ? -1 : 1));

  const outcomes = new Map<string, Outcome>();
  const ackedTokens: string[] = [];
  const ackedEvents = new Map<number, Ev>();
  let killed = false;
  let done = 0;

  const joinOne = async (job: Job): Promise<void> => {
    try {
      const r = await gatewayCall<{ nodeId?: string; error?: { code: string } }>(
        h,
        'POST',
        '/v1/join',
        joinBody(job.token, job.key.csr, job.name),
      );
      if (r.status === 201 && r.body.nodeId) outcomes.set(job.name, { kind: 'joined', nodeId: r.body.nodeId });
      else outcomes.set(job.name, { kind: 'refused', status: r.status, code: r.body.error?.code ?? '' });
    } catch (err) {
      outcomes.set(job.name, { kind: 'lost', error: (err as Error).message });
    }
    done++;
    if (done >= KILL_AFTER && !killed) {
      killed = true;
      h.proc.child.kill('SIGKILL');
    }
  };
  // Side traffic: tokens created and events listed through the API; whatever it acknowledged must survive.
  const sideTraffic = (async () => {
    let since = 0;
    for (let i = 0; i < 500 && !killed; i++) {
      try {
        const t = await h.api<{ id: string }>('POST', '/v1/tokens', { ttl: '10m', description: `side-${i}` });
        if (t.status === 201) ackedTokens.push(t.body.id);
        const e = await h.api<{ items: Ev[]; cursor: number }>('GET', `/v1/events?since=${since}&limit=1000`);
        if (e.status === 200) {
          for (const ev of e.body.items) ackedEvents.set(ev.id, ev);
          since = e.body.cursor;
        }
      } catch {
        // the hub is gone: stop
      }
    }
  })();
  const queue = [...jobs];
  const workers = Array.from({ length: 12 }, async () => {
    for (let job = queue.shift(); job && !killed; job = queue.shift()) await joinOne(job);
  });
  await Promise.all(workers);
  await sideTraffic;
  assert.ok(killed, 'the hub was killed mid-storm');
  await h.proc.exited;
  const joinedBefore = [...outcomes.values()].filter(
    (o): o is Extract<Outcome, { kind: 'joined' }> => o.kind === 'joined',
  );
  assert.ok(joinedBefore.length >= 10, `some joins succeeded before the kill (${joinedBefore.length})`);
  assert.ok(outcomes.size < jobs.length, 'some joins never ran or were cut off: the kill hit the storm');
  assert.ok(ackedEvents.size > 0 && ackedTokens.length > 0, 'the API acknowledged events and tokens before the kill');

  for (const p of puppets) p.stop();
  await h.restart();

  // Every join that got a certificate back is a node.
  const stored = new Set((await listNodes(h)).map((n) => n.id));
  for (const o of joinedBefore) assert.ok(stored.has(o.nodeId), `node ${o.nodeId} (got a certificate) is stored`);
  // Nothing acknowledged is missing, and it is unchanged.
  const events = await allEvents(h);
  const byId = new Map(events.map((e) => [e.id, e]));
  for (const [id, ev] of ackedEvents)
    assert.deepEqual(byId.get(id), ev, `acknowledged event ${id} (${ev.type}) survived unchanged`);
  const tokens = (await h.api<{ items: TokenInfo[] }>('GET', '/v1/tokens?all=true')).body.items;
  const tokenIds = new Set(tokens.map((t) => t.id));
  for (const id of ackedTokens) assert.ok(tokenIds.has(id), `acknowledged token ${id} survived`);

  // Token use counts match the stored joins; no single-use token was used twice.
  const joinedEvents = events.filter((e) => e.type === 'node.joined');
  for (const t of [reusable, ...singles]) {
    const rec = tokens.find((x) => x.id === t.id)!;
    const joinsByToken = joinedEvents.filter((e) => e.actor === `token:${t.id}`);
    assert.equal(rec.uses, joinsByToken.length, `token ${t.id}: uses match its node.joined events`);
    for (const e of joinsByToken) assert.ok(stored.has(e.nodeId!), `the node of a joined event for ${t.id} is stored`);
  }
  for (const [i, t] of singles.entries()) {
    const rec = tokens.find((x) => x.id === t.id)!;
    const wins = [`single-${i}-a`, `single-${i}-b`].filter((n) => outcomes.get(n)?.kind === 'joined');
    assert.ok(wins.length <= 1, `single-use token ${t.id} got ${wins.length} certificates`);
    assert.ok(rec.uses <= 1, `single-use token ${t.id} used ${rec.uses} times`);
    // After the restart the token is spent exactly when a node holds it.
    const k = await keyAndCsr(`again-${i}`);
    const again = await gatewayCall<{ error?: { code: string } }>(
      h,
      'POST',
      '/v1/join',
      joinBody(t.token, k.csr, `again-${i}`),
    );
    if (rec.uses === 1)
      assert.equal(again.body.error?.code, 'TOKEN_USED_UP', `token ${t.id} stays used up after the restart`);
    else assert.equal(again.status, 201, `token ${t.id}, never used, still works after the restart`);
  }
  const tokensNow = (await h.api<{ items: TokenInfo[] }>('GET', '/v1/tokens?all=true')).body.items;
  const totalUses = tokensNow.reduce((n, t) => n + t.uses, 0);
  assert.equal((await listNodes(h)).length, totalUses, 'every stored node is one token use, and every use a node');
  // The storm can go on: the reusable token still joins.
  const k = await keyAndCsr('after-restart');
  const last = await gatewayCall<{ nodeId: string }>(
    h,
    'POST',
    '/v1/join',
    joinBody(reusable.token, k.csr, 'after-restart'),
  );
  assert.equal(last.status, 201);
  await waitFor(
    'reporters come back as stored nodes',
    async () => (await listNodes(h)).filter((n) => n.name.startsWith('reporter-')).length === 3,
    5_000,
  );
}

test(
  'kill -9 during a join storm and health reports loses nothing acknowledged and uses no token twice',
  { timeout: 120_000 },
  () => killDuringStorm([]),
);

test(
  'kill -9 during a join storm on PostgreSQL loses nothing acknowledged and uses no token twice',
  { timeout: 150_000, skip: postgresBinDir() ? false : 'PostgreSQL is not installed' },
  async () => {
    pgServer = await startPostgres();
    pgServer.createDatabase('storm');
    await killDuringStorm(['--datastore', pgServer.urlFor('storm')]);
  },
);
