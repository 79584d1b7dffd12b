#!/usr/bin/env node
// Fails when the source tree has an import cycle. Follows relative imports (static `import`/`export
// ... from`, and `import type` too: a type-only cycle still ties two modules together) between the
// .ts files of hub/, agent/, certs/ and proto/ (generated code left out), and prints each cycle once.
// Usage: node scripts/check-cycles.mjs [dir ...]   (exit 1 on a cycle)
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dirs = process.argv.slice(2).length ? process.argv.slice(2) : ['hub', 'agent', 'certs', 'proto'];
const skip = new Set(['node_modules', 'dist', 'gen']);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm;
const SIDE_EFFECT_RE = /^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm;

function targetOf(file, spec) {
  const base = resolve(dirname(file), spec);
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

const files = dirs.flatMap((d) => (existsSync(join(root, d)) ? walk(join(root, d)) : []));
const graph = new Map();
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  const deps = new Set();
  for (const re of [IMPORT_RE, SIDE_EFFECT_RE]) {
    for (const m of text.matchAll(re)) {
      const t = targetOf(f, m[1]);
      if (t) deps.add(t);
    }
  }
  graph.set(f, [...deps]);
}

// Tarjan's strongly connected components: every component with more than one file (or a file that
// imports itself) is a cycle.
let index = 0;
const stack = [];
const onStack = new Set();
const idx = new Map();
const low = new Map();
const components = [];
function strong(v) {
  idx.set(v, index);
  low.set(v, index);
  index++;
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!graph.has(w)) continue;
    if (!idx.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(comp);
  }
}
for (const v of graph.keys()) if (!idx.has(v)) strong(v);

if (components.length === 0) {
  console.log(`no import cycles among ${files.length} files`);
  process.exit(0);
}
for (const comp of components) {
  console.error(
    `import cycle: ${comp
      .map((f) => relative(root, f))
      .sort()
      .join(' <-> ')}`,
  );
}
console.error(`${components.length} import cycle(s): move what both sides need into a module of its own`);
process.exit(1);
