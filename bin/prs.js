#!/usr/bin/env node
// The `prs` command. The code lives in the bundle `npm install` builds (the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../out/node/prs.js', import.meta.url);
if (!existsSync(fileURLToPath(bundle))) {
  console.error('prs: the build is missing (out/node/prs.js). Run `npm run build` in the repository.');
  process.exit(2);
}
await import(bundle.href);
