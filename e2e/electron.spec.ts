// The desktop window, where an Electron binary is installed. `npm install` fetches it from the
// internet; where that failed (offline machines) this spec is skipped and says so.

import { _electron as electron, expect, test } from '@playwright/test';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { copyBundledExample, makeDataDir, ROOT } from './host';

function electronBinary(): string | null {
  const dir = path.join(ROOT, 'node_modules', 'electron');
  const pathFile = path.join(dir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const bin = path.join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(bin) ? bin : null;
}

test('the Electron window opens the app and runs the bundled example', async () => {
  const bin = electronBinary();
  test.skip(
    !bin,
    'no Electron binary in node_modules/electron (npm could not download it): desktop window not tested',
  );
  const { examplesDir } = makeDataDir();
  copyBundledExample(examplesDir, 'hello-files');
  const app = await electron.launch({
    executablePath: bin as string,
    args: [path.join(ROOT, 'out', 'main', 'index.js'), '--no-sandbox'],
    // The host process runs under this Node (as `npm start` arranges).
    env: { ...process.env, PRS_EXAMPLES_DIR: examplesDir, PRS_NODE: process.execPath } as Record<
      string,
      string
    >,
  });
  try {
    const page = await app.firstWindow();
    await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
    // The page has no Node and only the named bridge.
    expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    expect(
      await page.evaluate(() => Object.keys((globalThis as unknown as { prs: object }).prs).sort()),
    ).toEqual([
      'cluster',
      'devices',
      'dialogs',
      'examples',
      'files',
      'history',
      'logs',
      'onEvent',
      'output',
      'runs',
      'shell',
      'specs',
      'terminals',
      'wizard',
    ]);
    await page.getByTestId('example-hello-files').getByRole('button', { name: 'Start' }).click();
    await expect(page.locator('[data-run-state="completed"]')).toBeVisible({ timeout: 60_000 });
  } finally {
    await app.close();
  }
});
