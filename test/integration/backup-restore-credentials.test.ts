// A restore does not bring back credentials quietly: a single-use join token used after the backup
// (its use count rolls back with the restore) no longer works, every join token outstanding at backup
// time is revoked, and the output lists the API tokens that came back; backup.restored records it all.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HUB_BIN, removeDir, runCli, startHub, type HubHandle } from '../helpers/processes.js';
import { createToken, gatewayCall, joinBody, keyAndCsr, rawJoin, stopProc } from '../helpers/bad-input.js';
import { sqliteOnly } from '../helpers/test-datastore.js';

const skip = sqliteOnly('the restored hub runs on the hub.db of the archive');
const hubs: HubHandle[] = [];
after(async () => {
  for (const h of hubs) await stopProc(h.proc);
  if (hubs[0]) removeDir(hubs[0].dataDir);
});

test(
  'after a restore, join tokens of the backup are revoked and the API tokens back are listed',
  { skip },
  async () => {
    const hub = await startHub();
    hubs.push(hub);
    const work = dirname(hub.dataDir);
    const single = await createToken(hub);
    const apiToken = await hub.api<{ id: string }>('POST', '/v1/api-tokens', {
      role: 'read-only',
      description: 'grafana',
    });
    assert.equal(apiToken.status, 201);
    const pass = join(work, 'passphrase');
    writeFileSync(pass, 'credentials passphrase\n', { mode: 0o600 });
    const archive = join(work, 'creds.atoll-backup');
    const made = await runCli(HUB_BIN, [
      'backup',
      'create',
      '--data-dir',
      hub.dataDir,
      '--passphrase-file',
      pass,
      '--out',
      archive,
    ]);
    assert.equal(made.code, 0, made.stderr);
    await rawJoin(hub, single.token, 'after-backup'); // the single use, after the backup

    const restored = join(work, 'restored');
    const r = await runCli(HUB_BIN, ['restore', archive, '--data-dir', restored, '--passphrase-file', pass]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /join tokens outstanding at the backup: \d+ revoked/);
    assert.match(r.stdout, new RegExp(`API tokens back in force .*:\\n  ${apiToken.body.id} read-only "grafana"`));

    const again = await startHub({ dataDir: restored });
    hubs.push(again);
    const k = await keyAndCsr('replayed');
    const replay = await gatewayCall(again, 'POST', '/v1/join', joinBody(single.token, k.csr, 'replayed'));
    assert.notEqual(replay.status, 201, 'the used single-use token does not work again');
    const events = await again.api<{
      items: { data: { createdAt: string; joinTokensRevoked: string[]; apiTokens: string[] } }[];
    }>('GET', '/v1/events?type=backup.restored&limit=10');
    const data = events.body.items[0]?.data;
    assert.ok(data?.joinTokensRevoked.includes(single.id), JSON.stringify(data));
    assert.deepEqual(data?.apiTokens, [apiToken.body.id]);
    assert.ok(data?.createdAt, 'the restore point');
  },
);
