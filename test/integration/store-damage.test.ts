// A damaged or mismatched store is refused at start, with what to do, before anything is written:
// garbage in the certificates' page (quick_check), hub.db deleted beside a kept CA, another hub's
// hub.db beside this CA. --reinit-store moves the refused file aside and starts empty;
// `atoll-hub datastore check` runs the full integrity_check. A store failure while the hub runs
// refuses agents with STORE_UNAVAILABLE and logs the cause.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { HUB_BIN, apiCall, removeDir, runCli, startHub, type HubHandle } from '../helpers/processes.js';
import { createToken, rawJoin, stopProc, wsConnect } from '../helpers/bad-input.js';
import { parseHubConfig } from '../../hub/config.js';
import { createLogger } from '../../hub/logger.js';
import { startHub as startInProcess } from '../../hub/app.js';
import { sqliteOnly } from '../helpers/test-datastore.js';

const sqliteFile = sqliteOnly('it damages, deletes and swaps the hub.db file');

const dirs: string[] = [];
const hubs: HubHandle[] = [];
after(async () => {
  for (const h of hubs) await stopProc(h.proc);
  for (const d of dirs) removeDir(d);
});

async function hubWithANode(): Promise<HubHandle> {
  const hub = await startHub();
  hubs.push(hub);
  dirs.push(hub.dataDir);
  await rawJoin(hub, (await createToken(hub)).token, 'has-a-cert');
  await stopProc(hub.proc);
  return hub;
}

function hubRun(
  dataDir: string,
  extra: string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
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
    { ATOLL_DATA_DIR: undefined },
    20_000,
  );
}

/** Overwrites the first page of the certs table in a stopped hub's hub.db with random bytes. */
function corruptCertsPage(dbPath: string): void {
  const db = new Database(dbPath);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const root = db
    .prepare<[], number>("SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = 'certs'")
    .pluck()
    .get()!;
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  db.close();
  const fd = openSync(dbPath, 'r+');
  writeSync(fd, randomBytes(pageSize), 0, pageSize, (root - 1) * pageSize);
  closeSync(fd);
}

