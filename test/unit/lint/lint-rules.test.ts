// The house rules `npm run lint` enforces, checked on probe files written into the tree (and removed
// again): a promise nobody awaits or catches (also behind `void`), the SQLite or PostgreSQL driver
// outside hub/store, a bare `throw new Error` in product code, an import cycle, an unformatted file
// and a source file over 300 lines (scripts/check-file-size.mjs) all fail the lint.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const run = promisify(execFile);

async function exitOf(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(cmd, args, { cwd: root, timeout: 120_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function withProbes<T>(files: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  try {
    for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text);
    return await fn();
  } finally {
    for (const path of Object.keys(files)) rmSync(join(root, path), { force: true });
  }
}

const ESLINT = join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');
const FLOATING_PROBE = 'hub/__lint_probe__.ts';
const throwProbe = (from: string): string =>
  [
    `import { AtollError } from '${from}certs/atoll-error.js';`,
    'export function f(n: number): number {',
    "  if (n === 1) throw new Error('bare');",
    "  if (n === 2) throw Error('bare, without new');",
    "  if (n === 3) throw new AtollError('PROBE', 'typed');",
    "  if (n === 4) return Number(new Error('not thrown').message);",
    '  return n;',
    '}',
    '',
  ].join('\n');
const THROW_PROBES: Record<string, string> = {
  'hub/__lint_probe_throw__.ts': throwProbe('../'),
  'agent/__lint_probe_throw__.ts': throwProbe('../'),
  'certs/__lint_probe_throw__.ts': throwProbe('../'),
  'proto/__lint_probe_throw__.ts': throwProbe('../'),
  'hub/web/src/__lint_probe_throw__.ts': "export function f(): never {\n  throw new Error('the browser may');\n}\n",
  'test/unit/lint/__lint_probe_throw__.ts': throwProbe('../../../'),
};
type LintResult = Array<{ filePath: string; messages: Array<{ ruleId: string; line: number }> }>;

// One eslint run over every probe: typed linting builds the whole TypeScript program each time it
// starts (30-60 s on a loaded 2-core machine), so the probes of both tests share one run.
let eslintRun: Promise<{ code: number; results: LintResult; out: string }> | undefined;
function eslintOnProbes(): Promise<{ code: number; results: LintResult; out: string }> {
  const probes: Record<string, string> = {
    [FLOATING_PROBE]: [
      "import Database from 'better-sqlite3';",
      "import pg from 'pg';",
      'async function work(): Promise<void> {}',
      'work();',
      'void work();',
      'work().catch(() => undefined);',
      'export const db = Database;',
      'export const pgPool = pg.Pool;',
      '',
    ].join('\n'),
    ...THROW_PROBES,
  };
  eslintRun ??= withProbes(probes, () =>
    exitOf(process.execPath, [ESLINT, '--format', 'json', ...Object.keys(probes)]),
  ).then((r) => ({ ...r, results: JSON.parse(r.out) as LintResult }));
  return eslintRun;
}

const resultOf = (results: LintResult, path: string) => results.find((f) => f.filePath === join(root, path));

test('eslint fails on a floating promise, on `void` of a promise, and on better-sqlite3 or pg outside hub/store', async () => {
  const r = await eslintOnProbes();
  assert.equal(r.code, 1, r.out);
  const messages = resultOf(r.results, FLOATING_PROBE)?.messages ?? [];
  const at = (rule: string): number[] => messages.filter((m) => m.ruleId === rule).map((m) => m.line);
  assert.deepEqual(
    at('@typescript-eslint/no-floating-promises'),
    [4, 5],
    'the bare call and the void are flagged, the caught one is not',
  );
  assert.deepEqual(at('no-restricted-imports'), [1, 2]);
});

test('eslint fails on a bare `throw new Error` in hub, agent, certs and proto, not in tests or the dashboard', async () => {
  const r = await eslintOnProbes();
  assert.equal(r.code, 1, r.out);
  const flagged = Object.fromEntries(
    Object.keys(THROW_PROBES).map((path) => [
      path,
      (resultOf(r.results, path)?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.line),
    ]),
  );
  assert.deepEqual(flagged, {
    'hub/__lint_probe_throw__.ts': [3, 4],
    'agent/__lint_probe_throw__.ts': [3, 4],
    'certs/__lint_probe_throw__.ts': [3, 4],
    'proto/__lint_probe_throw__.ts': [3, 4],
    'hub/web/src/__lint_probe_throw__.ts': [],
    'test/unit/lint/__lint_probe_throw__.ts': [],
  });
  for (const path of Object.keys(THROW_PROBES))
    assert.deepEqual(
      (resultOf(r.results, path)?.messages ?? []).filter((m) => m.ruleId !== 'no-restricted-syntax'),
      [],
      path,
    );
});

test('the cycle check fails on an import cycle and names its files', async () => {
  const r = await withProbes(
    {
      'hub/__lint_probe_a__.ts': "import { b } from './__lint_probe_b__.js';\nexport const a = (): number => b + 1;\n",
      'hub/__lint_probe_b__.ts':
        "import type { a } from './__lint_probe_a__.js';\nexport const b = 1;\nexport type A = typeof a;\n",
    },
    () => exitOf(process.execPath, [join(root, 'scripts', 'check-cycles.mjs')]),
  );
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /import cycle: hub\/__lint_probe_a__\.ts <-> hub\/__lint_probe_b__\.ts/);
  const clean = await exitOf(process.execPath, [join(root, 'scripts', 'check-cycles.mjs')]);
  assert.equal(clean.code, 0, `the tree itself has no cycle: ${clean.out}`);
});

test('the format check fails on an unformatted file and names it; the tree itself is formatted', async () => {
  const prettier = join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs');
  const probe = 'hub/__lint_probe_format__.ts';
  const r = await withProbes({ [probe]: 'export const   x = {a:1,\n  b:2}\n' }, () =>
    exitOf(process.execPath, [prettier, '--check', probe]),
  );
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /__lint_probe_format__\.ts/);
  const clean = await exitOf(process.execPath, [prettier, '--check', '--log-level', 'warn', '.']);
  assert.equal(clean.code, 0, `the tree itself is formatted: ${clean.out}`);
});

test('the file-size check fails on a source file over 300 lines and names it; 300 lines pass', async () => {
  const script = join(root, 'scripts', 'check-file-size.mjs');
  const over = 'hub/__lint_probe_long__.ts';
  const atMax = 'hub/__lint_probe_max__.ts';
  const lines = (n: number): string => Array.from({ length: n }, (_, i) => `export const x${i} = ${i};\n`).join('');
  const r = await withProbes({ [over]: lines(301), [atMax]: lines(300) }, async () => ({
    both: await exitOf(process.execPath, [script, over, atMax]),
    max: await exitOf(process.execPath, [script, atMax]),
    tree: await exitOf(process.execPath, [script]),
  }));
  assert.equal(r.both.code, 1, r.both.out);
  assert.match(r.both.out, /hub\/__lint_probe_long__\.ts: 301 lines/);
  assert.doesNotMatch(r.both.out, /__lint_probe_max__/, 'a file of exactly 300 lines is not over');
  assert.equal(r.max.code, 0, r.max.out);
  assert.match(r.max.out, /^OK: no source file over 300 lines among 1 file$/m);
  // Without arguments it scans hub/ (and agent/, certs/, proto/, scripts/) and finds the probe there.
  assert.equal(r.tree.code, 1, r.tree.out);
  assert.match(r.tree.out, /hub\/__lint_probe_long__\.ts: 301 lines/);
});
