// The hub's serving key outlives its certificate: a re-issue (new names, near expiry) keeps the key,
// so the --pinnedpubkey in install lines printed before still matches. The pin is what curl computes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreatePki } from '../../../hub/pki/hub-pki.js';
import { issueServerCert, spkiPin, certInfo } from '../../../certs/index.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'atoll-pki-'));
  dirs.push(d);
  return d;
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
    const pki = await loadOrCreatePki(dataDir(), 'https://hub.example.com:9444');
    assert.match(pki.servingPin, /^sha256\/\/[A-Za-z0-9+/]{43}=$/);
    assert.equal(pki.servingPin, opensslPin(pki.serving.certPem));
    assert.equal(spkiPin(pki.serving.keyPem), pki.servingPin);
  },
);

test('a re-issued serving certificate (new names, near expiry) keeps the key and the pin', async () => {
  const dir = dataDir();
  const first = await loadOrCreatePki(dir, 'https://hub.example.com:9444');
  const again = await loadOrCreatePki(dir, 'https://hub.example.com:9444');
  assert.equal(again.serving.certPem, first.serving.certPem, 'nothing to renew: the same certificate');

  const renamed = await loadOrCreatePki(dir, 'https://other.example.net:9444');
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
  const renewed = await loadOrCreatePki(dir, 'https://other.example.net:9444');
  assert.notEqual(renewed.serving.certPem, expiring.certPem);
  assert.ok(certInfo(renewed.serving.certPem).notAfter.getTime() - Date.now() > 300 * 86_400_000, 'renewed for a year');
  assert.equal(renewed.servingPin, first.servingPin);
  assert.equal(readFileSync(join(dir, 'serving.key'), 'utf8'), first.serving.keyPem, 'serving.key was not rewritten');
});

test('an unreadable serving key is replaced (a new pin), not fatal', async () => {
  const dir = dataDir();
  const first = await loadOrCreatePki(dir, 'https://hub.example.com:9444');
  writeFileSync(join(dir, 'serving.key'), 'garbage\n', { mode: 0o600 });
  const next = await loadOrCreatePki(dir, 'https://hub.example.com:9444');
  assert.notEqual(next.servingPin, first.servingPin);
  assert.equal(spkiPin(readFileSync(join(dir, 'serving.key'), 'utf8')), next.servingPin);
});
