// Certificate renewal (hub/nodes/cert-renewal.ts) on a real SQLite store and a real CA, with a
// clock the test moves: the window, one spare per node, the same key getting the same certificate,
// a spare written off once stale, the replaced certificate revoked on first use, and a renewal that
// lands after the node's removal stored revoked.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { openSqliteStore, type CertRecord } from '../../../hub/store/index.js';
import { createEventLog } from '../../../hub/events.js';
import { createLogger } from '../../../hub/logger.js';
import { CertRenewal, type RenewReply } from '../../../hub/nodes/cert-renewal.js';
import { createCa, type CaMaterial } from '../../../certs/ca.js';
import { issueClientCertForKey } from '../../../certs/issue.js';
import { generateKeyPair } from '../../../certs/keys.js';
import { createCsr } from '../../../certs/csr.js';
import { enrollInput, tempDir, token, iso } from '../store/helpers.js';

const TTL = 40 * 60_000; // window opens at 20 min, a spare is held 10 min
// Near real time: the CA stamps issued certificates with the real clock.
const T0 = Math.floor(Date.now() / 1000) * 1000;

let ca: CaMaterial | undefined;
async function theCa(): Promise<CaMaterial> {
  ca ??= await createCa({ commonName: 'test-ca' });
  return ca;
}

async function setup(t: TestContext) {
  const store = await openSqliteStore({ path: join(tempDir(t), 'hub.db') });
  t.after(() => store.close());
  const clock = { now: T0 };
  const logger = createLogger('silent');
  const renewal = new CertRenewal({
    store,
    ca: await theCa(),
    events: createEventLog(store, logger),
    logger,
    ttlMs: TTL,
    now: () => clock.now,
    rateLimit: { perMinute: 1000, burst: 1000 },
  });
  await store.createToken(token('tok', { maxUses: null, expiresAt: iso(T0 + 10 * TTL) }));
  const input = enrollInput('tok', 'n1', iso(T0));
  const current: CertRecord = {
    ...input.cert,
    notBefore: iso(T0 - 3_600_000),
    notAfter: iso(T0 + TTL),
    issuedAt: iso(T0),
  };
  assert.equal(await store.enroll({ ...input, cert: current }), 'ok');
  return { store, clock, renewal, current };
}

async function csrFor(nodeId: string): Promise<{ keyPem: string; csr: string }> {
  const { privateKeyPem } = await generateKeyPair();
  return { keyPem: privateKeyPem, csr: createCsr(privateKeyPem, nodeId) };
}

const serialOf = (pem: string): string => new X509Certificate(pem).serialNumber.toLowerCase().replace(/^0+/, '');
const certOf = (r: RenewReply): string =>
  'certPem' in r ? r.certPem : assert.fail(`refused: ${r.errorCode} ${r.message}`);
const codeOf = (r: RenewReply): string => ('errorCode' in r ? r.errorCode : 'ISSUED');

test('renewal only inside the window; one spare; the same key gets the same certificate', async (t) => {
  const { store, clock, renewal, current } = await setup(t);
  const a = await csrFor('n1');
  const b = await csrFor('n1');
  clock.now = T0 + TTL / 2 - 1000;
  const early = await renewal.overLink('n1', current, a.csr);
  assert.equal(codeOf(early), 'RENEW_TOO_EARLY');
  assert.match((early as { message: string }).message, new RegExp(`opens at ${iso(T0 + TTL / 2).slice(0, 19)}`));

  clock.now = T0 + TTL / 2 + 1000;
  const first = certOf(await renewal.overLink('n1', current, a.csr));
  assert.equal(
    certOf(await renewal.overLink('n1', current, a.csr)),
    first,
    'a retry with the same key gets the same certificate',
  );
  const other = await renewal.overLink('n1', current, b.csr);
  assert.equal(codeOf(other), 'RENEW_PENDING');
  assert.match((other as { message: string }).message, /has not been used yet/);
  assert.equal((await store.listCerts('n1')).length, 2);

  // Ten minutes on, the unused spare is written off: revoked and replaced by one for the new key.
  clock.now += 10 * 60_000 + 1000;
  const second = certOf(await renewal.overLink('n1', current, b.csr));
  const certs = await store.listCerts('n1');
  assert.equal(certs.length, 3);
  assert.ok(certs.find((c) => c.serial === serialOf(first))?.revokedAt, 'the stale spare is revoked');
  assert.equal(certs.filter((c) => !c.revokedAt).length, 2, 'still one current and one spare');

  // The node connects with the new one: the certificate it replaces is revoked.
  await renewal.inUse('n1', serialOf(second));
  const after = await store.listCerts('n1');
  assert.ok(after.find((c) => c.serial === current.serial)?.revokedAt);
  assert.ok(after.find((c) => c.serial === serialOf(second))?.usedAt);
  // A renewal with the old (now revoked) certificate is refused.
  assert.equal(codeOf(await renewal.overLink('n1', current, a.csr)), 'CERT_REVOKED');
});

