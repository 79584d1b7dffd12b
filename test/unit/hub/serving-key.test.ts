// The hub's serving key outlives its certificate: a re-issue (new names, near expiry) keeps the key,
// so the --pinnedpubkey in install lines printed before still matches. The pin is what curl computes.
// (The key itself is kept sealed in the store: test/unit/hub/hub-secrets.test.ts.)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHubPki, type HubPki } from '../../../hub/pki/hub-pki.js';
import {
  createCa,
  generateKeyPair,
  issueServerCert,
  spkiPin,
  certInfo,
  type CaMaterial,
} from '../../../certs/index.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'atoll-pki-'));
  dirs.push(d);
  return d;
}

/** The CA and serving key as the store holds them (open-state.ts): made once, kept across starts. */
async function material(): Promise<{ ca: CaMaterial; keys: { servingKeyPem: string; ticketKeys: Buffer } }> {
  const ca = await createCa({ commonName: 'atoll-hub-ca' });
  const servingKeyPem = (await generateKeyPair()).privateKeyPem;
  return { ca, keys: { servingKeyPem, ticketKeys: Buffer.alloc(48, 1) } };
}

async function pkiFor(dir: string, url: string, m: Awaited<ReturnType<typeof material>>): Promise<HubPki> {
  return buildHubPki(dir, url, m.ca, m.keys);
}

/** The pin as the curl documentation computes it, with openssl. */
function opensslPin(certPem: string): string {
  const r = spawnSync(
    'sh',
    [
      '-c',
      'openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | openssl base64 -A',
    ],
    { input: certPem, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return `sha256//${r.stdout.trim()}`;
}

test(
  'the serving pin is the base64 SHA-256 of the key, as openssl (and curl) compute it',
  { skip: spawnSync('openssl', ['version']).status === 0 ? false : 'no openssl' },
  async () => {
    const pki = await pkiFor(dataDir(), 'https://hub.example.com:9444', await material());
    assert.match(pki.servingPin, /^sha256\/\/[A-Za-z0-9+/]{43}=$/);
    assert.equal(pki.servingPin, opensslPin(pki.serving.certPem));
    assert.equal(spkiPin(pki.serving.keyPem), pki.servingPin);
  },
);

test('a re-issued serving certificate (new names, near expiry) keeps the key and the pin', async () => {
  const dir = dataDir();
  const m = await material();
  const first = await pkiFor(dir, 'https://hub.example.com:9444', m);
  const again = await pkiFor(dir, 'https://hub.example.com:9444', m);
  assert.equal(again.serving.certPem, first.serving.certPem, 'nothing to renew: the same certificate');

  const renamed = await pkiFor(dir, 'https://other.example.net:9444', m);
  assert.notEqual(renamed.serving.certPem, first.serving.certPem, 'a new name re-issues the certificate');
  assert.ok(certInfo(renamed.serving.certPem).dnsNames.includes('other.example.net'));
  assert.equal(renamed.servingPin, first.servingPin, 'for the same key');
  assert.equal(renamed.serving.keyPem, first.serving.keyPem);

  // A certificate a day from expiry is renewed at start, for the same key.
  const expiring = await issueServerCert(first.ca, {
    commonName: 'atoll-hub',
    dnsNames: ['other.example.net'],
    ipAddresses: [],
    validityDays: 1,
    keyPem: first.serving.keyPem,
  });
  writeFileSync(join(dir, 'serving.crt'), expiring.certPem);
  const renewed = await pkiFor(dir, 'https://other.example.net:9444', m);
  assert.notEqual(renewed.serving.certPem, expiring.certPem);
  assert.ok(certInfo(renewed.serving.certPem).notAfter.getTime() - Date.now() > 300 * 86_400_000, 'renewed for a year');
  assert.equal(renewed.servingPin, first.servingPin);
  assert.equal(renewed.serving.keyPem, first.serving.keyPem, 'the same key');
  assert.equal(readFileSync(join(dir, 'serving.crt'), 'utf8'), renewed.serving.certPem);
  assert.equal(existsSync(join(dir, 'serving.key')), false, 'no private key file: the key lives in the store, sealed');
});
