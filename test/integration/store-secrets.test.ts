// The hub's secrets live in its store, sealed with the cluster secret (--cluster-secret-file): a
// fresh hub makes the file (0600) and leaves no private key in the database; a hub given another
// cluster secret is refused with how to fix it and changes nothing; a data dir of the old layout
// (ca.key and friends as files) is imported at start and its agents keep connecting; and a second
// data dir with the same store and cluster secret (a second hub) gets the same CA, not a new one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  HUB_BIN,
  removeDir,
  runCli,
  startAgentJoin,
  startHub,
  waitFor,
  type AgentHandle,
  type HubHandle,
} from '../helpers/processes.js';
import { createToken, listNodes, stopProc } from '../helpers/bad-input.js';
import { hubCaMaterial, hubSecret, hubServingKey } from '../helpers/hub-secrets.js';
import { freePort } from '../helpers/ports.js';
import { caPin } from '../../certs/pin.js';
import { passwordOf } from '../../hub/pki/hub-secrets.js';
import { openNodeToken } from '../../hub/k3s/node-token-seal.js';
import { sqliteOnly } from '../helpers/test-datastore.js';
import { buildStandin } from '../helpers/k3s-standin.js';

const sqliteFile = sqliteOnly('it reads the bytes of hub.db and its WAL');

const dirs: string[] = [];
const hubs: HubHandle[] = [];
const agents: AgentHandle[] = [];
after(async () => {
  for (const a of agents) await stopProc(a.proc);
  for (const h of hubs) await stopProc(h.proc);
  for (const d of dirs) removeDir(d);
});

async function hub(opts: Parameters<typeof startHub>[0] = {}): Promise<HubHandle> {
  const h = await startHub(opts);
  hubs.push(h);
  dirs.push(h.dataDir);
  return h;
}

const mode = (p: string): number => statSync(p).mode & 0o777;
const fingerprint = (pem: string): string => caPin(pem);

