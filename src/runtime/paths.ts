// Where the installed product's own files are, whether running from out/ (bundled) or from src/
// (tests run by vitest): both sit below the package root.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'parallel-run-studio') return (root = dir);
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('parallel-run-studio: cannot find the package root above ' + dir);
    dir = parent;
  }
}

/** The bundled worker entry point; `npm run build` makes it. */
export function workerEntryPath(): string {
  const file = path.join(packageRoot(), 'out', 'node', 'worker.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first.`);
  return file;
}

/** resources/python: the driver and the azureml compatibility packages. */
export function pythonResourcesDir(): string {
  return path.join(packageRoot(), 'resources', 'python');
}
