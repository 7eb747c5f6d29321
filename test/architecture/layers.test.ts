// The layer rules in eslint.config.js are what keep docs/architecture.md's folders true: lint a file that
// breaks each direction, as if it sat in that folder, and expect the rule to name the layer.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: file });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('import layers', () => {
  const forbidden: [string, string][] = [
    ['src/runtime/x.ts', '../engine/run'],
    ['src/runtime/python/x.ts', '../../worker/main'],
    ['src/worker/x.ts', '../engine/leader'],
    ['src/engine/x.ts', '../host/appHost'],
    ['src/engine/spec/x.ts', '../../server/cli'],
    ['src/host/x.ts', '../server/web/server'],
    ['src/server/x.ts', '../renderer/src/store'],
    ['src/common/x.ts', '../runtime/paths'],
    ['src/renderer/src/x.ts', '../../engine/run'],
    ['src/preload/x.ts', '../engine/run'],
  ];
  it.each(forbidden)('%s may not import %s', async (file, spec) => {
    const errors = await layerErrors(file, `import { a } from '${spec}';\nexport const b = a;\n`);
    expect(errors.join('\n')).toMatch(/Layering: src\/\w+ may import only/);
  });

  const allowed: [string, string][] = [
    ['src/worker/x.ts', '../runtime/runtime'],
    ['src/engine/x.ts', '../runtime/paths'],
    ['src/host/x.ts', '../engine/run'],
    ['src/server/x.ts', '../host/appHost'],
    ['src/main/x.ts', '../server/hostProcess'],
    ['src/renderer/src/x.ts', '../../common/api'],
  ];
  it.each(allowed)('%s may import %s', async (file, spec) => {
    expect(await layerErrors(file, `import { a } from '${spec}';\nexport const b = a;\n`)).toEqual([]);
  });

  it('keeps Node out of the browser folders and Electron out of the engine', async () => {
    expect(
      await layerErrors('src/common/x.ts', "import fs from 'node:fs';\nexport const b = fs;\n"),
    ).toHaveLength(1);
    expect(
      await layerErrors('src/engine/x.ts', "import { app } from 'electron';\nexport const b = app;\n"),
    ).toHaveLength(1);
    expect(
      await layerErrors('src/main/x.ts', "import { app } from 'electron';\nexport const b = app;\n"),
    ).toEqual([]);
  });
});
