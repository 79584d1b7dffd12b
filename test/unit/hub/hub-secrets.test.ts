// The hub's secrets at start (hub/open-state.ts): made and sealed into the store at a first start,
// imported once from a data dir of the old layout, and refused (nothing written) when the cluster
// secret does not open them. Real SQLite files, real keys; the hub process itself is in
// test/integration/store-secrets.test.ts.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { openHubState, type HubState } from '../../../hub/open-state.js';
import { createLogger } from '../../../hub/logger.js';
import { CA_PIN_SETTING, openSqliteStore } from '../../../hub/store/index.js';
import { ConfigError } from '../../../hub/errors.js';
import { parseHubConfig } from '../../../hub/config.js';
import { SealError } from '../../../certs/sealed.js';
import { caPin, createCa, generateKeyPair, spkiPin } from '../../../certs/index.js';
import { openNodeToken } from '../../../hub/k3s/node-token-seal.js';
import { enrollInput, tempDir, token } from '../store/helpers.js';

const logger = createLogger('silent');

async function open(
  dataDir: string,
  over: { clusterSecretFile?: string; reinitStore?: boolean } = {},
): Promise<HubState> {
  return openHubState({
    dataDir,
    publicUrl: 'https://127.0.0.1:9444',
    reinitStore: over.reinitStore ?? false,
    clusterSecretFile: over.clusterSecretFile ?? join(dataDir, 'cluster-secret'),
    logger,
  });
}

function dataDir(t: TestContext): string {
  const d = join(tempDir(t), 'data');
  mkdirSync(d, { mode: 0o700 });
  return d;
}

async function openedThenClosed(dir: string, over: Parameters<typeof open>[1] = {}): Promise<HubState> {
  const s = await open(dir, over);
  await s.store.close();
  return s;
}

const mode = (p: string): number => statSync(p).mode & 0o777;

/** A table's rows, for "nothing was written". */
async function dump(dir: string): Promise<string> {
  const store = await openSqliteStore({ path: join(dir, 'hub.db') });
  const out = JSON.stringify([
    await store.getSecret('ca'),
    await store.getSecret('serving-key'),
    await store.getSetting(CA_PIN_SETTING),
  ]);
  await store.close();
  return out;
}

test('a first start makes the cluster secret (0600) and seals every key into the store; no key files', async (t) => {
  const dir = dataDir(t);
  const s = await openedThenClosed(dir);
  assert.equal(s.clusterSecret.created, true);
  assert.equal(mode(join(dir, 'cluster-secret')), 0o600);
  assert.match(readFileSync(join(dir, 'cluster-secret'), 'utf8'), /^[0-9a-f]{64}\n$/);
  assert.equal(s.pki.created, true);
  assert.equal(readFileSync(join(dir, 'ca.crt'), 'utf8'), s.pki.ca.certPem);
  for (const f of ['ca.key', 'serving.key', 'tls-ticket-keys']) assert.equal(existsSync(join(dir, f)), false, f);
  assert.equal(s.pki.ticketKeys.length, 48);
  assert.match(s.k3sServerToken, /^[0-9a-f]{64}$/);

  // The next start reads them back from the store: the same CA, serving key, ticket keys and k3s token.
  const again = await openedThenClosed(dir);
  assert.equal(again.clusterSecret.created, false);
  assert.equal(again.pki.created, false);
  assert.equal(again.pki.ca.keyPem, s.pki.ca.keyPem);
  assert.equal(again.pki.servingPin, s.pki.servingPin);
  assert.deepEqual(again.pki.ticketKeys, s.pki.ticketKeys);
  assert.equal(again.k3sServerToken, s.k3sServerToken);
});

