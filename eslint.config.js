// Flat config. The layer rules make docs/architecture.md's folders a rule: each src folder imports only the
// folders its layer allows, `common` and `renderer` never touch Node, and only `main`/`preload` touch Electron.
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

const layers = ['common', 'runtime', 'worker', 'engine', 'host', 'server', 'main', 'preload', 'renderer'];

/** The lint block for one folder: which other src folders it may import, and whether it runs in a browser. */
function layer(files, allowed, { browser = false } = {}) {
  const self = files.split('/')[1];
  const banned = layers.filter((l) => l !== self && !allowed.includes(l));
  const mayUseElectron = self === 'main' || self === 'preload';
  return [
    {
      files: [files],
      ...(browser ? { languageOptions: { globals: { ...globals.browser } } } : {}),
      rules: {
        'no-restricted-imports': [
          'error',
          {
            paths: browser
              ? noNode.map((name) => ({ name, message: `src/${self} runs in a browser: no Node modules.` }))
              : [],
            patterns: [
              ...(mayUseElectron ? [] : [noElectron]),
              {
                group: banned.map((l) => `**/${l}/**`),
                message: `Layering: src/${self} may import only ${allowed.length ? allowed.map((l) => `src/${l}`).join(', ') : 'itself'} (see docs/architecture.md).`,
              },
            ],
          },
        ],
      },
    },
  ];
}

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
  // One rule per layer: a folder imports only the folders to its left.
  //   common <- runtime <- worker;  common, runtime <- engine <- host <- server <- main
  //   common <- renderer, preload
  ...layer('src/common/**/*.ts', [], { browser: true }),
  ...layer('src/renderer/**/*.{ts,tsx}', ['common'], { browser: true }),
  ...layer('src/preload/**/*.ts', ['common']),
  ...layer('src/runtime/**/*.ts', ['common']),
  ...layer('src/worker/**/*.ts', ['common', 'runtime']),
  ...layer('src/engine/**/*.ts', ['common', 'runtime']),
  ...layer('src/host/**/*.ts', ['common', 'runtime', 'engine']),
  ...layer('src/server/**/*.ts', ['common', 'runtime', 'engine', 'host']),
  ...layer('src/main/**/*.ts', ['common', 'runtime', 'engine', 'host', 'server']),
);
