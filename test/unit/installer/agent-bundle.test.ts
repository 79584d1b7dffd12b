// The agent bundle the hub serves: one file with a node shebang, its SHA-256 in the manifest, no
// hub code in it, and it runs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packagePaths } from '../../../hub/installer/package-files.js';
import { readAgentBundle } from '../../../hub/installer/served-artifacts.js';

const dir = packagePaths().agentArtifactsDir;
const file = join(dir, 'atoll-agent.mjs');
const built = existsSync(file);
const skip = built ? false : 'no agent bundle: run npm run build';

test('the bundle is one executable file with a node shebang and a matching SHA-256', { skip }, () => {
  const body = readFileSync(file);
  assert.ok(body.subarray(0, 20).toString().startsWith('#!/usr/bin/env node\n'));
  assert.ok((statSync(file).mode & 0o111) !== 0, 'executable');
  const sha = createHash('sha256').update(body).digest('hex');
  assert.equal(readFileSync(`${file}.sha256`, 'utf8'), `${sha}  atoll-agent.mjs\n`);
  const b = readAgentBundle(dir);
  assert.ok(b);
  assert.equal(b.sha256, sha);
  assert.equal(b.size, body.length);
  assert.match(b.urlPath, /^\/v1\/artifacts\/agent\/[0-9A-Za-z.+-]+\/atoll-agent\.mjs$/);
});

test('the bundle carries no hub code and no hub-only package', { skip }, () => {
  const text = readFileSync(file, 'utf8');
  for (const needle of ['better-sqlite3', 'fastify', '@kubernetes/client-node', 'prom-client', 'hub/']) {
    assert.ok(!text.includes(needle), `the agent bundle contains "${needle}"`);
  }
  // esbuild names each module it takes in: only agent/, certs/, proto/ and node_modules/.
  const modules = [...text.matchAll(/^\/\/ (\S+\.(?:ts|js|mjs|cjs|json))$/gm)].map((m) => m[1]);
  assert.ok(modules.length > 10);
  const ours = modules.filter((m) => !m.startsWith('node_modules/'));
  assert.deepEqual(
    ours.filter((m) => !/^(agent|certs|proto)\//.test(m)),
    [],
  );
});

test('the bundle runs on its own: --version and status', { skip }, () => {
  const pkg = JSON.parse(readFileSync(join(dir, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
  const v = spawnSync(process.execPath, [file, '--version'], { encoding: 'utf8', cwd: '/' });
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim(), pkg.version);
  const s = spawnSync(process.execPath, [file, 'status', '--data-dir', '/nonexistent-atoll'], {
    encoding: 'utf8',
    cwd: '/',
  });
  assert.equal(s.status, 1);
  assert.match(s.stderr, /no identity in \/nonexistent-atoll/);
});
