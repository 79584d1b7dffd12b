// Two hub processes on one PostgreSQL (the same cluster secret, separate data dirs): an agent (a
// puppet speaking the real protocol) connected to hub A is acted on through hub B. B stores the
// command, A (holding the link) sends it, the agent's result is stored, and the waiter on B answers
// 200 with it. A node whose agent is connected nowhere is refused with NODE_OFFLINE, as on one hub.
// The event stream of each hub carries the events the other stores.
// Needs a build (dist/hub/main.js) and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from 'node:https';
import type { ClientRequest } from 'node:http';
import { waitFor, type HubHandle } from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { HubGroup } from '../helpers/hubs.js';
import { Puppet } from '../helpers/puppet.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';
let server: PgServer | undefined;
let group: HubGroup | undefined;
const puppets: Puppet[] = [];
const streams: ClientRequest[] = [];
let pair: [HubHandle, HubHandle] | undefined;

before(async () => {
  if (skip) return;
  server = await startPostgres();
  // Two hubs on one new database, B with A's cluster secret.
  group = new HubGroup(server, 'hubs', { poolSize: 4 });
  const [a, b] = await group.addAll([{ id: 'hub-a' }, { id: 'hub-b' }]);
  pair = [a, b];
});
after(async () => {
  for (const s of streams) s.destroy();
  for (const p of puppets) p.stop();
  await group?.cleanup();
  server?.stop();
});

interface ActionReply {
  ok?: boolean;
  message?: string;
  commandId?: string;
  code?: string;
  error?: { code?: string; message?: string };
}

test(
  'a command through hub B reaches the agent connected to hub A, and B answers with its result',
  { skip, timeout: 120_000 },
  async () => {
    const [a, b] = pair!;
    const tok = await a.api<{ token: string }>('POST', '/v1/tokens', {});
    assert.equal(tok.status, 201, JSON.stringify(tok.body));
    const p = await Puppet.join(a, tok.body.token, 'cross-1');
    puppets.push(p);
    await waitFor(
      'the node ready on hub A',
      async () => (await a.api<{ state: string }>('GET', `/v1/nodes/${p.id}`)).body.state === 'ready',
      15_000,
      100,
    );
    // Both hubs live in each other's list (B only relays when another hub is live).
    await waitFor(
      'both hubs live',
      async () =>
        (await b.api<{ items: { live: boolean }[] }>('GET', '/v1/hubs')).body.items.filter((h) => h.live).length === 2,
      15_000,
      200,
    );

    const started = Date.now();
    const r = await b.api<ActionReply>('POST', `/v1/nodes/${p.id}/actions/reboot?wait=20s`);
    const tookMs = Date.now() - started;
    process.stdout.write(`# reboot through hub B answered in ${tookMs} ms\n`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.ok, true);
    assert.equal(r.body.message, 'done by the puppet');
    assert.deepEqual(p.commands, ['reboot'], 'the agent got it once');
    assert.ok(tookMs < 5000, `answered in ${tookMs} ms`);
    // The result is stored: A sees the command done too.
    const cmd = await a.api<{ state: string; sentCount: number }>(
      'GET',
      `/v1/nodes/${p.id}/commands/${r.body.commandId}`,
    );
    assert.equal(cmd.status, 200, JSON.stringify(cmd.body));
    assert.equal(cmd.body.state, 'done');
    assert.equal(cmd.body.sentCount, 1, 'sent once, by hub A');

    // wait=0 through B: 202 at once, and the agent runs it all the same.
    const quick = await b.api<ActionReply>('POST', `/v1/nodes/${p.id}/actions/restart-k3s?wait=0`);
    assert.equal(quick.status, 202, JSON.stringify(quick.body));
    await waitFor('restart-k3s at the agent', () => p.commands.includes('restart-k3s'), 10_000, 50);
    assert.deepEqual(p.commands, ['reboot', 'restart-k3s']);

    // An agent connected nowhere: refused, not stored to wait for nothing.
    p.disconnect();
    const refused = await waitFor(
      'NODE_OFFLINE through hub B',
      async () => {
        const x = await b.api<ActionReply>('POST', `/v1/nodes/${p.id}/actions/reboot?wait=2s`);
        return x.status === 503 && x;
      },
      20_000,
      500,
    );
    assert.match(JSON.stringify(refused.body), /NODE_OFFLINE/);
  },
);