test('the old layout is imported once: same CA, serving key, ticket keys, k3s token; the files are left as they were', async (t) => {
  const dir = dataDir(t);
  const ca = await createCa({ commonName: 'atoll-hub-ca' });
  const servingKey = (await generateKeyPair()).privateKeyPem;
  const ticketKeys = randomBytes(48);
  const k3sToken = `K10${'ab'.repeat(32)}::server:0123456789abcdef0123456789abcdef`;
  writeFileSync(join(dir, 'ca.crt'), ca.certPem, { mode: 0o644 });
  writeFileSync(join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'serving.key'), servingKey, { mode: 0o600 });
  writeFileSync(join(dir, 'tls-ticket-keys'), ticketKeys, { mode: 0o600 });
  mkdirSync(join(dir, 'k3s', 'server'), { recursive: true });
  writeFileSync(join(dir, 'k3s', 'server', 'token'), `${k3sToken}\n`, { mode: 0o600 });
  // The old hub's store: bound to the CA, a node, and its k3s bootstrap token in plaintext.
  const old = await openSqliteStore({ path: join(dir, 'hub.db') });
  await old.setSetting(CA_PIN_SETTING, caPin(ca.certPem));
  await old.createToken(token('t1', { maxUses: null }));
  assert.equal(await old.enroll(enrollInput('t1', 'n1')), 'ok');
  await old.claimK3sToken('n1', { id: 'abcdef', token: 'K10xyz::abcdef.0123456789abcdef' });
  await old.close();
  const files = Object.fromEntries(readdirSync(dir).map((f) => [f, existsSync(join(dir, f))]));

  const s = await open(dir);
  try {
    assert.equal(s.pki.created, false);
    assert.equal(s.pki.ca.certPem, ca.certPem);
    assert.equal(s.pki.ca.keyPem, ca.keyPem);
    assert.equal(s.pki.servingPin, spkiPin(servingKey));
    assert.deepEqual(s.pki.ticketKeys, ticketKeys);
    assert.equal(s.k3sServerToken, k3sToken);
    // The node's k3s token is sealed in place and still opens to what the node was given.
    const stored = await s.store.getK3sToken('n1');
    assert.match(stored?.token ?? '', /^sealed:/);
    assert.equal(stored?.token.includes('0123456789abcdef'), false);
    assert.equal(openNodeToken(s.clusterSecret, 'n1', stored!.token), 'K10xyz::abcdef.0123456789abcdef');
  } finally {
    await s.store.close();
  }
  assert.equal(readFileSync(join(dir, 'ca.key'), 'utf8'), ca.keyPem, 'ca.key is left as it was');
  for (const f of Object.keys(files)) assert.ok(existsSync(join(dir, f)), `${f} is still there`);

  // A ca.key of another CA beside the store is refused; the store's CA is the hub's.
  const foreign = await createCa({ commonName: 'atoll-hub-ca' });
  writeFileSync(join(dir, 'ca.key'), foreign.keyPem);
  await assert.rejects(open(dir), /ca\.key is another CA's key than the one .*hub\.db holds/);
  // From now on the store is the source of truth: without the old files, the same keys.
  for (const f of ['ca.key', 'serving.key', 'tls-ticket-keys']) rmSync(join(dir, f));
  const after = await openedThenClosed(dir);
  assert.equal(after.pki.ca.keyPem, ca.keyPem);
  assert.equal(after.pki.servingPin, spkiPin(servingKey));
  assert.deepEqual(after.pki.ticketKeys, ticketKeys);
});

test('an unreadable serving.key of the old layout is not imported: a new serving key', async (t) => {
  const dir = dataDir(t);
  const ca = await createCa({ commonName: 'atoll-hub-ca' });
  writeFileSync(join(dir, 'ca.crt'), ca.certPem);
  writeFileSync(join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'serving.key'), 'garbage\n', { mode: 0o600 });
  const old = await openSqliteStore({ path: join(dir, 'hub.db') });
  await old.setSetting(CA_PIN_SETTING, caPin(ca.certPem));
  await old.close();
  const s = await openedThenClosed(dir);
  assert.equal(s.pki.ca.keyPem, ca.keyPem);
  assert.match(s.pki.servingPin, /^sha256\/\/[A-Za-z0-9+/]{43}=$/);
  assert.equal(spkiPin(s.pki.serving.certPem), s.pki.servingPin);
});

