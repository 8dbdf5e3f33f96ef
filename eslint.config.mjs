// ESLint flat config: eslint's and typescript-eslint's recommended rules, with the exceptions below.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeGlobals = { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' };

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'widgets/dist/', 'widgets/lib/', 'jupyter/labextension/', 'widgets/lab-core/', 'test-artifacts/', '.bench-cache/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `import x = require('@stdlib/...')` is how CommonJS-only packages get their types
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
      // a leading underscore marks a parameter an override or a callback signature requires
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // `interface X extends Y {}` gives a type alias a name declarations can print
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      // series coefficients are kept with the digits of their published source (R's nmath, Cody)
      'no-loss-of-precision': 'off',
      // expected R output is fixed-width: its runs of spaces read best as they print
      'no-regex-spaces': 'off',
    },
  },
  // browser tests and widget code read untyped page and JupyterLab objects
  { files: ['test/**/*.ts', 'widgets/src/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  { files: ['**/*.mjs'], languageOptions: { globals: nodeGlobals } },
);
