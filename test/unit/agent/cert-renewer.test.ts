// The agent's certificate renewer (agent/cert-renewer.ts) against a real identity on disk and a real
// CA playing the hub: an unanswered request is asked again after a timeout, a refusal backs off, a
// dropped link asks again at once, every retry (also after a restart) uses the same key, and a
// certificate that cannot be stored is kept for later instead of taking the agent down.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createCa, type CaMaterial } from '../../../certs/ca.js';
import { generateKeyPair } from '../../../certs/keys.js';
import { issueClientCertForKey, signCsr } from '../../../certs/issue.js';
import { verifyCsr } from '../../../certs/csr.js';
import { publicKeySha256 } from '../../../certs/key-id.js';
import { certInfo } from '../../../certs/inspect.js';
import { saveIdentity, loadIdentity, type Identity } from '../../../agent/identity.js';
import { CertRenewer } from '../../../agent/cert-renewer.js';
import { createAgentLogger } from '../../../agent/logger.js';

let ca: CaMaterial | undefined;

async function setup(t: TestContext, lifetimeMs: number) {
  ca ??= await createCa({ commonName: 'test-ca' });
  const dir = mkdtempSync(join(tmpdir(), 'atoll-renewer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const key = await generateKeyPair();
  const cert = issueClientCertForKey(ca, key.publicKeyPem, { commonName: 'n1', validityMs: lifetimeMs, backdateMs: 0 });
  saveIdentity(
    dir,
    { nodeId: 'n1', nodeName: 'n1', pool: 'default', hubUrl: 'https://hub', joinedAt: new Date().toISOString() },
    { keyPem: key.privateKeyPem, certPem: cert.certPem, caPem: ca.certPem },
  );
  return { dir, ca };
}

function renewer(dir: string, opts: { now: () => number; up?: () => boolean; replyTimeoutMs?: number }) {
  const sent: string[] = [];
  const renewed: Identity[] = [];
  let identity = loadIdentity(dir);
  const r = new CertRenewer({
    dataDir: dir,
    logger: createAgentLogger('silent'),
    now: opts.now,
    random: () => 0,
    replyTimeoutMs: opts.replyTimeoutMs ?? 50,
    wakeUp: false,
    identity: () => identity,
    linkUp: () => opts.up?.() ?? true,
    send: (csr) => sent.push(csr) > 0,
    renewed: (id) => {
      identity = id;
      renewed.push(id);
    },
  });
  return { r, sent, renewed };
}

const keyOf = (csr: string): string => publicKeySha256(verifyCsr(csr).publicKeyPem);
const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

test('no answer: asked again after the timeout and backoff, with the same key; a dropped link asks again at once', async (t) => {
  const { dir } = await setup(t, 60_000);
  const clock = { now: Date.now() + 45_000 }; // past two thirds
  const { r, sent } = renewer(dir, { now: () => clock.now });
  await r.maybeRenew();
  assert.equal(sent.length, 1);
  await r.maybeRenew();
  assert.equal(sent.length, 1, 'one request in flight at a time');
  await sleep(120); // the reply timeout passes
  assert.equal(r.status().state, 'idle');
  assert.match(r.status().lastError ?? '', /did not answer/);
  await r.maybeRenew();
  assert.equal(sent.length, 1, 'backing off');
  clock.now += 2_000; // base backoff of a 60 s lifetime is 1.5 s (at most)
  await r.maybeRenew();
  assert.equal(sent.length, 2, 'asked again after the backoff');
  assert.equal(keyOf(sent[1]), keyOf(sent[0]), 'with the same key');
  r.linkDown();
  await r.maybeRenew();
  assert.equal(sent.length, 3, 'a dropped link: asked again right away');
  assert.equal(keyOf(sent[2]), keyOf(sent[0]));
  r.stop();

  // A restarted agent picks up the pending key from renew.key.
  const again = renewer(dir, { now: () => clock.now });
  await again.r.maybeRenew();
  assert.equal(keyOf(again.sent[0]), keyOf(sent[0]), 'the same key after a restart');
  again.r.stop();
});

test('a refusal backs off; the certificate is stored and the pending key dropped; a store failure is retried', async (t) => {
  const { dir, ca: theCa } = await setup(t, 60_000);
  const clock = { now: Date.now() + 45_000 };
  const { r, sent, renewed } = renewer(dir, { now: () => clock.now, replyTimeoutMs: 10_000 });
  await r.maybeRenew();
  r.onReply('', 'RENEW_TOO_EARLY', 'renewal opens at ...');
  assert.match(r.status().lastError ?? '', /RENEW_TOO_EARLY/);
  await r.maybeRenew();
  assert.equal(sent.length, 1, 'backing off after a refusal');
  clock.now += 2_000;
  await r.maybeRenew();
  assert.equal(sent.length, 2);

  // The identity cannot be written (a directory where the new key file must go): no throw, no
  // renewal, the key is kept, and the same certificate is stored on a later try.
  const issued = signCsr(theCa, sent[1], { commonName: 'n1', validityMs: 60_000 });
  const blocker = join(dir, `node-${certInfo(issued.certPem).serial}.key`);
  mkdirSync(join(blocker, 'x'), { recursive: true });
  r.onReply(issued.certPem, '', '');
  assert.equal(renewed.length, 0);
  assert.match(r.status().lastError ?? '', /could not store/);
  rmSync(blocker, { recursive: true });
  clock.now += 3_000;
  await r.maybeRenew();
  assert.equal(keyOf(sent[2]), keyOf(sent[1]), 'retried with the same key');
  r.onReply(issued.certPem, '', '');
  assert.equal(renewed.length, 1);
  assert.equal(loadIdentity(dir).certPem, issued.certPem);
  assert.equal(existsSync(join(dir, 'renew.key')), false, 'the pending key is gone');
  r.stop();
});

test('an answer with a certificate for another key is ignored', async (t) => {
  const { dir, ca: theCa } = await setup(t, 60_000);
  const { r, renewed } = renewer(dir, { now: () => Date.now() + 45_000, replyTimeoutMs: 10_000 });
  await r.maybeRenew();
  const other = await generateKeyPair();
  r.onReply(issueClientCertForKey(theCa, other.publicKeyPem, { commonName: 'n1', validityMs: 60_000 }).certPem, '', '');
  assert.equal(renewed.length, 0);
  r.stop();
});

test('it wakes up by itself when the renewal is due, not only on report ticks', async (t) => {
  const { dir } = await setup(t, 3_000); // due two seconds after the certificate arrived
  const sent: string[] = [];
  const r = new CertRenewer({
    dataDir: dir,
    logger: createAgentLogger('silent'),
    replyTimeoutMs: 10_000,
    identity: () => loadIdentity(dir),
    linkUp: () => true,
    send: (csr) => sent.push(csr) > 0,
    renewed: () => undefined,
  });
  t.after(() => r.stop());
  r.arm();
  assert.equal(sent.length, 0);
  const started = Date.now();
  while (sent.length === 0 && Date.now() - started < 5_000) await sleep(50);
  assert.equal(sent.length, 1, 'asked at the due time');
  assert.ok(Date.now() - started >= 1_500, 'not before it was due');
});
