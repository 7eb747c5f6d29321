#!/usr/bin/env node
// `npm start`: build, then open the app on the bundled example. The Electron window where an
// Electron binary is installed; otherwise the local web host in a Chromium/Chrome app window (or
// just its URL), saying why. Resolving Electron never downloads anything: requiring the `electron`
// package would try to fetch a missing binary, so its path.txt is read directly.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const build = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

function electronBinary() {
  const dir = path.join(root, 'node_modules', 'electron');
  const pathFile = path.join(dir, 'path.txt');
  let why = 'the Electron binary is not installed (node_modules/electron has none)';
  if (!existsSync(pathFile) && existsSync(path.join(dir, 'install.js'))) {
    // Recent Electron releases fetch their binary on first use: this is the first use. Run the
    // package's own installer in a child, so a machine that cannot reach the download falls back.
    // Its output (a stack trace from @electron/get when offline) goes to a file, not to the first
    // screen a newcomer reads: that gets one line saying what happened.
    console.log('Fetching the Electron binary (first start)...');
    const install = spawnSync(process.execPath, [path.join(dir, 'install.js')], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (!existsSync(pathFile)) {
      const log = path.join(root, 'out', 'electron-install.log');
      mkdirSync(path.dirname(log), { recursive: true });
      writeFileSync(
        log,
        `${install.stdout ?? ''}${install.stderr ?? ''}${install.error ? String(install.error) : ''}`,
      );
      const first = `${install.stderr ?? ''}\n${install.stdout ?? ''}`
        .split('\n')
        .map((l) => l.trim())
        .find((l) => l !== '' && !l.startsWith('at '));
      const cause =
        install.error?.code === 'ETIMEDOUT' ? 'it timed out' : (first ?? `exit code ${install.status}`);
      why = `Electron's binary could not be downloaded (${cause.slice(0, 160)}; details in ${path.relative(root, log)})`;
    }
  }
  if (!existsSync(pathFile)) return { bin: null, why };
  const bin = path.join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(bin) ? { bin, why: '' } : { bin: null, why: `${bin} is missing` };
}

function findChromium() {
  const candidates = [
    process.env.PRS_CHROMIUM,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
  ].filter(Boolean);
  return candidates.find((c) => existsSync(c)) ?? null;
}

const hasDisplay = process.platform !== 'linux' || !!(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
const electron = electronBinary();
if (electron.bin && hasDisplay) {
  console.log('Opening the Parallel Run Studio window (Electron).');
  const child = spawn(electron.bin, [path.join(root, 'out', 'main', 'index.js')], {
    cwd: root,
    stdio: 'inherit',
    // The app's host process runs under this Node, for which npm built the native modules.
    env: { ...process.env, PRS_NODE: process.execPath },
  });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  const why = electron.bin ? 'no display to open a window on' : electron.why;
  console.log(`No Electron window: ${why}. Starting the local web host instead.`);
  const serve = spawn(process.execPath, [path.join(root, 'bin', 'prs.js'), 'serve'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let opened = false;
  serve.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    const m = /(http:\/\/\S+[?#]token=\S+)/.exec(String(chunk));
    if (!m || opened) return;
    opened = true;
    const chromium = findChromium();
    if (chromium && hasDisplay) {
      console.log(`Opening it in an app window of ${chromium}.`);
      const browser = spawn(chromium, [`--app=${m[1]}`, '--no-first-run'], {
        stdio: 'ignore',
        detached: true,
      });
      browser.unref();
    } else {
      console.log(
        chromium
          ? 'No display to open a browser window on: open the URL above in a browser.'
          : 'No Chromium or Chrome found: open the URL above in a browser.',
      );
    }
  });
  const stop = () => serve.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  serve.on('exit', (code) => process.exit(code ?? 0));
}
