// Lint for syncmux: typescript-eslint's type-aware rules that catch what tsc
// cannot (floating and misused promises), type-only imports kept as such,
// and imports between src/ layers only through each layer's index.ts.
import tseslint from 'typescript-eslint';

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
  {
    // A layer's public face is its index.ts: one layer never reaches into
    // another's modules, so each can reorganise inside without breaking the rest.
    files: ['src/**/*.ts'],
    rules: {
      'no-duplicate-imports': 'error',
      'no-restricted-imports': ['error', {
        patterns: [{
          regex: '^(\\.\\./)+[a-z-]+/(?!index\\.js$)',
          message: "Import another layer through its index.js.",
        }],
      }],
    },
  },
);
