#!/usr/bin/env node
// Fails when a source file is over 300 lines (the house rule: small modules, one job each). Checks
// the .ts/.js/.mjs/.cjs files under hub/, agent/, certs/, proto/ (generated code left out) and
// scripts/, or only the files and folders given, and names each file over with its line count.
// Usage: node scripts/check-file-size.mjs [path ...]   (exit 1 when a file is over)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAX_LINES = 300;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const paths = args.length ? args : ['hub', 'agent', 'certs', 'proto', 'scripts'];
const skip = new Set(['node_modules', 'dist', 'gen']);
const SOURCE_RE = /\.(?:[cm]?ts|[cm]?js)$/;

function isSource(name) {
  return SOURCE_RE.test(name) && !/\.d\.[cm]?ts$/.test(name);
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (isSource(name)) out.push(p);
  }
  return out;
}

/** Lines as an editor numbers them: a final newline ends the last line, it does not start another. */
function lineCount(text) {
  if (text.length === 0) return 0;
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

const files = [];
for (const p of paths) {
  const abs = resolve(root, p);
  if (!existsSync(abs)) {
    if (args.length) {
      console.error(`no such file or folder: ${p}`);
      process.exit(2);
    }
    continue;
  }
  files.push(...(statSync(abs).isDirectory() ? walk(abs) : [abs]));
}

const over = files
  .map((f) => ({ file: relative(root, f), lines: lineCount(readFileSync(f, 'utf8')) }))
  .filter((f) => f.lines > MAX_LINES)
  .sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file));

if (over.length === 0) {
  console.log(`OK: no source file over ${MAX_LINES} lines among ${files.length} file${files.length === 1 ? '' : 's'}`);
  process.exit(0);
}
for (const f of over) console.error(`${f.file}: ${f.lines} lines (over ${MAX_LINES})`);
console.error(`${over.length} file(s) over ${MAX_LINES} lines: split each into modules with one job`);
process.exit(1);
