// The k3s server's token and CAs in a backup: sealed with the cluster secret, put back byte for byte
// (0600) by a restore with the same secret, refused with another secret or with a file name that
// would land outside the k3s server folder.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restoreK3sServerKeys, sealK3sServerKeys } from '../../../hub/backup/k3s-keys.js';
import { seal } from '../../../certs/sealed.js';

const work = mkdtempSync(join(tmpdir(), 'atoll-k3s-keys-'));
after(() => rmSync(work, { recursive: true, force: true }));
const key = { secret: randomBytes(32), source: 'test' };

function serverDir(name: string): string {
  const dir = join(work, name, 'server');
  mkdirSync(join(dir, 'tls'), { recursive: true });
  mkdirSync(join(dir, 'cred'), { recursive: true });
  mkdirSync(join(dir, 'db'), { recursive: true });
  writeFileSync(join(dir, 'token'), 'K10abc::server:pw\n');
  symlinkSync('token', join(dir, 'node-token'));
  writeFileSync(join(dir, 'tls', 'server-ca.key'), 'CA KEY');
  writeFileSync(join(dir, 'tls', 'server-ca.crt'), 'CA CERT');
  writeFileSync(join(dir, 'cred', 'admin.kubeconfig'), 'kubeconfig');
  writeFileSync(join(dir, 'db', 'state.db'), 'not a key');
  return dir;
}

test('the token, tls/ and cred/ are sealed and come back byte for byte, 0600; the datastore and links stay out', () => {
  const src = serverDir('src');
  const made = sealK3sServerKeys(src, key);
  assert.ok(made);
  assert.equal(made.files, 4);
  assert.ok(!made.sealed.includes(Buffer.from('CA KEY')), 'the CA key is not in the clear');
  const dst = join(work, 'dst', 'server');
  assert.equal(restoreK3sServerKeys(made.sealed, dst, key, 'a.atoll-backup'), 4);
  for (const f of ['token', 'tls/server-ca.key', 'tls/server-ca.crt', 'cred/admin.kubeconfig']) {
    assert.equal(readFileSync(join(dst, f), 'utf8'), readFileSync(join(src, f), 'utf8'), f);
    assert.equal(statSync(join(dst, f)).mode & 0o777, 0o600, f);
  }
  assert.equal(existsSync(join(dst, 'db')), false);
  assert.equal(existsSync(join(dst, 'node-token')), false);
});

test('no k3s server (no token): nothing to keep', () => {
  const dir = join(work, 'empty', 'server');
  mkdirSync(dir, { recursive: true });
  assert.equal(sealK3sServerKeys(dir, key), undefined);
});

test('another cluster secret does not open them, and a name outside the server folder is refused', () => {
  const made = sealK3sServerKeys(serverDir('src2'), key)!;
  const other = { secret: randomBytes(32), source: 'other' };
  assert.throws(
    () => restoreK3sServerKeys(made.sealed, join(work, 'x', 'server'), other, 'b.atoll-backup'),
    (e: Error & { code?: string }) =>
      e.code === 'BACKUP_CORRUPT' && /do not open with this cluster secret/.test(e.message),
  );
  for (const name of ['../escape', 'tls/../../escape', 'db/state.db', '/etc/passwd']) {
    const evil = seal(
      key,
      'backup',
      'k3s-server-keys',
      JSON.stringify({ [name]: Buffer.from('x').toString('base64') }),
    );
    assert.throws(
      () => restoreK3sServerKeys(evil, join(work, 'y', 'server'), key, 'c.atoll-backup'),
      (e: Error & { code?: string }) => e.code === 'BACKUP_CORRUPT' && /bad name/.test(e.message),
      name,
    );
  }
  assert.equal(existsSync(join(work, 'y', 'escape')), false);
  assert.equal(existsSync(join(work, 'escape')), false);
});
