#!/usr/bin/env node
// Builds the web dashboard into dist/hub/web: type-checks hub/web/src (DOM types), bundles it with
// esbuild, copies index.html and style.css.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/hub/web');
mkdirSync(out, { recursive: true });
const tsc = createRequire(pathToFileURL(join(root, 'package.json'))).resolve('typescript/bin/tsc');
const check = spawnSync(process.execPath, [tsc, '-p', join(root, 'hub/web/tsconfig.json')], { stdio: 'inherit' });
if (check.status !== 0) process.exit(check.status ?? 1);
await build({
  entryPoints: [join(root, 'hub/web/src/app.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'hub/web', f), join(out, f));
console.log(`web dashboard: ${out}`);
