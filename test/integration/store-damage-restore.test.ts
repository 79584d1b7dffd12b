// A damaged hub.db at start is never silent and never re-initialised over: the hub exits 1 with one
// line naming the file and `atoll-hub restore`, the file is left byte for byte; the backup made before
// the damage restores into a new data dir that starts with the same CA.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { HUB_BIN, removeDir, runCli, startHub, type HubHandle } from '../helpers/processes.js';
import { createToken, rawJoin, stopProc } from '../helpers/bad-input.js';
import { sqliteOnly } from '../helpers/test-datastore.js';

const skip = sqliteOnly('it damages the hub.db file');
const hubs: HubHandle[] = [];
after(async () => {
  for (const h of hubs) {
    await stopProc(h.proc);
    removeDir(h.dataDir);
  }
});

function hubRun(dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
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
    ],
    { ATOLL_DATA_DIR: undefined },
    20_000,
  );
}

for (const [what, offset, size] of [
  ['the header overwritten (not a database)', 0, 100],
  ['a page in the middle overwritten', 4096, 4096],
] as const) {
  test(`${what}: the hub refuses to start with one line naming the file and atoll-hub restore`, { skip }, async () => {
    const hub = await startHub();
    hubs.push(hub);
    await rawJoin(hub, (await createToken(hub)).token, 'has-a-cert');
    const archive = join(dirname(hub.dataDir), 'before.atoll-backup');
    const secretFile = join(dirname(hub.dataDir), 'cluster-secret.copy');
    writeFileSync(secretFile, readFileSync(join(hub.dataDir, 'cluster-secret')), { mode: 0o600 });
    const b = await runCli(HUB_BIN, ['backup', 'create', '--data-dir', hub.dataDir, '--out', archive]);
    assert.equal(b.code, 0, b.stderr);
    const ca = hub.caPem();
    await stopProc(hub.proc);

    const dbPath = join(hub.dataDir, 'hub.db');
    const fd = openSync(dbPath, 'r+');
    writeSync(fd, randomBytes(size), 0, size, offset);
    closeSync(fd);
    const damaged = readFileSync(dbPath);

    const r = await hubRun(hub.dataDir);
    assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${r.stderr}`);
    assert.ok(lines[0].includes(dbPath), lines[0]);
    assert.match(lines[0], /damaged|corrupt|not a database/);
    assert.match(lines[0], /atoll-hub restore FILE --data-dir/);
    assert.doesNotMatch(r.stdout, /is running/);
    assert.ok(readFileSync(dbPath).equals(damaged), 'hub.db is left as it was');
    assert.equal(existsSync(join(hub.dataDir, 'hub.json')), false, 'it never ran');

    // What the message says to do works: the backup of before the damage, into a new data dir.
    const fresh = join(dirname(hub.dataDir), 'restored');
    const rr = await runCli(HUB_BIN, ['restore', archive, '--data-dir', fresh, '--cluster-secret-file', secretFile]);
    assert.equal(rr.code, 0, rr.stderr);
    assert.match(rr.stdout, /the cluster secret is in place \(copied\)/);
    const back = await startHub({ dataDir: fresh });
    hubs.push(back);
    assert.equal(back.caPem(), ca, 'the same CA');
    const nodes = await back.api<{ items: { name: string }[] }>('GET', '/v1/nodes');
    assert.deepEqual(
      nodes.body.items.map((n) => n.name),
      ['has-a-cert'],
    );
  });
}
