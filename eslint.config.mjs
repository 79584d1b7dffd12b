import tseslint from 'typescript-eslint';

// Who may import what. The protobuf runtime belongs to proto/, the SQLite and PostgreSQL drivers to hub/store/.
const PROTOBUF = { group: ['protobufjs', 'protobufjs/*'], message: 'Only proto/ may import protobufjs.' };
const SQLITE = {
  group: ['better-sqlite3', 'better-sqlite3/*'],
  message: 'Only hub/store/ may import the SQLite driver (better-sqlite3).',
};
const POSTGRES = { group: ['pg', 'pg/*'], message: 'Only hub/store/ may import the PostgreSQL driver (pg).' };
// Errors carry a stable code (certs/atoll-error.ts): product code throws a typed error, never a bare Error.
const BARE_ERROR =
  'Throw a typed error with a stable code (AtollError or a subclass, certs/atoll-error.ts), not a bare Error.';
// node:test runs what test()/describe() return itself.
const NODE_TEST = [
  {
    from: 'package',
    package: 'node:test',
    name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
  },
];
const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'proto/gen/**', '.atoll/**', '.atoll-agent/**', 'test-output/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      ...restrict(PROTOBUF, SQLITE, POSTGRES),
    },
  },
  { files: ['proto/**'], rules: restrict(SQLITE, POSTGRES) },
  {
    files: ['agent/**'],
    rules: restrict(
      { group: ['**/hub/**', '../hub/*'], message: 'The agent must not import hub code.' },
      PROTOBUF,
      SQLITE,
      POSTGRES,
    ),
  },
  {
    files: ['hub/**'],
    rules: restrict(
      { group: ['**/agent/**', '../agent/*'], message: 'The hub must not import agent code.' },
      PROTOBUF,
      SQLITE,
      POSTGRES,
    ),
  },
  {
    files: ['hub/store/**'],
    rules: restrict({ group: ['**/agent/**', '../agent/*'], message: 'The hub must not import agent code.' }, PROTOBUF),
  },
  {
    files: ['hub/**/*.ts', 'agent/**/*.ts', 'certs/**/*.ts', 'proto/**/*.ts'],
    ignores: ['hub/web/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "ThrowStatement > NewExpression[callee.name='Error']", message: BARE_ERROR },
        { selector: "ThrowStatement > CallExpression[callee.name='Error']", message: BARE_ERROR },
      ],
    },
  },
  // A promise nobody awaits or catches rejects into an unhandledRejection: every one is awaited, returned
  // or given a .catch where it starts (`void p` does not count). Needs types, so TypeScript files only.
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          ignoreVoid: false,
          allowForKnownSafeCalls: NODE_TEST,
        },
      ],
    },
  },
  // In the browser (the dashboard) and in tests an unhandled rejection kills nothing (the console or the
  // test runner reports it): there a deliberate `void p` may stand; a forgotten await is still an error.
  {
    files: ['hub/web/**/*.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true, allowForKnownSafeCalls: NODE_TEST }],
    },
  },
  // Tests and build scripts may open a store file directly (to damage it, to read it back).
  { files: ['test/**', 'scripts/**'], rules: restrict(PROTOBUF) },
);
