// Where the desktop app runs its AppHost: the decision, and the probe that asks a child process
// whether the native modules load (here under plain Node, for which `npm install` built them).

import { describe, expect, it } from 'vitest';
import { chooseHostMode, forcedHostMode, probeNativeModules } from '../../src/main/hostMode';
import { ROOT, tempDir, writeFiles } from '../helpers';

describe('chooseHostMode', () => {
  it('runs the host in main only where the native modules load under Electron', () => {
    expect(chooseHostMode(null, { ok: true }).mode).toBe('main');
    const no = chooseHostMode(null, { ok: false, error: 'NODE_MODULE_VERSION 127, this one needs 139' });
    expect(no.mode).toBe('host-process');
    expect(no.why).toMatch(/NODE_MODULE_VERSION 127/);
  });

  it('PRS_HOST_MODE forces a mode; anything else leaves it to the probe', () => {
    expect(forcedHostMode('main')).toBe('main');
    expect(forcedHostMode('process')).toBe('host-process');
    expect(forcedHostMode(undefined)).toBeNull();
    expect(forcedHostMode('')).toBeNull();
    expect(forcedHostMode('utility')).toBeNull();
    expect(chooseHostMode('host-process', null)).toEqual({
      mode: 'host-process',
      why: 'PRS_HOST_MODE forces host-process',
    });
    expect(chooseHostMode('main', null).mode).toBe('main');
    // No probe and nothing forced: the safe default.
    expect(chooseHostMode(null, null).mode).toBe('host-process');
  });
});

describe('probeNativeModules', () => {
  const probe = (packageRoot: string) =>
    probeNativeModules({ execPath: process.execPath, packageRoot, env: process.env });

  it('loads better-sqlite3 and node-pty from the package in a child process', async () => {
    expect(await probe(ROOT)).toEqual({ ok: true });
  });

  it('says why they do not load, and a module that takes its process down only takes the child', async () => {
    expect(await probe(tempDir())).toEqual({ ok: false, error: expect.stringMatching(/better-sqlite3/) });

    const wrongAbi = tempDir();
    writeFiles(wrongAbi, {
      'node_modules/better-sqlite3/index.js':
        "module.exports = function () { throw new Error('better_sqlite3.node was compiled against a different Node.js version using NODE_MODULE_VERSION 127'); };",
    });
    const r = await probe(wrongAbi);
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/NODE_MODULE_VERSION 127/) });

    const crashing = tempDir();
    writeFiles(crashing, {
      'node_modules/better-sqlite3/index.js': 'module.exports = function () {};',
      'node_modules/node-pty/index.js': 'process.abort();',
    });
    expect((await probe(crashing)).ok).toBe(false);
  });
});
