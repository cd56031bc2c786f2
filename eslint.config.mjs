// ESLint (flat config): typescript-eslint's recommended rules, no import cycles, and the engine's
// layers importing only downward (docs/architecture.md).
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** The engine's layers, lowest first: a layer imports only from the layers before it. */
const LAYERS = [
  'support',
  'format',
  'archive',
  'verifier',
  'versioning',
  'section',
  'validation',
  'build',
  'assemble',
  'publish',
  'doctor',
  'report',
];
const ENGINE = 'libs/release-kit/src';

const layerZones = [
  ...LAYERS.slice(0, -1).map((layer, index) => ({
    target: `./${ENGINE}/${layer}`,
    from: LAYERS.slice(index + 1).map((higher) => `./${ENGINE}/${higher}`),
    message: `the ${layer} layer imports only from lower layers (${LAYERS.slice(0, index).join(', ') || 'none'})`,
  })),
  {
    target: `./${ENGINE}`,
    from: ['./executors', './generators'],
    message: 'the engine knows nothing of Nx: executors and generators import it, never the other way',
  },
];

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'dist/**', 'tmp/**', 'libs/sections/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.js', '.mjs', '.json'] })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'max-len': ['error', { code: 140, ignoreUrls: true, ignoreRegExpLiterals: true }],
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-control-regex': 'off',
    },
  },
  {
    // Executors and generators import the engine module that owns what they use, by one path form:
    // each task process then loads only what its task needs (docs/decisions.md).
    files: ['executors/**/*.ts', 'generators/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/libs/release-kit/src/**'], message: "import the engine as '@spacetime/release-kit/src/<layer>/<module>'" },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
