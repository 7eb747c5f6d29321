// runNvidiaSmi looks nvidia-smi up on PATH before it spawns: most machines have none, and a failed
// spawn still forks the leader on the way to its workers. The real nvidia-smi stand-in runs where
// it is on PATH; execFile is wrapped only to count the processes started.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';

const spawned = vi.hoisted(() => ({ count: 0 }));
vi.mock('node:child_process', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:child_process')>();
  return {
    ...real,
    execFile: (...args: Parameters<typeof real.execFile>) => {
      spawned.count++;
      return real.execFile(...args);
    },
  };
});

const { runNvidiaSmi } = await import('../../src/engine/devices/nvidiaSmi');

const fakeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/nvidia-smi');
const empty = mkdtempSync(path.join(os.tmpdir(), 'prs-no-smi-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe('runNvidiaSmi on PATH', () => {
  beforeEach(() => {
    spawned.count = 0;
  });

  it('starts no process when no folder of PATH holds nvidia-smi', async () => {
    const r = await runNvidiaSmi(['-L'], { PATH: [empty, path.join(empty, 'gone')].join(path.delimiter) });
    expect(r).toMatchObject({ ok: false, missing: true, error: 'nvidia-smi is not on PATH' });
    expect(spawned.count).toBe(0);
  });

  it('runs the one it finds on PATH', async () => {
    const r = await runNvidiaSmi(['-L'], {
      // The stand-in is a Python script: python3 must be on PATH too.
      PATH: [empty, fakeDir, process.env.PATH].join(path.delimiter),
      FAKE_NVIDIA_SMI_GPUS: '2',
    });
    expect(r.ok).toBe(true);
    expect(r.stdout).toContain('GPU 1:');
    expect(spawned.count).toBe(1);
  });

  it('leaves one that cannot run to the spawn, which says why', async () => {
    const dir = mkdtempSync(path.join(empty, 'noexec-'));
    writeFileSync(path.join(dir, 'nvidia-smi'), '#!/bin/sh\necho hi\n', { mode: 0o644 });
    const r = await runNvidiaSmi(['-L'], { PATH: dir });
    expect(r.missing).toBe(false);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^nvidia-smi failed: .*EACCES/);
    expect(spawned.count).toBe(1);
  });
});
