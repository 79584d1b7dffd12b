#!/usr/bin/env node
// Runs the whole test suite with node:test (Node 20's --test does not expand globs, so we list files).
// Usage: node scripts/test.mjs [substring ...]   (only files whose path contains one of the substrings)
// With no substrings and PostgreSQL installed, a second pass runs the main end-to-end tests with every
// hub on PostgreSQL. ATOLL_TEST_DATASTORE=postgres runs the chosen files on PostgreSQL only.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const suites = ['test/unit', 'test/contracts', 'test/integration', 'test/e2e'];
const filters = process.argv.slice(2);

function walk(dir) {
  let out = [];
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names.sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (n.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = suites
  .flatMap((s) => walk(join(root, s)))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

// The main end-to-end tests again with every hub on PostgreSQL (a server per test file, started and
// removed by test/helpers/test-datastore.ts), after the full run when PostgreSQL is installed.
const POSTGRES_PASS = [
  'test/integration/join-flow.test.ts',
  'test/integration/link.test.ts',
  'test/integration/cert-renewal.test.ts',
  'test/integration/cli-tokens.test.ts',
  'test/integration/events-stream.test.ts',
  'test/integration/fault-hub-kill.test.ts',
  'test/integration/metrics.test.ts',
  'test/integration/api-roles.test.ts',
];

const concurrency = process.env.ATOLL_TEST_CONCURRENCY ?? '2';
function runTests(list, extraEnv = {}) {
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=180000', ...list],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, ATOLL_LOG_LEVEL: process.env.ATOLL_LOG_LEVEL ?? 'warn', ...extraEnv },
    },
  );
  return res.status ?? 1;
}

const store = process.env.ATOLL_TEST_DATASTORE || 'sqlite';
const status = runTests(files);
const postgresInstalled =
  existsSync('/usr/lib/postgresql') &&
  readdirSync('/usr/lib/postgresql').some((v) => existsSync(join('/usr/lib/postgresql', v, 'bin', 'initdb')));
if (filters.length > 0 || store !== 'sqlite') {
  console.log(`\ntests: ${files.length} files on ${store}`);
  process.exit(status);
}
if (!postgresInstalled) {
  console.log(`\ntests: ${files.length} files on sqlite; the PostgreSQL pass skipped (PostgreSQL is not installed)`);
  process.exit(status);
}
console.log(`\ntests: the main end-to-end tests again on PostgreSQL (ATOLL_TEST_DATASTORE=postgres):`);
for (const f of POSTGRES_PASS) console.log(`  ${f}`);
const pgStatus = runTests(POSTGRES_PASS, { ATOLL_TEST_DATASTORE: 'postgres' });
console.log(
  `\ntests: ${files.length} files on sqlite: ${status === 0 ? 'passed' : 'FAILED'}; ` +
    `${POSTGRES_PASS.length} files on postgres (${POSTGRES_PASS.map((f) => f.replace(/^.*\//, '').replace(/\.test\.ts$/, '')).join(', ')}): ${pgStatus === 0 ? 'passed' : 'FAILED'}`,
);
process.exit(status || pgStatus);
