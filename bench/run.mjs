#!/usr/bin/env node
// `npm run bench`: Parallel Run Studio side by side with its peers, same machine, same run.
// Prints rates and ratios; absolute times on a shared machine prove nothing, ratios do.
//
// Each section is a file of its own (bench/<name>.mjs); `npm run bench -- engine python` runs some.

import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const sections = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && f !== 'lib.mjs')
  .map((f) => f.replace(/\.mjs$/, ''))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();

for (const name of sections) {
  console.log(`\n== ${name} ==`);
  const mod = await import(path.join(here, `${name}.mjs`));
  await mod.default();
}