test(
  'garbage in the certificates page: the hub refuses to start; datastore check says DAMAGED; --reinit-store starts empty',
  { skip: sqliteFile },
  async () => {
    const hub = await hubWithANode();
    const dbPath = join(hub.dataDir, 'hub.db');
    corruptCertsPage(dbPath);

    const r = await hubRun(hub.dataDir);
    assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
    assert.match(
      r.stderr,
      new RegExp(`the hub database ${dbPath.replace(/[.]/g, '\\.')} is damaged \\(SQLite quick_check: `),
    );
    assert.match(r.stderr, /restore it from a backup .*--reinit-store/);
    assert.doesNotMatch(r.stdout, /is running/);
    assert.equal(existsSync(join(hub.dataDir, 'hub.json')), false, 'it never ran');

    const check = await runCli(HUB_BIN, ['datastore', 'check', '--data-dir', hub.dataDir]);
    assert.equal(check.code, 1, `datastore check exit code (stderr: ${check.stderr})`);
    assert.match(check.stdout, /hub\.db: DAMAGED \(integrity_check;/);
    assert.match(check.stderr, /is damaged: restore it from a backup/);

    const caPem = hub.caPem();
    await hub.restart(['--reinit-store']);
    // The CA was sealed in the refused store (kept aside): the empty store starts with a new one.
    assert.notEqual(hub.caPem(), caPem, 'a new CA');
    assert.ok(
      readdirSync(hub.dataDir).some((f) => /^hub\.db\.refused-/.test(f)),
      'the damaged file is kept aside',
    );
    const ev = await hub.api<{ items: { message: string }[] }>('GET', '/v1/events?type=store.reinitialized');
    assert.equal(ev.body.items.length, 1);
    const nodes = await hub.api<{ items: unknown[] }>('GET', '/v1/nodes');
    assert.deepEqual(nodes.body.items, [], 'the new store is empty');
    await stopProc(hub.proc);
    // The flag left on the command line does not wipe a store that is fine.
    await hub.restart(['--reinit-store']);
    assert.equal(
      (await hub.api<{ items: unknown[] }>('GET', '/v1/events?type=store.reinitialized')).body.items.length,
      1,
    );
    await stopProc(hub.proc);
    const ok = await runCli(HUB_BIN, ['datastore', 'check', '--data-dir', hub.dataDir]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /hub\.db: ok \(integrity_check;.*\nCA: matches ca\.crt/);
  },
);

test(
  'hub.db deleted beside a kept CA: refused with how to restore or start fresh; nothing created',
  { skip: sqliteFile },
  async () => {
    const hub = await hubWithANode();
    const dbPath = join(hub.dataDir, 'hub.db');
    for (const s of ['', '-wal', '-shm']) rmSync(dbPath + s, { force: true });
    const r = await hubRun(hub.dataDir);
    assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
    assert.match(
      r.stderr,
      /hub\.db is missing or empty, but .* holds the CA certificate \(ca\.crt\) of a hub that ran before/,
    );
    assert.match(r.stderr, /Restore it from a backup .*--reinit-store/);
    assert.equal(existsSync(dbPath), false, 'no empty hub.db was made');
  },
);

test("another hub's hub.db beside this CA: refused naming both pins", { skip: sqliteFile }, async () => {
  const hub = await hubWithANode();
  const other = await startHub();
  hubs.push(other);
  dirs.push(other.dataDir);
  await stopProc(other.proc);
  for (const s of ['-wal', '-shm']) rmSync(join(hub.dataDir, `hub.db${s}`), { force: true });
  copyFileSync(join(other.dataDir, 'hub.db'), join(hub.dataDir, 'hub.db'));
  const r = await hubRun(hub.dataDir);
  assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
  assert.match(r.stderr, /hub\.db belongs to another CA \(pin [0-9a-f]{64}\) than .*ca\.crt \(pin [0-9a-f]{64}\)/);
});

test(
  'a store failure while the hub runs: agents are refused with STORE_UNAVAILABLE and the cause is logged',
  { skip: sqliteFile },
  async () => {
    const base = mkdtempSync(join(tmpdir(), 'atoll-hub-inproc-'));
    dirs.push(join(base, 'data'));
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    const config = parseHubConfig(
      {
        dataDir: join(base, 'data'),
        apiListen: '127.0.0.1:0',
        gatewayListen: '127.0.0.1:0',
        publicUrl: 'https://127.0.0.1:9444',
        k3s: 'off',
        heartbeatInterval: '1s',
        unreachableAfter: '3s',
      },
      {},
      false,
    );
    const hub = await startInProcess(config, { logger: createLogger('info', sink) });
    try {
      const gwPort = (hub.gateway.server.address() as { port: number }).port;
      const caPem = (): string => hub.services.caPem;
      const token = readFileSync(hub.adminTokenPath, 'utf8').trim();
      const handle = {
        dataDir: config.dataDir,
        gatewayUrl: `https://127.0.0.1:${gwPort}`,
        caPem,
        api: (method: string, path: string, body?: unknown) => apiCall(hub.apiUrl, caPem(), token, method, path, body),
      } as unknown as HubHandle;
      const node = await rawJoin(handle, (await createToken(handle)).token, 'store-goes');
      await hub.services.store.close();
      const o = await wsConnect(handle, { certPem: node.certPem, keyPem: node.keyPem });
      assert.equal(o.kind, 'refused');
      assert.equal(o.kind === 'refused' && o.status, 503);
      assert.equal(o.kind === 'refused' && (o.body as { error: { code: string } }).error.code, 'STORE_UNAVAILABLE');
      const logged = lines
        .map((l) => JSON.parse(l) as { msg: string; err?: { message: string } })
        .find((l) => l.msg.startsWith('agent connection refused'));
      assert.ok(logged?.err, `the refusal is logged with its cause: ${JSON.stringify(logged)}`);
      assert.match(logged.err.message, /the hub database is closed/);
    } finally {
      await hub.stop().catch(() => undefined);
    }
  },
);