test('renewal of a node removed meanwhile is refused, and what was issued is stored revoked', async (t) => {
  const { store, clock, renewal, current } = await setup(t);
  clock.now = T0 + TTL;
  const a = await csrFor('n1');
  await store.deleteNode('n1', iso(clock.now));
  assert.equal(codeOf(await renewal.overLink('n1', current, a.csr)), 'CERT_REVOKED');
  // The race itself, at the store: the certificate is signed before the removal and stored after it.
  const late = {
    serial: 'late',
    nodeId: 'n1',
    notBefore: iso(clock.now),
    notAfter: iso(clock.now + TTL),
    fingerprint: 'fp',
    revokedAt: null,
    issuedAt: iso(clock.now),
    publicKeySha256: null,
    certPem: null,
  };
  assert.equal(await store.issueNodeCert(late, iso(clock.now)), 'node-missing');
  assert.equal((await store.getCert('late'))?.revokedAt, iso(clock.now));
});

test('a bad CSR, a CSR for another node, and a node over its rate are refused with clear codes', async (t) => {
  const { clock, renewal, current } = await setup(t);
  clock.now = T0 + TTL;
  assert.equal(codeOf(await renewal.overLink('n1', current, 'not a csr')), 'CSR_INVALID');
  const other = await csrFor('n2');
  const r = await renewal.overLink('n1', current, other.csr);
  assert.equal(codeOf(r), 'CSR_INVALID');
  assert.match((r as { message: string }).message, /not the node id n1/);
  const limited = new CertRenewal({
    store: (renewal as unknown as { opts: { store: never } }).opts.store,
    ca: await theCa(),
    events: createEventLog((renewal as unknown as { opts: { store: never } }).opts.store, createLogger('silent')),
    logger: createLogger('silent'),
    ttlMs: TTL,
    now: () => clock.now,
    rateLimit: { perMinute: 6, burst: 2 },
  });
  const codes = [];
  for (let i = 0; i < 4; i++) codes.push(codeOf(await limited.overLink('n1', current, 'garbage')));
  assert.deepEqual(codes, ['CSR_INVALID', 'CSR_INVALID', 'RATE_LIMITED', 'RATE_LIMITED']);
});

test('an ordered rotation opens renewal early over the link only; recovery over HTTPS with the old key waits for the window', async (t) => {
  const { store, clock, renewal } = await setup(t);
  const ca = await theCa();
  const old = await generateKeyPair();
  const issued = issueClientCertForKey(ca, old.publicKeyPem, { commonName: 'n2', validityMs: TTL, nowMs: T0 });
  const rec: CertRecord = {
    serial: issued.serial,
    nodeId: 'n2',
    notBefore: iso(issued.notBefore.getTime()),
    notAfter: iso(issued.notAfter.getTime()),
    fingerprint: issued.fingerprint,
    revokedAt: null,
    issuedAt: iso(T0),
  };
  assert.equal(await store.enroll({ ...enrollInput('tok', 'n2', iso(T0)), cert: rec }), 'ok');
  clock.now = T0 + 60_000;
  await store.addCommand({
    id: 'cmd-rotate',
    nodeId: 'n2',
    action: 'rotate-cert',
    args: {},
    actor: 'admin',
    state: 'pending',
    createdAt: iso(clock.now),
    expiresAt: iso(clock.now + 3_600_000),
    sentCount: 0,
    result: null,
  });
  // Whoever holds the old key (it may be why the rotation was ordered) gets nothing early over HTTPS.
  await assert.rejects(renewal.recover(issued.certPem, createCsr(old.privateKeyPem, 'n2')), {
    code: 'RENEW_TOO_EARLY',
  });
  // The agent on its live link gets its new certificate at once.
  const fresh = await csrFor('n2');
  assert.equal(codeOf(await renewal.overLink('n2', rec, fresh.csr)), 'ISSUED');
});
