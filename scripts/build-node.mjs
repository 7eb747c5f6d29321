// Bundles the Node side (CLI + web host, and the worker entry point) into out/node. Dependencies
// stay external: native modules must load from node_modules, built for the running Node's ABI.
import { build } from 'esbuild';

await build({
  entryPoints: { prs: 'src/server/cli.ts', worker: 'src/worker/main.ts' },
  outdir: 'out/node',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
