// Flat config. The layer rules keep the folders of docs/architecture.md honest: `common` and
// `renderer` never touch Node, and nothing outside `main`/`preload` touches Electron, so the engine
// runs under plain Node.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'fs',
  'path',
  'os',
  'child_process',
  'net',
  'http',
  'https',
  'crypto',
  'stream',
  'url',
  'util',
  'worker_threads',
  'readline',
  'events',
  'zlib',
  'process',
  'buffer',
  'string_decoder',
  'tty',
];
const noNode = nodeBuiltins.flatMap((m) => [m, `node:${m}`, `${m}/*`, `node:${m}/*`]);
const noElectron = {
  group: ['electron', 'electron/*'],
  message: 'Only src/main and src/preload may use Electron.',
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'out/',
      'runs/',
      'test-results/',
      'playwright-report/',
      'resources/',
      'examples/**/runs/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/common/**/*.ts', 'src/renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: noNode.map((name) => ({
            name,
            message: 'common/renderer code must run in a browser: no Node modules.',
          })),
          patterns: [
            noElectron,
            {
              group: ['**/engine/**', '**/server/**', '**/worker/**', '**/main/**'],
              message: 'Layering: common/renderer import only common.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/engine/**/*.ts', 'src/worker/**/*.ts', 'src/server/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            noElectron,
            {
              group: ['**/renderer/**', '**/main/**', '**/preload/**'],
              message: 'Layering: the engine side never imports the window side.',
            },
          ],
        },
      ],
    },
  },
);
