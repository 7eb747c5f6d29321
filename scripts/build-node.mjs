// Bundles the Node side (CLI + web host, the worker entry point, the search thread's) into out/node. Pure-JS
// dependencies are bundled in, so a command or a worker starts without resolving hundreds of files;
// native modules (and esbuild, loaded only for .ts entry scripts) stay external: they must load
// from node_modules, built for the running Node's ABI.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry content hashes: start clean so old chunks do not pile up.
rmSync('out/node', { recursive: true, force: true });

await build({
  entryPoints: {
    prs: 'src/server/cli.ts',
    worker: 'src/worker/main.ts',
    host: 'src/server/hostProcess.ts',
    searchWorker: 'src/host/searchWorker.ts',
    parquetThread: 'src/engine/parquetThread.ts',
  },
  outdir: 'out/node',
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3', 'node-pty', 'esbuild', 'electron', 'msgpackr-extract'],
  // CommonJS dependencies bundled into an ES module still call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __prsCreateRequire } from 'node:module'; const require = __prsCreateRequire(import.meta.url);",
  },
  sourcemap: true,
  logLevel: 'warning',
});
