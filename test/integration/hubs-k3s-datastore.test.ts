// Two hubs on one PostgreSQL run one Kubernetes cluster: each hub's `k3s server` (the stand-in) is
// given the shared datastore, `<atoll database>_k3s` beside atoll's, and the cluster's one server
// token, so an object made through one hub's kubeconfig is read through the other's. The datastore's
// password never shows on a command line. Needs a build (dist/hub/main.js).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, removeTree, waitFor, type HubHandle } from '../helpers/processes.js';
import { postgresBinDir, startPostgres, type PgServer } from '../helpers/postgres.js';
import { freePort } from '../helpers/ports.js';
import { HubGroup } from '../helpers/hubs.js';
import { kubeCore } from '../helpers/k3s-standin.js';

const skip = postgresBinDir() ? false : 'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb)';

let server: PgServer | undefined;
let work = '';
let group: HubGroup | undefined;

before(async () => {
  if (skip) return;
  server = await startPostgres();
  work = mkdtempSync(join(tmpdir(), 'atoll-hubs-k3s-'));
});
after(async () => {
  await group?.cleanup();
  server?.stop();
  if (work) removeTree(work);
});

/** Every command line on this machine (what `ps` shows), joined. */
function allCommandLines(): string {
  let out = '';
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      out += readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ') + '\n';
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

test(
  "two hubs on one PostgreSQL share one Kubernetes cluster through their k3s servers' datastore",
  { skip, timeout: 180_000 },
  async () => {
    const pg = server as PgServer;
    const standin = join(work, 'k3s');
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts/build-standin.mjs'), '--out', standin], {
      encoding: 'utf8',
    });
    assert.equal(b.status, 0, b.stderr);
    // No `shared_k3s` yet: kine makes it (the role may create databases).
    // Through the environment, as the password should be given: never on a command line.
    group = new HubGroup(pg, 'shared', { poolSize: 4, viaEnv: true, prefix: 'atoll-hubs-k3s-' });
    const g = group;
    const start = async (id: string): Promise<HubHandle> => {
      const h = await g.add({
        id,
        k3s: standin,
        extraArgs: ['--k3s-https-port', String(await freePort())],
        env: { ATOLL_STANDIN_HEARTBEAT_MS: '1000' },
      });
      await waitFor(
        `${id}: control plane running`,
        async () => (await h.api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running',
        60_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${h.proc.stderr().slice(-3000)}`);
      });
      return h;
    };
    const a = await start('hub-a');
    const hb = await start('hub-b');

    // Kubernetes' objects are in the k3s database beside atoll's, not in atoll's own.
    assert.match(pg.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'kine'", 'shared_k3s'), /\b1\b/);
    assert.match(pg.psql("SELECT count(*) FROM pg_tables WHERE tablename = 'kine'", 'shared'), /\b0\b/);

    // Made through hub A's k3s, read through hub B's: one cluster.
    const name = `made-on-a-${Date.now()}`;
    await (
      await kubeCore(a)
    ).createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name }, data: { from: 'hub-a' } },
    });
    const seen = await waitFor(
      'the ConfigMap through hub B',
      async () =>
        (await kubeCore(hb))
          .readNamespacedConfigMap({ name, namespace: 'default' })
          .then((cm) => cm)
          .catch(() => undefined),
      15_000,
    );
    assert.equal(seen.data?.from, 'hub-a');
    // The datastore URL carries the password; no process shows it on its command line.
    const password = new URL(pg.urlFor('shared')).password;
    assert.ok(password.length > 0);
    assert.ok(!allCommandLines().includes(password), 'the datastore password is on a command line');
  },
);
