import js from '@eslint/js';
import tseslint from 'typescript-eslint';


const PURE_MODELS = ['orders/state-machine', 'accounts/api-key'];
// gitignore-style: a file is re-included only if its folder itself is not excluded, hence `folder/*` for those with models.
const hasModel = (folder) => PURE_MODELS.some((model) => model.startsWith(`${folder}/`));
const above = (folders) =>
  folders.map((folder) => ({ group: hasModel(folder) ? [`**/${folder}/*`, ...PURE_MODELS.map((model) => `!**/${model}`)] : [`**/${folder}`, `**/${folder}/*`] }));
const outsideLib = { group: ['**/functions/**', '**/infra/**', '**/client/**', '**/bench/**', '**/tests/**'], message: 'lib/ never imports the handlers, the embedded stack, clients, benchmarks or tests.' };
const restrict = (files, folders, { allowTypeImports = false } = {}) => ({
  files,
  rules: {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        patterns: [
          ...above(folders).map((pattern) => ({ ...pattern, allowTypeImports, message: `a layer above this one${allowTypeImports ? ' (types only: import type)' : ''} (eslint.config.js, README "Layout")` })),
          outsideLib,
        ],
      },
    ],
  },
});
const layerRules = () => [
  restrict(['lib/tokens/**/*.ts'], ['venues', 'chain', 'routing', 'aws', 'accounts', 'notify', 'ws', 'orders', 'http', 'engine']),
  restrict(['lib/venues/**/*.ts'], ['chain', 'routing', 'aws', 'accounts', 'notify', 'ws', 'orders', 'http', 'engine']),
  restrict(['lib/chain/**/*.ts'], ['routing', 'aws', 'accounts', 'notify', 'ws', 'orders', 'http', 'engine']),
  restrict(['lib/routing/**/*.ts'], ['aws', 'accounts', 'notify', 'ws', 'orders', 'http', 'engine']),
  restrict(['lib/aws/**/*.ts'], ['chain', 'routing', 'venues', 'tokens', 'accounts', 'notify', 'ws', 'orders', 'http', 'engine'], { allowTypeImports: true }),
  restrict(['lib/accounts/**/*.ts', 'lib/notify/**/*.ts'], ['ws', 'orders', 'http', 'engine'], { allowTypeImports: true }),
  restrict(['lib/ws/**/*.ts'], ['orders', 'http', 'engine'], { allowTypeImports: true }),
  restrict(['lib/orders/**/*.ts'], ['http', 'engine'], { allowTypeImports: true }),
  restrict(['lib/http/**/*.ts'], ['engine'], { allowTypeImports: true }),
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.serverless/**', '.serverless-ci/**', '.esbuild/**', 'bench/results/**', '.data/**', 'web/dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', process: 'readonly' } },
  },
  // The architecture's layers, bottom to top (README "Layout"): errors/config/log < tokens < venues < chain < routing
  // < aws < accounts, notify < ws < orders < http (the HTTP API over the order use cases) < engine (the composition root). A module never imports one above it; the
  // adapters in lib/aws implement ports the domain owns, so they may name domain types (`import type`) but not call
  // domain code. The order lifecycle (orders/state-machine) and the account record (accounts/api-key) are pure models
  // every layer from aws up may use.
  ...layerRules(),
  {
    files: ['lib/**/*.ts'],
    ignores: ['lib/config.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through lib/config.ts only.' }],
    },
  },
);
