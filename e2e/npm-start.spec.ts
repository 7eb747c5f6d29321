// `npm start` where Electron's binary cannot be fetched (issue 14, section 5): the first thing a
// newcomer reads is one line saying so, not @electron/get's stack trace, and the same app opens in
// Chromium through the local web host. The download is pointed at a closed port, so it fails at
// once and the same way on every machine; where a binary is installed there is nothing to test.

import { expect, test } from '@playwright/test';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { makeDataDir, ROOT } from './host';

test.skip(
  existsSync(path.join(ROOT, 'node_modules', 'electron', 'path.txt')),
  'an Electron binary is installed here: npm start opens its window',
);

test('npm start without an Electron binary says so in one line, then opens the web host', async ({
  page,
}) => {
  test.setTimeout(300_000);
  const { dataDir, examplesDir } = makeDataDir();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ELECTRON_MIRROR: 'http://127.0.0.1:9/',
    PRS_EXAMPLES_DIR: examplesDir,
    PRS_DATA_DIR: dataDir,
  };
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.mjs')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]+)/.exec(out);
        if (m) resolve(m[1]);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${out}`)));
    });
    const before = out.slice(0, out.indexOf(url));
    expect(before).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
    expect(before).not.toContain('@electron/get');
    const said = before.split('\n').filter((l) => l.startsWith('No Electron window:'));
    expect(said).toEqual([
      "No Electron window: Electron's binary could not be downloaded (TypeError: fetch failed; details in out/electron-install.log). Starting the local web host instead.",
    ]);
    // The installer's own words are kept for whoever wants them.
    expect(readFileSync(path.join(ROOT, 'out', 'electron-install.log'), 'utf8')).toContain('fetch failed');

    await page.goto(url);
    await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  } finally {
    child.kill('SIGTERM');
  }
});