interface Ev {
  id: number;
  type: string;
  message: string;
}

/** Opens GET /v1/events/stream on a hub; the events arrive in the returned array. */
function openStream(h: HubHandle): Promise<Ev[]> {
  return new Promise((resolve, reject) => {
    const events: Ev[] = [];
    const req = request(
      `${h.apiUrl}/v1/events/stream`,
      { ca: h.caPem(), headers: { authorization: `Bearer ${h.adminToken()}`, accept: 'text/event-stream' } },
      (res) => {
        assert.equal(res.statusCode, 200);
        let buf = '';
        res.on('data', (d: Buffer) => {
          buf += d.toString();
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const data = buf
              .slice(0, i)
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n');
            buf = buf.slice(i + 2);
            if (data) events.push(JSON.parse(data) as Ev);
          }
        });
        resolve(events);
      },
    );
    req.on('error', reject);
    streams.push(req);
    req.end();
  });
}

test(
  'the event stream on each hub carries the events every hub stores, each once',
  { skip, timeout: 60_000 },
  async () => {
    const [a, b] = pair!;
    const [onA, onB] = [await openStream(a), await openStream(b)];
    const made: { hub: HubHandle; id: string }[] = [];
    for (const hub of [a, b, a, b]) {
      const r = await hub.api<{ id: string }>('POST', '/v1/tokens', {});
      assert.equal(r.status, 201);
      made.push({ hub, id: r.body.id });
    }
    const created = (evs: Ev[]): Ev[] => evs.filter((e) => e.type === 'token.created');
    for (const [name, evs] of [
      ['A', onA],
      ['B', onB],
    ] as const) {
      await waitFor(`four token.created on hub ${name}'s stream`, () => created(evs).length >= 4, 10_000, 50);
      for (const m of made)
        assert.ok(
          created(evs).some((e) => e.message.includes(m.id)),
          `hub ${name}'s stream has token ${m.id}: ${JSON.stringify(created(evs))}`,
        );
      const ids = evs.map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, `no event twice on hub ${name}'s stream`);
    }
  },
);

test("every hub accepts the cluster's admin token: the second hub loads the first's", { skip }, async () => {
  const [a, b] = pair!;
  assert.equal(b.adminToken(), a.adminToken(), "hub B's admin-token file holds hub A's token");
  for (const [name, hub] of [
    ['A', a],
    ['B', b],
  ] as const) {
    const r = await hub.api('GET', '/v1/hubs', undefined, a.adminToken());
    assert.equal(r.status, 200, `hub ${name} accepts the token: ${JSON.stringify(r.body)}`);
  }
  const wrong = await b.api('GET', '/v1/hubs', undefined, `${a.adminToken()}x`);
  assert.equal(wrong.status, 401);
});

test(
  'an API token made through one hub works on the other within a second; revoked on one, refused by both',
  { skip },
  async () => {
    const [a, b] = pair!;
    const made = await a.api<{ id: string; token: string }>('POST', '/v1/api-tokens', { role: 'read-only' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const madeAt = Date.now();
    await waitFor(
      'hub B accepts the new token',
      async () => (await b.api('GET', '/v1/whoami', undefined, made.body.token)).status === 200,
      5_000,
      50,
    );
    const acceptedMs = Date.now() - madeAt;
    const revoked = await b.api('DELETE', `/v1/api-tokens/${made.body.id}`);
    assert.ok(revoked.status === 200 || revoked.status === 204, JSON.stringify(revoked.body));
    const revokedAt = Date.now();
    assert.equal(
      (await b.api('GET', '/v1/whoami', undefined, made.body.token)).status,
      401,
      'refused at once where revoked',
    );
    await waitFor(
      'hub A refuses the revoked token',
      async () => (await a.api('GET', '/v1/whoami', undefined, made.body.token)).status === 401,
      5_000,
      50,
    );
    const refusedMs = Date.now() - revokedAt;
    process.stdout.write(`# API token accepted on the other hub in ${acceptedMs} ms, revocation in ${refusedMs} ms\n`);
    assert.ok(acceptedMs < 1500 && refusedMs < 1500, `${acceptedMs} ms / ${refusedMs} ms`);
  },
);
