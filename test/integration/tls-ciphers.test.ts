// Both hub listeners (API and gateway) offer TLS 1.3, and for TLS 1.2 only ECDHE key exchange with
// AEAD ciphers: `openssl s_client` with static-RSA key exchange or CBC/SHA-1 suites, or TLS 1.1, fails.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { startInProcessHub, type InProcessHub } from '../helpers/in-process-hub.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
let ip: InProcessHub | undefined;
after(async () => {
  await ip?.stop();
});

interface Handshake {
  ok: boolean;
  protocol?: string;
  cipher?: string;
  out: string;
}

/** One handshake with `openssl s_client` (async: the hub runs in this process). */
function handshake(port: number, args: string[]): Promise<Handshake> {
  return new Promise((resolve) => {
    const child = spawn(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-brief', ...args],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        ok: code === 0 && /CONNECTION ESTABLISHED/.test(out),
        protocol: /Protocol version: (\S+)/.exec(out)?.[1],
        cipher: /Ciphersuite: (\S+)/.exec(out)?.[1],
        out,
      });
    });
  });
}

test(
  'API and gateway: TLS 1.2 only with ECDHE and AEAD suites, TLS 1.3 on, TLS 1.1 off',
  { skip: hasOpenssl ? false : 'openssl is not installed', timeout: 60_000 },
  async () => {
    ip = await startInProcessHub();
    const listeners = {
      api: (ip.hub.api.server.address() as { port: number }).port,
      gateway: (ip.hub.gateway.server.address() as { port: number }).port,
    };
    for (const [name, port] of Object.entries(listeners)) {
      const good = await handshake(port, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256']);
      assert.ok(good.ok, `${name}: ECDHE-RSA-AES128-GCM-SHA256 refused:\n${good.out}`);
      assert.equal(good.protocol, 'TLSv1.2');
      assert.equal(good.cipher, 'ECDHE-RSA-AES128-GCM-SHA256');
      const chacha = await handshake(port, ['-tls1_2', '-cipher', 'ECDHE-RSA-CHACHA20-POLY1305']);
      assert.ok(chacha.ok, `${name}: ECDHE-RSA-CHACHA20-POLY1305 refused`);

      // Static RSA key exchange (no forward secrecy), CBC with SHA-1 or SHA-2, with or without ECDHE.
      for (const weak of [
        'AES128-SHA',
        'AES256-SHA',
        'AES128-GCM-SHA256',
        'AES256-SHA256',
        'ECDHE-RSA-AES128-SHA',
        'ECDHE-RSA-AES256-SHA384',
        'DHE-RSA-AES128-GCM-SHA256',
      ]) {
        const r = await handshake(port, ['-tls1_2', '-cipher', weak]);
        assert.equal(r.ok, false, `${name}: TLS 1.2 with ${weak} was accepted (${r.cipher})`);
      }
      // A client offering everything still gets a forward-secret AEAD suite (server order).
      const any = await handshake(port, ['-tls1_2', '-cipher', 'ALL:@SECLEVEL=0']);
      assert.ok(any.ok);
      assert.match(any.cipher ?? '', /^ECDHE-(RSA|ECDSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);

      const v13 = await handshake(port, ['-tls1_3']);
      assert.ok(v13.ok, `${name}: TLS 1.3 refused:\n${v13.out}`);
      assert.equal(v13.protocol, 'TLSv1.3');
      // SECLEVEL=0 so that it is the hub, not this openssl, that refuses TLS 1.1.
      const v11 = await handshake(port, ['-tls1_1', '-cipher', 'ALL:@SECLEVEL=0']);
      assert.equal(v11.ok, false, `${name}: TLS 1.1 was accepted`);
    }
  },
);