/** Every row of every table, for "the store is unchanged". */
function dumpStore(dataDir: string): string {
  const db = new Database(join(dataDir, 'hub.db'), { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((r) => r.name);
    return JSON.stringify(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}"`).all()]));
  } finally {
    db.close();
  }
}

/** hub.db and its WAL, byte for byte, as a dump would carry them. */
function storeBytes(dataDir: string): Buffer {
  return Buffer.concat(
    ['hub.db', 'hub.db-wal']
      .map((f) => join(dataDir, f))
      .filter((p) => existsSync(p))
      .map((p) => readFileSync(p)),
  );
}

function hubRun(dataDir: string, extra: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(
    HUB_BIN,
    [
      'run',
      '--data-dir',
      dataDir,
      '--api-listen',
      '127.0.0.1:0',
      '--gateway-listen',
      '127.0.0.1:0',
      '--public-url',
      'https://127.0.0.1:9444',
      '--k3s',
      'off',
      ...extra,
    ],
    { ATOLL_DATA_DIR: undefined, ATOLL_CLUSTER_SECRET_FILE: undefined },
    30_000,
  );
}

test(
  'a fresh hub makes the cluster secret 0600, and its store holds no private key in plaintext',
  { skip: sqliteFile },
  async () => {
    const h = await hub();
    const secretFile = join(h.dataDir, 'cluster-secret');
    assert.equal(mode(secretFile), 0o600);
    assert.match(readFileSync(secretFile, 'utf8'), /^[0-9a-f]{64}\n$/);
    for (const f of ['ca.key', 'serving.key', 'tls-ticket-keys'])
      assert.equal(existsSync(join(h.dataDir, f)), false, `no ${f} file`);
    await stopProc(h.proc);

    const ca = hubCaMaterial(h.dataDir);
    assert.equal(ca.certPem, h.caPem(), 'the sealed CA is the one the hub serves');
    // The tail of a key's DER is private (its CRT parameters); the head holds the public modulus.
    const tail = (pem: string): Buffer => {
      const der = createPrivateKey(pem).export({ type: 'pkcs1', format: 'der' });
      return der.subarray(der.length - 64);
    };
    const bytes = storeBytes(h.dataDir);
    assert.ok(bytes.length > 10_000, 'the database was read');
    assert.equal(bytes.includes('PRIVATE KEY'), false, 'no PEM private key');
    assert.equal(bytes.includes(tail(ca.keyPem)), false, "no part of the CA key's DER");
    assert.equal(bytes.includes(Buffer.from(ca.keyPem.split('\n')[5])), false, "no line of the CA key's PEM");
    assert.equal(bytes.includes(tail(hubServingKey(h.dataDir))), false, "no part of the serving key's DER");
    assert.equal(bytes.includes(hubSecret(h.dataDir, 'tls-ticket-keys')), false, 'no ticket keys');
    assert.equal(bytes.includes(hubSecret(h.dataDir, 'k3s-server-token')), false, 'no k3s server token');
  },
);

test(
  'a hub given another cluster secret is refused with the fix; the store and the files are unchanged',
  { skip: sqliteFile },
  async () => {
    const h = await hub();
    const pin = fingerprint(h.caPem());
    await stopProc(h.proc);
    const before = dumpStore(h.dataDir);
    const secretBefore = readFileSync(join(h.dataDir, 'cluster-secret'));
    const filesBefore = readdirSync(h.dataDir).sort();
    const other = join(h.dataDir, '..', 'other-cluster-secret');
    writeFileSync(other, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });

    const r = await hubRun(h.dataDir, ['--cluster-secret-file', other]);
    assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
    assert.match(
      r.stderr,
      /error: CLUSTER_SECRET_MISMATCH: the cluster secret file .*other-cluster-secret does not match the one .*hub\.db was made with/,
    );
    assert.match(
      r.stderr,
      /start the hub with the cluster secret file the store was made with \(--cluster-secret-file/,
    );
    assert.match(r.stderr, /Nothing was changed/);
    assert.doesNotMatch(r.stdout, /is running/);
    assert.equal(dumpStore(h.dataDir), before, 'not a row changed');
    assert.deepEqual(readFileSync(join(h.dataDir, 'cluster-secret')), secretBefore);
    assert.deepEqual(readdirSync(h.dataDir).sort(), filesBefore, 'no file made or removed');
    assert.equal(fingerprint(h.caPem()), pin, 'ca.crt untouched');

    // The same through the environment; then with the right file it starts on its own CA.
    const env = await runCli(
      HUB_BIN,
      [
        'run',
        '--data-dir',
        h.dataDir,
        '--api-listen',
        '127.0.0.1:0',
        '--gateway-listen',
        '127.0.0.1:0',
        '--k3s',
        'off',
      ],
      { ATOLL_CLUSTER_SECRET_FILE: other, ATOLL_DATA_DIR: undefined },
      30_000,
    );
    assert.equal(env.code, 1, env.stderr);
    assert.match(env.stderr, /CLUSTER_SECRET_MISMATCH/);
    await h.restart();
    assert.equal(fingerprint(h.caPem()), pin);
    assert.equal((await h.api('GET', '/healthz')).status, 200);
  },
);

test(
  'a data dir of the old layout is imported at start; an agent joined before keeps connecting',
  { timeout: 120_000, skip: sqliteFile },
  async () => {
    const h = await hub();
    const agent = startAgentJoin(h, (await createToken(h)).token);
    agents.push(agent);
    const joined = await waitFor(
      'the agent to connect',
      async () => (await listNodes(h)).find((n) => n.connected),
      30_000,
    );
    const servingPinBefore = (await h.api<{ servingPin: string }>('GET', '/v1/cluster')).body.servingPin;
    await stopProc(h.proc);

    // Turn the data dir into what the hub before the cluster secret left: key files, schema 5, no secrets.
    const ca = hubCaMaterial(h.dataDir);
    const servingKey = hubServingKey(h.dataDir);
    const ticketKeys = hubSecret(h.dataDir, 'tls-ticket-keys');
    writeFileSync(join(h.dataDir, 'ca.key'), ca.keyPem, { mode: 0o600 });
    writeFileSync(join(h.dataDir, 'serving.key'), servingKey, { mode: 0o600 });
    writeFileSync(join(h.dataDir, 'tls-ticket-keys'), ticketKeys, { mode: 0o600 });
    const db = new Database(join(h.dataDir, 'hub.db'));
    db.exec(`DROP TABLE secrets; DROP TABLE version_support; DROP TABLE support_states; DROP TABLE alerts;
    DROP TABLE hubs; DROP TABLE leases;
    ALTER TABLE pools DROP COLUMN max_node_age; ALTER TABLE pools DROP COLUMN min_size;
    ALTER TABLE pools DROP COLUMN max_size; ALTER TABLE pools DROP COLUMN autoscale;
    DELETE FROM schema_migrations WHERE version >= 6;
    DELETE FROM settings WHERE key LIKE 'secrets.%';`);
    db.close();
    rmSync(join(h.dataDir, 'cluster-secret'));

    const restartedAt = Date.now();
    await h.restart();
    assert.equal(mode(join(h.dataDir, 'cluster-secret')), 0o600, 'the cluster secret is made');
    assert.equal(hubCaMaterial(h.dataDir).keyPem, ca.keyPem, 'the CA is imported, sealed');
    assert.equal(h.caPem(), ca.certPem, 'the same CA');
    assert.equal(readFileSync(join(h.dataDir, 'ca.key'), 'utf8'), ca.keyPem, 'ca.key is left as it was');
    assert.equal(
      (await h.api<{ servingPin: string }>('GET', '/v1/cluster')).body.servingPin,
      servingPinBefore,
      'the serving key is imported: printed install lines still match',
    );
    const back = await waitFor(
      'the agent to reconnect with its certificate',
      async () =>
        (await listNodes(h)).find(
          (n) => n.id === joined.id && n.connected && n.connectedAt && Date.parse(n.connectedAt) >= restartedAt - 1000,
        ),
      30_000,
    );
    assert.equal(back.id, joined.id, 'the same node, no re-join');
    assert.equal((await listNodes(h)).length, 1);

    // From now on the store is the source of truth: the key files may go, and the agent still connects.
    await stopProc(h.proc);
    for (const f of ['ca.key', 'serving.key', 'tls-ticket-keys']) rmSync(join(h.dataDir, f));
    const again = Date.now();
    await h.restart();
    assert.equal(h.caPem(), ca.certPem);
    await waitFor(
      'the agent to reconnect again',
      async () =>
        (await listNodes(h)).find(
          (n) => n.id === joined.id && n.connected && n.connectedAt && Date.parse(n.connectedAt) >= again - 1000,
        ),
      30_000,
    );
  },
);

test(
  'the same store and cluster secret on a second data dir (a second hub) load the same CA',
  { timeout: 90_000, skip: sqliteFile },
  async () => {
    const first = await hub();
    const servingPin = (await first.api<{ servingPin: string }>('GET', '/v1/cluster')).body.servingPin;
    await stopProc(first.proc);
    const secretFile = join(first.dataDir, 'cluster-secret');

    const base = mkdtempSync(join(tmpdir(), 'atoll-hub-'));
    const second = join(base, 'data');
    mkdirSync(second, { mode: 0o700 });
    for (const f of ['hub.db', 'hub.db-wal'])
      if (existsSync(join(first.dataDir, f))) copyFileSync(join(first.dataDir, f), join(second, f));
    const h2 = await hub({ dataDir: second, extraArgs: ['--cluster-secret-file', secretFile] });
    assert.equal(fingerprint(h2.caPem()), fingerprint(first.caPem()), 'the same ca.crt');
    assert.equal(
      (await h2.api<{ servingPin: string }>('GET', '/v1/cluster')).body.servingPin,
      servingPin,
      'the same serving key',
    );
    assert.equal(existsSync(join(second, 'cluster-secret')), false, 'no cluster secret of its own');
    assert.deepEqual(
      hubSecret(second, 'k3s-server-token', secretFile),
      hubSecret(first.dataDir, 'k3s-server-token'),
      'the same k3s server token',
    );
    await stopProc(h2.proc);

    // Without the cluster secret the store was made with, a third one is refused, not re-initialised.
    const third = join(mkdtempSync(join(tmpdir(), 'atoll-hub-')), 'data');
    dirs.push(third);
    mkdirSync(third, { mode: 0o700 });
    copyFileSync(join(second, 'hub.db'), join(third, 'hub.db'));
    const digest = createHash('sha256')
      .update(readFileSync(join(third, 'hub.db')))
      .digest('hex');
    const r = await hubRun(third, []);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /holds the hub's CA sealed with a cluster secret, but .*cluster-secret does not exist/);
    assert.equal(existsSync(join(third, 'cluster-secret')), false, 'no new cluster secret');
    assert.equal(existsSync(join(third, 'ca.crt')), false, 'no new CA');
    assert.equal(
      createHash('sha256')
        .update(readFileSync(join(third, 'hub.db')))
        .digest('hex'),
      digest,
    );
  },
);

test(
  "k3s secrets: the k3s server runs on the store's server token; node bootstrap tokens are stored sealed",
  { timeout: 120_000, skip: sqliteFile },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'atoll-secrets-k3s-'));
    dirs.push(join(work, 'x'));
    const standin = join(work, 'k3s');
    buildStandin(standin);
    const h = await hub({
      k3s: standin,
      extraArgs: ['--k3s-https-port', String(await freePort())],
      env: { ATOLL_STANDIN_HEARTBEAT_MS: '1000' },
    });
    await waitFor(
      'control plane running',
      async () => (await h.api<{ state: string }>('GET', '/v1/cluster')).body.state === 'running',
      40_000,
    );
    const serverToken = hubSecret(h.dataDir, 'k3s-server-token').toString('utf8');
    assert.equal(
      passwordOf(readFileSync(join(h.dataDir, 'k3s', 'server', 'token'), 'utf8').trim()),
      serverToken,
      'k3s took the server token from the store',
    );
    const kubeletPort = await freePort();
    const agent = startAgentJoin(h, (await createToken(h)).token, {
      k3s: 'auto',
      // Not this machine's hostname: the hub's own k3s node has that name.
      args: ['--node-name', 'sealed-worker'],
      env: {
        ATOLL_STANDIN_KUBELET_PORT: String(kubeletPort),
        ATOLL_AGENT_KUBELET_HEALTHZ_URL: `http://127.0.0.1:${kubeletPort}/healthz`,
        ATOLL_STANDIN_HEARTBEAT_MS: '1000',
        ATOLL_AGENT_K3S_START_GRACE_MS: '3000',
      },
    });
    agents.push(agent);
    const node = await waitFor(
      'the node Ready in k3s (it joined with its bootstrap token)',
      async () =>
        (
          await h.api<{ items: Array<{ id: string; k3s: { ready: boolean | null } }> }>('GET', '/v1/nodes')
        ).body.items.find((n) => n.k3s.ready === true),
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${agent.proc.stderr().slice(-2000)}`);
    });
    await stopProc(agent.proc);
    await stopProc(h.proc);
    const db = new Database(join(h.dataDir, 'hub.db'), { readonly: true });
    const row = db
      .prepare<[string], { token_secret: string }>('SELECT token_secret FROM node_k3s WHERE node_id = ?')
      .get(node.id);
    db.close();
    assert.match(row?.token_secret ?? '', /^sealed:/);
    const secret = Buffer.from(readFileSync(join(h.dataDir, 'cluster-secret'), 'utf8').trim(), 'hex');
    const bootstrap = openNodeToken({ secret, source: 'test' }, node.id, row!.token_secret);
    assert.match(bootstrap, /::[a-z0-9]{6}\.[a-z0-9]{16}$/, 'a k3s bootstrap token');
    const bytes = storeBytes(h.dataDir);
    assert.equal(bytes.includes(bootstrap.slice(-16)), false, "the bootstrap token's secret is not in the store");
    assert.equal(bytes.includes(serverToken), false, 'nor the server token');
  },
);
