#!/usr/bin/env node
// Bundles the k3s stand-in (test/k3s-standin) into one self-contained executable file.
// Usage: node scripts/build-standin.mjs [--version v1.31.4+k3s1] [--out dist/k3s-standin/k3s] [--broken]
// The file runs from anywhere (no relative files at run time), as CommonJS or ESM scope alike:
// node built-ins are loaded with process.getBuiltinModule (Node >= 20.16).
import { build } from 'esbuild';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function buildStandin({
  version = 'v1.31.4+k3s1',
  out = join(root, 'dist/k3s-standin/k3s'),
  broken = false,
} = {}) {
  if (!/^v\d+\.\d+\.\d+(-rc\d+)?\+k3s\d+$/.test(version)) throw new Error(`not a k3s version: ${version}`);
  const outfile = resolve(out);
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [join(root, 'test/k3s-standin/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'iife',
    minify: false,
    legalComments: 'none',
    logLevel: 'warning',
    banner: { js: 'var require = (m) => process.getBuiltinModule(m);' },
    define: {
      __K3S_STANDIN_VERSION__: JSON.stringify(version),
      __K3S_STANDIN_BROKEN__: JSON.stringify(Boolean(broken)),
    },
  });
  chmodSync(outfile, 0o755);
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { version: { type: 'string' }, out: { type: 'string' }, broken: { type: 'boolean' } },
  });
  try {
    const file = await buildStandin({
      ...(values.version ? { version: values.version } : {}),
      ...(values.out ? { out: values.out } : {}),
      broken: Boolean(values.broken),
    });
    console.log(file);
  } catch (e) {
    console.error(`build-standin: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  }
}
