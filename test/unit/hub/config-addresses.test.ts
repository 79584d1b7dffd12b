// A hub behind a shared address: --public-url names the address every hub shares, --gateway-url this
// hub's own gateway, --tls-san further names. Every one of them is in the hub's serving certificate and
// in its k3s server's (--tls-san arguments); bad names are refused with a clear message.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHubConfig } from '../../../hub/config.js';
import { extraCertHosts } from '../../../hub/config-addresses.js';
import { serverArgs } from '../../../hub/k3s/server-args.js';
import { buildHubPki } from '../../../hub/pki/hub-pki.js';
import { ConfigError } from '../../../hub/errors.js';
import { certInfo, createCa, generateKeyPair } from '../../../certs/index.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const base = { dataDir: '/var/lib/atoll-test', publicUrl: 'https://hub.example.com:9444' };

/** The values of every `--tls-san` in a k3s command line. */
function sans(args: string[]): string[] {
  return args.flatMap((a, i) => (a === '--tls-san' ? [args[i + 1]] : []));
}

test('--gateway-url and --tls-san: the direct URL for welcomes, every name for both certificates', () => {
  const c = parseHubConfig(
    { ...base, gatewayUrl: 'https://198.51.100.7:9444/', tlsSan: ['api.example.com', '203.0.113.9,Hub2.Example.com'] },
    {},
    false,
  );
  assert.equal(c.publicUrl, 'https://hub.example.com:9444');
  assert.equal(c.gatewayUrl, 'https://198.51.100.7:9444');
  assert.deepEqual(c.tlsSans, ['api.example.com', '203.0.113.9', 'hub2.example.com']);
  assert.deepEqual(extraCertHosts(c), ['198.51.100.7', 'api.example.com', '203.0.113.9', 'hub2.example.com']);
  const args = serverArgs({
    dataDir: '/d',
    publicHost: 'hub.example.com',
    tlsSans: extraCertHosts(c),
    httpsPort: 6443,
    localAddresses: ['198.51.100.7'],
    extraArgs: [],
  });
  assert.deepEqual(sans(args), [
    'hub.example.com',
    '198.51.100.7',
    'api.example.com',
    '203.0.113.9',
    'hub2.example.com',
  ]);

  // Without the new flags: the direct URL is the public one, and k3s gets only the public host.
  const plain = parseHubConfig(base, {}, false);
  assert.equal(plain.gatewayUrl, plain.publicUrl);
  assert.deepEqual(extraCertHosts(plain), []);
  assert.deepEqual(
    sans(
      serverArgs({ dataDir: '/d', publicHost: 'hub.example.com', httpsPort: 6443, localAddresses: [], extraArgs: [] }),
    ),
    ['hub.example.com'],
  );
  // The environment, when no flag is given.
  const env = parseHubConfig(
    base,
    { ATOLL_GATEWAY_URL: 'https://10.0.0.5:9444', ATOLL_TLS_SAN: 'a.example, b.example' },
    false,
  );
  assert.equal(env.gatewayUrl, 'https://10.0.0.5:9444');
  assert.deepEqual(env.tlsSans, ['a.example', 'b.example']);
});

test('--tls-san and --gateway-url refuse what is not a name, an IP or an https URL', () => {
  for (const bad of ['hub example.com', 'https://hub.example.com', '-hub.example', 'a'.repeat(64) + '.example'])
    assert.throws(
      () => parseHubConfig({ ...base, tlsSan: [bad] }, {}, false),
      (err: Error) =>
        err instanceof ConfigError && /--tls-san .* must be a DNS name or an IP address/.test(err.message),
      bad,
    );
  const many = Array.from({ length: 33 }, (_, i) => `h${i}.example`);
  assert.throws(() => parseHubConfig({ ...base, tlsSan: many }, {}, false), /at most 32 names/);
  assert.throws(
    () => parseHubConfig({ ...base, gatewayUrl: 'http://10.0.0.5:9444' }, {}, false),
    /--gateway-url must be https/,
  );
  assert.throws(
    () => parseHubConfig({ ...base, gatewayUrl: 'not a url' }, {}, false),
    /--gateway-url "not a url" is not a URL/,
  );
});

test("the hub's serving certificate names the shared host, the direct host and every --tls-san", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atoll-sans-'));
  dirs.push(dir);
  const ca = await createCa({ commonName: 'atoll-hub-ca' });
  const keys = { servingKeyPem: (await generateKeyPair()).privateKeyPem, ticketKeys: Buffer.alloc(48, 1) };
  const c = parseHubConfig(
    { ...base, gatewayUrl: 'https://198.51.100.7:9444', tlsSan: ['api.example.com', '203.0.113.9'] },
    {},
    false,
  );
  const pki = await buildHubPki(dir, c.publicUrl, ca, keys, extraCertHosts(c));
  const info = certInfo(pki.serving.certPem);
  for (const n of ['hub.example.com', 'api.example.com']) assert.ok(info.dnsNames.includes(n), n);
  for (const ip of ['198.51.100.7', '203.0.113.9']) assert.ok(info.ipAddresses.includes(ip), ip);
  // A name added later: the certificate is re-issued at the next start (same key).
  const again = await buildHubPki(dir, c.publicUrl, ca, keys, [...extraCertHosts(c), 'later.example.com']);
  assert.ok(certInfo(again.serving.certPem).dnsNames.includes('later.example.com'));
  assert.equal(again.servingPin, pki.servingPin);
});
