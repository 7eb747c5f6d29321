// Bundles the Node side (CLI + web host, and the worker entry point) into out/node. Pure-JS
// dependencies are bundled in, so a command or a worker starts without resolving hundreds of files;
// native modules (and esbuild, loaded only for .ts entry scripts) stay external: they must load
// from node_modules, built for the running Node's ABI.
import { build } from 'esbuild';

await build({
  entryPoints: { prs: 'src/server/cli.ts', worker: 'src/worker/main.ts', host: 'src/server/hostProcess.ts' },
  outdir: 'out/node',
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3', 'node-pty', 'esbuild', 'electron'],
  // CommonJS dependencies bundled into an ES module still call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __prsCreateRequire } from 'node:module'; const require = __prsCreateRequire(import.meta.url);",
  },
  sourcemap: true,
  logLevel: 'warning',
});
