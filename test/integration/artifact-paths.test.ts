// GET /v1/artifacts/k3s/{version}/{arch} over real mTLS with an enrolled node's certificate: names
// that are not a k3s version and an arch are refused (400 VALIDATION), whatever their spelling, and
// nothing outside the artifact folder is ever served; a real artifact still downloads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHub, removeDir, type HubHandle } from '../helpers/processes.js';
import { createToken, rawJoin, stopProc, type JoinedNode } from '../helpers/bad-input.js';

let hub: HubHandle | undefined;
after(async () => {
  await stopProc(hub?.proc, 3_000);
  if (hub) removeDir(hub.dataDir);
});

interface Got {
  status: number;
  body: Buffer;
  headers: Record<string, unknown>;
}

/** One GET on the gateway with the node's client certificate; `path` goes on the wire as written. */
function get(h: HubHandle, node: JoinedNode, path: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: h.gatewayPort,
        path,
        method: 'GET',
        ca: h.caPem(),
        cert: node.certPem,
        key: node.keyPem,
        servername: 'localhost',
        checkServerIdentity: () => undefined,
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

function plant(dir: string, content: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'k3s'), content);
  const sha = createHash('sha256').update(content).digest('hex');
  writeFileSync(join(dir, 'k3s.sha256'), `${sha}  k3s\n`);
  return sha;
}

test(
  'k3s artifact names that lead outside the artifact folder are refused in every spelling',
  { timeout: 60_000 },
  async () => {
    hub = await startHub();
    const h = hub;
    const node = await rawJoin(h, (await createToken(h)).token, 'downloader');
    const realSha = plant(join(h.dataDir, 'artifacts', 'k3s', 'v1.31.4+k3s1', 'amd64'), 'the real k3s binary');
    // Files named like an artifact, outside <data-dir>/artifacts: what a traversal would reach.
    const SECRET = 'not an artifact: outside the artifact folder';
    plant(join(h.dataDir, 'secret', 'amd64'), SECRET);
    plant(join(h.dataDir, 'artifacts', 'secret', 'amd64'), SECRET);

    const ok = await get(h, node, '/v1/artifacts/k3s/v1.31.4%2Bk3s1/amd64');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), 'the real k3s binary');
    assert.equal(ok.headers['x-checksum-sha256'], realSha);

    const attempts = [
      '/v1/artifacts/k3s/..%2F..%2Fsecret/amd64',
      '/v1/artifacts/k3s/%2e%2e%2f%2e%2e%2fsecret/amd64',
      '/v1/artifacts/k3s/%2E%2E%2F%2E%2E%2Fsecret/amd64',
      '/v1/artifacts/k3s/..%2Fsecret/amd64',
      '/v1/artifacts/k3s/v1.31.4+k3s1/..%2F..%2F..%2Fsecret%2Famd64',
      '/v1/artifacts/k3s/v1.31.4+k3s1/%2e%2e%2F%2e%2e%2F%2e%2e%2Fsecret%2Famd64',
      '/v1/artifacts/k3s/v1.31.4+k3s1/..',
      '/v1/artifacts/k3s/..%252F..%252Fsecret/amd64',
      '/v1/artifacts/k3s/..%5C..%5Csecret/amd64',
      '/v1/artifacts/k3s/%2Ftmp/amd64',
    ];
    for (const path of attempts) {
      const r = await get(h, node, path);
      assert.equal(r.status, 400, `${path}: ${r.status} ${r.body.toString().slice(0, 200)}`);
      const body = JSON.parse(r.body.toString()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'VALIDATION', path);
      assert.match(
        body.error.message,
        /is not a k3s version like v1\.31\.4\+k3s1|is not one of amd64, arm64, arm/,
        path,
      );
    }
    // Unencoded dot segments do not reach the route at all.
    for (const path of [
      '/v1/artifacts/k3s/../../secret/amd64',
      '/v1/artifacts/k3s/v1.31.4+k3s1/../../../secret/amd64',
    ]) {
      const r = await get(h, node, path);
      assert.notEqual(r.status, 200, path);
      assert.ok(!r.body.toString().includes(SECRET), `${path} served a file outside the artifact folder`);
    }
    // An unknown but well-formed name is a plain 404.
    const missing = await get(h, node, '/v1/artifacts/k3s/v1.30.0%2Bk3s1/arm64');
    assert.equal(missing.status, 404);
  },
);
