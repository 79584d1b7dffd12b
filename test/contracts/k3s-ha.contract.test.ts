// Contract: several k3s servers on one PostgreSQL datastore (../shared/reference/k3s.md section 7),
// against the stand-in or a real k3s (ATOLL_TEST_K3S_BIN, as root). A real PostgreSQL 15 in a temp
// dir; servers on 127.0.0.2/.3/.4 with one port, each logging in as its own role (so one can be cut
// off); only loopback; every process ends in `after`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProcessRegistry } from './helpers/processes.js';
import { freePort } from './helpers/ports.js';
import { call, eventually, insecureGet } from './helpers/kube-http.js';
import { resolveK3s, type K3sUnderTest } from './helpers/k3s-under-test.js';
import { runCommand } from './helpers/run-command.js';
import {
  endpointIps,
  heartbeatAfter,
  killHard,
  readLbFile,
  readyThrough,
  startHaServer,
  waitServing,
  watchUntil,
  type HaServer,
  type HaServerOptions,
} from './helpers/ha-servers.js';
import { startPostgres, type PgServer } from '../helpers/postgres.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KUBECTL = '/usr/bin/kubectl';

describe('k3s HA: servers sharing a PostgreSQL datastore', { timeout: 300_000 }, () => {
  const procs = new ProcessRegistry();
  let pg: PgServer | undefined;
  let tmp = '';
  let k3s: K3sUnderTest;
  let env: NodeJS.ProcessEnv = {};
  let port = 0;
  let opts: HaServerOptions;
  /** Server A logs in as kine_a, B as kine_b (a member of kine_a, so both own kine's table). */
  let datastoreAs: (role: string) => string;
  const token = `ha-${randomBytes(12).toString('hex')}`;
  let a: HaServer;
  let b: HaServer;
  let agentDir = '';
  const sql = (q: string): string[] =>
    (pg as PgServer)
      .psql(q, 'kubernetes')
      .split('\n')
      .filter((l) => l !== '');

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'atoll-k3s-ha-'));
    k3s = await resolveK3s(tmp, repoRoot);
    console.log(k3s.note);
    if (k3s.skip) return;
    pg = await startPostgres();
    const pw = randomBytes(9).toString('hex');
    pg.psql(`CREATE ROLE kine_a LOGIN CREATEDB PASSWORD '${pw}'`); // kine creates its database when missing
    pg.psql(`CREATE ROLE kine_b LOGIN CREATEDB PASSWORD '${pw}' IN ROLE kine_a`);
    // no database in the URL: kine's default `kubernetes`; the test server has no TLS
    datastoreAs = (role) => `postgres://${role}:${pw}@127.0.0.1:${(pg as PgServer).port}/?sslmode=disable`;
    port = await freePort();
    env = {
      ...process.env,
      HOME: join(tmp, 'home'),
      ATOLL_STANDIN_HEARTBEAT_MS: '500',
      ATOLL_STANDIN_RETRY_MS: '500',
      ATOLL_STANDIN_LB_REFRESH_MS: '500',
      ATOLL_STANDIN_KINE_COMPACT_MS: '1000',
    };
    for (const k of ['KUBECONFIG', 'K3S_TOKEN', 'K3S_URL', 'K3S_DATASTORE_ENDPOINT']) delete env[k];
    mkdirSync(join(tmp, 'home'), { recursive: true });
    opts = { bin: k3s.bin, tmp, port, datastore: datastoreAs('kine_a'), token, env };
    a = await startHaServer(procs, opts, 'server-a', '127.0.0.2');
    await waitServing(a);
    b = await startHaServer(procs, { ...opts, datastore: datastoreAs('kine_b') }, 'server-b', '127.0.0.3');
    await waitServing(b);
  });

  after(async () => {
    await procs.killAll();
    pg?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("creates the database and keeps every object in kine's one table, as an append-only log", async (t) => {
    if (k3s.skip) return t.skip(k3s.skip);
    const cols = sql(
      "SELECT column_name || ':' || data_type FROM information_schema.columns WHERE table_name = 'kine' ORDER BY ordinal_position",
    ).map((c) => c.split(':'));
    assert.deepEqual(
      cols.map(([n]) => n),
      ['id', 'name', 'created', 'deleted', 'create_revision', 'prev_revision', 'lease', 'value', 'old_value'],
    );
    for (const [n, type] of cols) {
      if (n === 'name') assert.match(type ?? '', /character varying|text/);
      else if (n === 'value' || n === 'old_value') assert.equal(type, 'bytea');
      else assert.match(type ?? '', /integer|bigint/, `${n} is ${type}`);
    }
    const unique = sql("SELECT indexdef FROM pg_indexes WHERE tablename = 'kine' AND indexdef LIKE 'CREATE UNIQUE%'");
    assert.ok(
      unique.some((d) => /\(name, prev_revision\)/.test(d)),
      `unique (name, prev_revision): ${unique.join('; ')}`,
    );
    // create through A, update through B, delete through A: three rows, each naming the one before
    const path = '/api/v1/namespaces/default/configmaps';
    assert.equal(
      (await call(a.creds(), path, { method: 'POST', body: { metadata: { name: 'log' }, data: { v: '1' } } })).status,
      201,
    );
    const upd = await call(b.creds(), `${path}/log`, {
      method: 'PATCH',
      body: { data: { v: '2' } },
      contentType: 'application/merge-patch+json',
    });
    assert.equal(upd.status, 200, upd.text);
    assert.equal((await call(a.creds(), `${path}/log`, { method: 'DELETE' })).status, 200);
    const rows = sql(
      "SELECT id || ',' || created || ',' || deleted || ',' || prev_revision FROM kine WHERE name = '/registry/configmaps/default/log' ORDER BY id",
    ).map((r) => r.split(',').map(Number));
    assert.equal(rows.length, 3, JSON.stringify(rows));
    const [c, u, d] = rows as [number[], number[], number[]];
    assert.deepEqual([c[1], c[2], c[3]], [1, 0, 0], 'create');
    assert.deepEqual([u[1], u[2], u[3]], [0, 0, c[0]], 'update supersedes the create');
    assert.deepEqual([d[1], d[2], d[3]], [0, 1, u[0]], 'delete supersedes the update');
    for (const s of [a, b])
      assert.equal((await call(s.creds(), `${path}/log`)).status, 404, `${s.name} reads the newest row`);
  });

  it('shows a write on one server to a watch on the other within about a second', async (t) => {
    if (k3s.skip) return t.skip(k3s.skip);
    const delays: number[] = [];
    for (const [from, to, name] of [
      [a, b, 'from-a'],
      [b, a, 'from-b'],
    ] as const) {
      const w = watchUntil(
        to.creds(),
        '/api/v1/namespaces/default/configmaps?watch=true',
        (e) => e.type === 'ADDED' && e.object.metadata?.name === name,
        10_000,
      );
      await w.opened;
      const sent = Date.now();
      const r = await call(from.creds(), '/api/v1/namespaces/default/configmaps', {
        method: 'POST',
        body: { metadata: { name } },
      });
      assert.equal(r.status, 201, r.text);
      delays.push((await w.event) - sent);
      assert.equal((await call(to.creds(), `/api/v1/namespaces/default/configmaps/${name}`)).status, 200);
    }
    console.log(`write -> watch on the other server: ${delays.join(' ms, ')} ms`);
    for (const d of delays) assert.ok(d < 2000, `seen after ${d} ms`);
  });

  it('signs with one CA on every server: the token, /cacerts and client certificates carry over', async (t) => {
    if (k3s.skip) return t.skip(k3s.skip);
    const [caA, caB] = await Promise.all([insecureGet(`${a.url}/cacerts`), insecureGet(`${b.url}/cacerts`)]);
    assert.equal(caA.body.toString(), caB.body.toString());
    const tokenOf = (s: HaServer): string => readFileSync(join(s.dataDir, 'server', 'token'), 'utf8').trim();
    assert.equal(tokenOf(a), tokenOf(b), 'same K10<CA hash>::server:<password> on both');
    const crossed = await call({ ...a.creds(), server: b.url }, '/api/v1/namespaces/default');
    assert.equal(crossed.status, 200, "A's admin certificate is accepted by B");
    const crossed2 = await call({ ...b.creds(), server: a.url }, '/api/v1/namespaces/default');
    assert.equal(crossed2.status, 200, "B's admin certificate is accepted by A");
  });

  it('lists every live server in the kubernetes endpoints', async (t) => {
    if (k3s.skip) return t.skip(k3s.skip);
    for (const s of [a, b]) {
      const ep = await eventually(`${s.name}: endpoints with both servers`, 30_000, async () => {
        const r = await call(s.creds(), '/api/v1/namespaces/default/endpoints/kubernetes');
        const body = r.json<{ subsets?: { ports?: { port: number }[] }[] }>();
        return r.status === 200 && (await endpointIps(s)) === '127.0.0.2,127.0.0.3' ? body : undefined;
      });
      assert.equal(ep.subsets?.[0]?.ports?.[0]?.port, port);
    }
  });

  it('refuses a server with another token: it exits non-zero and says why', async (t) => {
    if (k3s.skip) return t.skip(k3s.skip);
    const c = await startHaServer(procs, { ...opts, token: 'some-other-token' }, 'server-wrong-token', '127.0.0.4');
    const code = await Promise.race([
      c.proc.exited(),
      new Promise<'running'>((r) => setTimeout(() => r('running'), 60_000)),
    ]);
    assert.notEqual(code, 'running', `still running:\n${c.proc.output()}`);
    assert.notEqual(code, 0);
    assert.match(c.proc.output(), /bootstrap data already found and encrypted with different token/);
  });

  it('keeps an agent registered through A Ready through B after A is killed, and its server list fresh', async (t) => {
    if (k3s.skip) return t.skip(k3s.skip);
    agentDir = join(tmp, 'agent');
    const agentToken = readFileSync(join(a.dataDir, 'server', 'token'), 'utf8').trim();
    const healthz = await freePort();
    const agent = procs.start(
      'agent',
      k3s.bin,
      [
        'agent',
        '--server',
        a.url,
        '--token',
        agentToken,
        '--data-dir',
        agentDir,
        '--node-name',
        'ha-n1',
        `--kubelet-arg=healthz-port=${healthz}`,
      ],
      env,
    );
    for (const s of [a, b])
      await eventually(`ha-n1 Ready through ${s.name}`, 60_000, async () =>
        (await readyThrough(s, 'ha-n1'))?.status === 'True' ? true : undefined,
      ).catch((e: unknown) => assert.fail(`${String(e)}\n${agent.output()}`));
    const names = await Promise.all(
      [a, b].map(
        async (s) =>
          (
            await runCommand(
              KUBECTL,
              ['--kubeconfig', s.kubeconfig, '--server', s.url, 'get', 'nodes', '-o', 'name'],
              env,
            )
          ).stdout,
      ),
    );
    assert.equal(names[0], names[1], 'kubectl get nodes lists the same nodes through either server');
    assert.match(names[0] ?? '', /node\/ha-n1/);

    const lb = await eventually('load balancer file with both servers', 30_000, async () => {
      const f = readLbFile(agentDir);
      return [...(f.ServerAddresses ?? [])].sort().join() === `127.0.0.2:${port},127.0.0.3:${port}` ? f : undefined;
    });
    assert.equal(lb.ServerURL, a.url, 'the original --server stays as the last resort');

    await killHard(a);
    const hb = await heartbeatAfter(b, 'ha-n1', Date.now(), 15_000);
    console.log(`first heartbeat through B ${hb} ms after A was killed`);
    // A's master lease expires and the endpoints drop it; the agent follows, keeping --server last
    await eventually('endpoints without A', 60_000, async () =>
      (await endpointIps(b)) === '127.0.0.3' ? true : undefined,
    );
    const fresh = await eventually('load balancer file without A', 30_000, async () => {
      const f = readLbFile(agentDir);
      return f.ServerAddresses?.join() === `127.0.0.3:${port}` ? f : undefined;
    });
    assert.equal(fresh.ServerURL, a.url);
    assert.equal((await readyThrough(b, 'ha-n1'))?.status, 'True', 'still Ready');
  });

  it('compacts the log, never touching the newest 1000 revisions', async (t) => {
    if (k3s.skip) return t.skip(k3s.skip);
    if (k3s.real)
      return t.skip('a real k3s compacts every 5 minutes; ATOLL_STANDIN_KINE_COMPACT_MS shortens it in the stand-in');
    // 1500 revisions of one key, each superseding the one before; the value is the revision's number
    sql(`DO $$ DECLARE prev integer := 0; BEGIN
           FOR i IN 1..1500 LOOP
             INSERT INTO kine(name, created, deleted, create_revision, prev_revision, lease, value, old_value)
             VALUES ('/atoll/compaction-test', CASE WHEN prev = 0 THEN 1 ELSE 0 END, 0, 0, prev, 0,
                     convert_to(i::text, 'UTF8'), NULL)
             RETURNING id INTO prev;
           END LOOP; END $$`);
    const maxId = Number(sql('SELECT MAX(id) FROM kine')[0]);
    const compacted = await eventually('compaction up to the newest 1000 revisions', 30_000, async () => {
      const rev = Number(sql("SELECT prev_revision FROM kine WHERE name = 'compact_rev_key'")[0]);
      return rev >= maxId - 1000 ? rev : undefined;
    });
    assert.ok(compacted <= Number(sql('SELECT MAX(id) FROM kine')[0]) - 1000, 'the newest 1000 revisions are kept');
    const revs = (where: string): number[] =>
      sql(
        `SELECT convert_from(value, 'UTF8') FROM kine WHERE name = '/atoll/compaction-test' AND ${where} ORDER BY id`,
      ).map(Number);
    const kept = revs(`id > ${compacted}`);
    assert.equal(kept[kept.length - 1], 1500);
    assert.deepEqual(
      kept,
      kept.map((_, i) => (kept[0] ?? 0) + i),
      'every revision after the compact revision is still there',
    );
    assert.ok(revs(`id <= ${compacted}`).length <= 1, 'superseded revisions up to it are gone');
    assert.ok(kept.length < 1500, `compaction removed old revisions (${1500 - kept.length})`);
  });

  it('moves the agent off a server cut off from PostgreSQL, to a restarted server', async (t) => {
    if (k3s.skip) return t.skip(k3s.skip);
    if (!agentDir) return t.skip('needs the agent of the test before');
    // A comes back on the same data dir: it loads the bootstrap data again and rejoins the endpoints
    a = await startHaServer(procs, opts, 'server-a2', '127.0.0.2', a.dataDir);
    await waitServing(a);
    await eventually('endpoints with A again', 60_000, async () =>
      (await endpointIps(b)) === '127.0.0.2,127.0.0.3' ? true : undefined,
    );
    await eventually('the agent knows A again', 30_000, async () =>
      readLbFile(agentDir).ServerAddresses?.length === 2 ? true : undefined,
    );
    const pgs = pg as PgServer;
    pgs.psql('ALTER ROLE kine_b NOLOGIN');
    pgs.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'kine_b'");
    const cut = Date.now();
    const ns = await call(b.creds(), '/api/v1/namespaces/default');
    assert.ok(ns.status >= 500, `B cannot serve without its datastore (${ns.status})`);
    const hb = await heartbeatAfter(a, 'ha-n1', cut, 15_000);
    console.log(`first heartbeat through A ${hb} ms after B lost PostgreSQL`);
  });
});
