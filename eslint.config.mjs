import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'proto/gen/**', '.atoll/**', '.atoll-agent/**', 'test-output/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [
        { group: ['protobufjs', 'protobufjs/*'], message: 'Only proto/ may import protobufjs.' },
      ] }],
    },
  },
  { files: ['proto/**'], rules: { 'no-restricted-imports': 'off' } },
  { files: ['agent/**'], rules: { 'no-restricted-imports': ['error', { patterns: [
    { group: ['**/hub/**', '../hub/*'], message: 'The agent must not import hub code.' },
    { group: ['protobufjs', 'protobufjs/*'], message: 'Only proto/ may import protobufjs.' },
  ] }] } },
  { files: ['hub/**'], rules: { 'no-restricted-imports': ['error', { patterns: [
    { group: ['**/agent/**', '../agent/*'], message: 'The hub must not import agent code.' },
    { group: ['protobufjs', 'protobufjs/*'], message: 'Only proto/ may import protobufjs.' },
  ] }] } },
);
