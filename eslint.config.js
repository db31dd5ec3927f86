// ESLint (flat config) with typescript-eslint's type-aware rules. Generated code is not linted.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.run/', 'src/graphql/__generated__/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', '.dependency-cruiser.cjs', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through src/config.ts.' },
      ],
    },
  },
  {
    // Only the config module, the entry point and the test and tool harnesses touch the environment.
    files: ['src/config.ts', 'src/dev/**', 'test/**', 'bench/**', 'scripts/**', 'examples/**', '*.config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  { files: ['eslint.config.js', '.dependency-cruiser.cjs', 'scripts/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['.dependency-cruiser.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } } },
  {
    // The live page's script runs in the browser as it is, untyped and unbuilt.
    files: ['public/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'module',
      parserOptions: { projectService: false, project: null },
      globals: { document: 'readonly', location: 'readonly', fetch: 'readonly', crypto: 'readonly', URLSearchParams: 'readonly', graphqlWs: 'readonly' },
    },
  },
);
