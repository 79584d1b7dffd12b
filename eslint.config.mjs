import tseslint from 'typescript-eslint';

// Who may import what. The protobuf runtime belongs to proto/, the SQLite driver to hub/store/.
const PROTOBUF = { group: ['protobufjs', 'protobufjs/*'], message: 'Only proto/ may import protobufjs.' };
const SQLITE = { group: ['better-sqlite3', 'better-sqlite3/*'], message: 'Only hub/store/ may import the SQLite driver (better-sqlite3).' };
const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'proto/gen/**', '.atoll/**', '.atoll-agent/**', 'test-output/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      ...restrict(PROTOBUF, SQLITE),
    },
  },
  { files: ['proto/**'], rules: restrict(SQLITE) },
  { files: ['agent/**'], rules: restrict(
    { group: ['**/hub/**', '../hub/*'], message: 'The agent must not import hub code.' },
    PROTOBUF,
    SQLITE,
  ) },
  { files: ['hub/**'], rules: restrict(
    { group: ['**/agent/**', '../agent/*'], message: 'The hub must not import agent code.' },
    PROTOBUF,
    SQLITE,
  ) },
  { files: ['hub/store/**'], rules: restrict(
    { group: ['**/agent/**', '../agent/*'], message: 'The hub must not import agent code.' },
    PROTOBUF,
  ) },
  // Tests and build scripts may open a store file directly (to damage it, to read it back).
  { files: ['test/**', 'scripts/**'], rules: restrict(PROTOBUF) },
);
