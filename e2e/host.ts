// Test fixtures: a temp data folder with example jobs written by the test, and a real `prs serve`
// on a port of its own, started from the built CLI exactly as a user starts it.

import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');

/**
 * Where a test's screenshot goes: the README's (docs/screenshots/) only with PRS_SCREENSHOTS=1 (`npm
 * run screenshots`), so that `npm test` leaves the tree as it found it; test-results/ otherwise.
 */
export function screenshotPath(name: string): string {
  return process.env.PRS_SCREENSHOTS === '1'
    ? path.join(ROOT, 'docs', 'screenshots', name)
    : path.join(ROOT, 'test-results', 'screenshots', name);
}

export interface Host {
  url: string;
  base: string;
  token: string;
  port: number;
  dataDir: string;
  examplesDir: string;
  output: () => string;
  stop(): Promise<void>;
}

export type Files = Record<string, string>;

export function writeExample(examplesDir: string, name: string, files: Files): string {
  const dir = path.join(examplesDir, name);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

export function copyBundledExample(examplesDir: string, name: string): void {
  cpSync(path.join(ROOT, 'examples', name), path.join(examplesDir, name), {
    recursive: true,
    filter: (src) => !src.includes(`${path.sep}runs`),
  });
}

export function makeDataDir(): { dataDir: string; examplesDir: string } {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'prs-e2e-'));
  const examplesDir = path.join(dataDir, 'examples');
  mkdirSync(examplesDir);
  return { dataDir, examplesDir };
}

export function startServe(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [path.join(ROOT, 'bin', 'prs.js'), 'serve', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** `env`: more of the host's environment (PATH, for a job that runs python3 on PATH). */
export async function startHost(
  setup: (examplesDir: string) => void,
  env: Record<string, string> = {},
): Promise<Host> {
  const { dataDir, examplesDir } = makeDataDir();
  setup(examplesDir);
  // The history index lives in the test's own data folder, never the user's.
  const child = startServe(['--port', '0'], {
    ...env,
    PRS_EXAMPLES_DIR: examplesDir,
    PRS_DATA_DIR: dataDir,
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]+)/.exec(out);
      if (m) resolve(m[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`prs serve exited with ${code}:\n${out}`)));
  });
  const u = new URL(url);
  return {
    url,
    base: `${u.protocol}//${u.host}`,
    token: u.hash.replace(/^#token=/, ''),
    port: Number(u.port),
    dataDir,
    examplesDir,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
