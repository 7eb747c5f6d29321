// Shared set-up for the Python runtime tests: a temp job folder, a WorkerConfig for it, and a
// capture of what the runtime writes to this process's stdout and stderr (where a worker's output goes).

import { chmodSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkerConfig } from '../../src/common/protocol';

export const SYSTEM_PYTHON = '/usr/bin/python3';

export function tempDir(prefix = 'prs-pytest-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * A real interpreter without pandas, whatever this machine has: Debian's python3 behind a wrapper
 * that puts a stand-in `pandas` package first on its path, whose import fails as a missing one does.
 * The wrapper is named python3 in a bin folder of its own: put that folder first on PATH to make it
 * "the python3 on PATH".
 */
export function pythonWithoutPandas(): { python: string; binDir: string } {
  const dir = tempDir('prs-nopandas-python-');
  const site = path.join(dir, 'site');
  mkdirSync(path.join(site, 'pandas'), { recursive: true });
  writeFileSync(
    path.join(site, 'pandas', '__init__.py'),
    'raise ModuleNotFoundError("No module named \'pandas\' (a test interpreter without pandas)", name="pandas")\n',
  );
  const binDir = path.join(dir, 'bin');
  mkdirSync(binDir);
  const python = path.join(binDir, 'python3');
  writeFileSync(
    python,
    `#!/bin/sh\nPYTHONPATH="${site}\${PYTHONPATH:+:$PYTHONPATH}" exec ${SYSTEM_PYTHON} "$@"\n`,
  );
  chmodSync(python, 0o755);
  return { python, binDir };
}

/** A job folder with the entry script `score.py` (and any extra files), plus its run folders. */
export function makeJob(
  script: string,
  extra: Record<string, string> = {},
): { dir: string; script: string; runDir: string } {
  const dir = tempDir();
  const src = path.join(dir, 'src');
  mkdirSync(src);
  writeFileSync(path.join(src, 'score.py'), script);
  for (const [name, text] of Object.entries(extra)) {
    mkdirSync(path.dirname(path.join(src, name)), { recursive: true });
    writeFileSync(path.join(src, name), text);
  }
  const runDir = path.join(dir, 'run');
  mkdirSync(path.join(runDir, 'outputs'), { recursive: true });
  return { dir, script: path.join(src, 'score.py'), runDir };
}

export function workerConfig(
  job: { script: string; runDir: string },
  over: Partial<WorkerConfig> = {},
): WorkerConfig {
  const logDir = path.join(job.runDir, 'logs', 'user', 'entry_script_log', '0');
  return {
    runtime: 'python',
    entryScript: job.script,
    sourceDirectory: path.dirname(job.script),
    python: SYSTEM_PYTHON,
    args: [],
    nodeId: '0',
    processName: 'process000',
    loggingLevel: 'INFO',
    outputAction: 'append_row',
    logDir,
    entryLogFile: path.join(logDir, 'process000.log.txt'),
    outputDir: path.join(job.runDir, 'outputs'),
    models: {},
    dataframeHeader: false,
    ...over,
  };
}

/** Collects what is written to process.stdout / process.stderr until restore(). */
export function captureOutput(): { stdout: () => string; stderr: () => string; restore: () => void } {
  let out = '';
  let err = '';
  const realOut = process.stdout.write.bind(process.stdout);
  const realErr = process.stderr.write.bind(process.stderr);
  const toText = (chunk: unknown): string =>
    typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
  process.stdout.write = ((chunk: unknown) => {
    out += toText(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: unknown) => {
    err += toText(chunk);
    return true;
  }) as typeof process.stderr.write;
  return {
    stdout: () => out,
    stderr: () => err,
    restore: () => {
      process.stdout.write = realOut;
      process.stderr.write = realErr;
    },
  };
}

/**
 * Polls until `check` holds. The default allows for a Python interpreter starting (and importing
 * pandas) on a loaded 2-core CI machine: a wait, not a speed claim.
 */
export async function waitFor(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The parent pid of a process, from /proc. */
export function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/**
 * What started an interpreter, read from /proc while it runs: 'fork server' (forked by the run's
 * prs_fork_server.py, whose own parent is `engine`), 'engine' (started by it directly), or the
 * parent's command line.
 */
export function startedBy(pid: number, engine = process.pid): string {
  const parent = parentOf(pid);
  if (parent === engine) return 'engine';
  const cmdline = readFileSync(`/proc/${parent}/cmdline`, 'utf8');
  if (cmdline.includes('prs_fork_server.py') && parentOf(parent) === engine) return 'fork server';
  return cmdline.split('\0').join(' ');
}