test('another cluster secret: CLUSTER_SECRET_MISMATCH with the fix, and nothing is written', async (t) => {
  const dir = dataDir(t);
  await openedThenClosed(dir);
  const before = await dump(dir);
  const other = join(dir, '..', 'other-secret');
  writeFileSync(other, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  await assert.rejects(open(dir, { clusterSecretFile: other }), (err: Error) => {
    assert.ok(err instanceof SealError);
    assert.equal(err.code, 'CLUSTER_SECRET_MISMATCH');
    assert.match(err.message, /the cluster secret file .*other-secret does not match the one .*hub\.db was made with/);
    assert.match(err.message, /--cluster-secret-file/);
    assert.match(err.message, /Nothing was changed/);
    return true;
  });
  assert.equal(await dump(dir), before);

  // A missing file beside a sealed store is refused too, and not made.
  await assert.rejects(open(dir, { clusterSecretFile: join(dir, 'nope') }), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /holds the hub's CA sealed with a cluster secret, but .*nope does not exist/);
    return true;
  });
  assert.equal(existsSync(join(dir, 'nope')), false);
  assert.equal(await dump(dir), before);
});

test('a cluster secret file others may read, or that is not one, is refused', async (t) => {
  const dir = dataDir(t);
  const file = join(dir, 'cluster-secret');
  writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o644 });
  chmodSync(file, 0o644);
  await assert.rejects(open(dir), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'INSECURE_PERMISSIONS');
    assert.ok(err.message.includes(`chmod 600 ${file}`));
    return true;
  });
  assert.equal(mode(file), 0o644, 'not quietly changed');
  chmodSync(file, 0o600);
  writeFileSync(file, 'not hex\n');
  await assert.rejects(open(dir), /is not an atoll cluster secret \(64 hex digits/);
  writeFileSync(file, `${randomBytes(32).toString('hex')}\n`);
  // A key file of the old layout left beside it is refused as well while others may read it.
  writeFileSync(join(dir, 'ca.key'), 'old\n', { mode: 0o644 });
  chmodSync(join(dir, 'ca.key'), 0o644);
  await assert.rejects(open(dir), (err: Error & { code?: string }) => err.code === 'INSECURE_PERMISSIONS');
  rmSync(join(dir, 'ca.key'));
  // A secret of the operator's own making (openssl rand -hex 32) is taken as it is.
  const own = randomBytes(32).toString('hex').toUpperCase();
  writeFileSync(file, own);
  const s = await openedThenClosed(dir);
  assert.equal(s.clusterSecret.created, false);
  assert.deepEqual(s.clusterSecret.secret, Buffer.from(own, 'hex'));
});

test('--cluster-secret-file: the flag, else ATOLL_CLUSTER_SECRET_FILE, else <data-dir>/cluster-secret', () => {
  const base = { dataDir: '/srv/atoll', publicUrl: 'https://hub.example.com:9444' };
  assert.equal(parseHubConfig(base, {}, false).clusterSecretFile, '/srv/atoll/cluster-secret');
  assert.equal(
    parseHubConfig(base, { ATOLL_CLUSTER_SECRET_FILE: '/etc/atoll/secret' }, false).clusterSecretFile,
    '/etc/atoll/secret',
  );
  assert.equal(
    parseHubConfig({ ...base, clusterSecretFile: '/run/s' }, { ATOLL_CLUSTER_SECRET_FILE: '/etc/x' }, false)
      .clusterSecretFile,
    '/run/s',
  );
  assert.throws(() => parseHubConfig({ ...base, clusterSecretFile: ' ' }, {}, false), /must name a file/);
});
