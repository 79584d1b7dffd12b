#!/usr/bin/env node
// Builds the agent the hub serves to new servers: one ESM file with a node shebang (esbuild), its
// SHA-256 and a manifest, under dist/artifacts/agent/. It must carry no hub code: the build fails
// when the bundle's inputs include anything under hub/ or a hub-only package.
// Usage: node scripts/build-agent-bundle.mjs [--out DIR] [--version V]
//   --version V   bake in another agent version (a release, or a test's "next version")
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outArg = process.argv.indexOf('--out');
const outDir = outArg > 0 ? process.argv[outArg + 1] : join(root, 'dist', 'artifacts', 'agent');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const versionArg = process.argv.indexOf('--version');
const version = versionArg > 0 ? process.argv[versionArg + 1] : pkg.version;
if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version ?? '')) {
  console.error(`build-agent-bundle: "${version}" is not a version like 0.2.0`);
  process.exit(2);
}

/** Packages only the hub uses: finding one in the agent's inputs is a build error. */
export const HUB_ONLY = ['better-sqlite3', 'fastify', '@fastify/', '@kubernetes/client-node', 'prom-client'];

mkdirSync(outDir, { recursive: true });
const file = 'atoll-agent.mjs';
const tmp = join(outDir, `.${file}.${process.pid}.tmp`);
const result = await build({
  entryPoints: [join(root, 'agent', 'main.ts')],
  outfile: tmp,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  define: { __ATOLL_AGENT_VERSION__: JSON.stringify(version) },
  // CommonJS dependencies call require() for node builtins; give the ESM bundle a real one. The
  // entry's own shebang is kept by esbuild on the first line.
  banner: {
    js: "import { createRequire as __atollCreateRequire } from 'node:module'; const require = __atollCreateRequire(import.meta.url);",
  },
});

const offenders = Object.keys(result.metafile.inputs).filter((p) => {
  const rel = relative(root, join(root, p)).split(sep).join('/');
  return rel.startsWith('hub/') || HUB_ONLY.some((m) => rel.includes(`node_modules/${m}`));
});
if (offenders.length > 0) {
  console.error(
    `build-agent-bundle: the agent bundle must not contain hub code, but it includes:\n  ${offenders.join('\n  ')}`,
  );
  process.exit(1);
}

const body = readFileSync(tmp);
if (!body.subarray(0, 2).equals(Buffer.from('#!'))) {
  writeFileSync(tmp, Buffer.concat([Buffer.from('#!/usr/bin/env node\n'), body]));
}
chmodSync(tmp, 0o755);
renameSync(tmp, join(outDir, file));
const sha256 = createHash('sha256')
  .update(readFileSync(join(outDir, file)))
  .digest('hex');
writeFileSync(join(outDir, `${file}.sha256`), `${sha256}  ${file}\n`);
writeFileSync(
  join(outDir, 'manifest.json'),
  JSON.stringify(
    {
      name: 'atoll-agent',
      version,
      file,
      sha256,
      size: readFileSync(join(outDir, file)).length,
      builtAt: new Date().toISOString(),
    },
    null,
    2,
  ) + '\n',
);
console.log(`agent bundle: ${relative(root, join(outDir, file))} (${version}, sha256 ${sha256})`);
