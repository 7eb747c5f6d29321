// Shared test plumbing: temp folders, spec files, and the real `prs` CLI as a child process.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PRS = path.join(ROOT, 'bin', 'prs.js');
export const DEBIAN_PYTHON = '/usr/bin/python3';

export function tempDir(prefix = 'prs-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes files given as { 'relative/path': content } under dir. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

export interface PrsResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The --json summary (the last stdout line), when there is one. */
  json?: {
    status: string;
    exit_code: number;
    run_dir: string;
    output_file: string | null;
    mini_batches: { total: number; succeeded: number; failed: number };
    items: { succeeded: number; failed: number };
    duration_s: number;
    reason?: string;
  };
}

export function startPrs(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  return spawn(process.execPath, [PRS, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function collect(child: ChildProcess): Promise<PrsResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      let json: PrsResult['json'];
      if (last.startsWith('{')) {
        try {
          json = JSON.parse(last);
        } catch {
          json = undefined;
        }
      }
      resolve({ code, signal, stdout, stderr, json });
    });
  });
}

export function prs(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<PrsResult> {
  return collect(startPrs(args, options));
}

/** A job folder with a Node entry script and numbered text files as input. */
export function nodeJob(
  dir: string,
  opts: { script: string; files?: number; spec?: Record<string, unknown>; name?: string },
): string {
  const files: Record<string, string> = { 'src/score.mjs': opts.script };
  for (let i = 0; i < (opts.files ?? 10); i++)
    files[`data/f${String(i).padStart(4, '0')}.txt`] = `item ${i}\n`;
  writeFiles(dir, files);
  const spec = {
    name: opts.name ?? 'test-job',
    entry_script: 'score.mjs',
    source_directory: './src',
    inputs: [{ path: './data', type: 'files' }],
    mini_batch_size: 2,
    process_count_per_node: 2,
    run_invocation_timeout: 30,
    ...opts.spec,
  };
  const specPath = path.join(dir, 'job.json');
  writeFileSync(specPath, JSON.stringify(spec, null, 2));
  return specPath;
}

/**
 * An entry script whose run() kills its own process with `kill -9` (another process, as an
 * operator's would) once the leader holds two memory samples of it: it waits until the run's
 * samples.jsonl, under the runs folder RUNS_DIR names, lists its pid twice (25 s at most). A sleep
 * of "a few sample intervals" would leave the explanation without samples on a loaded machine.
 */
export const KILLED_ONCE_SAMPLED = `
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
function samplesOfMe() {
  let n = 0;
  const runs = process.env.RUNS_DIR;
  for (const job of existsSync(runs) ? readdirSync(runs) : [])
    for (const run of readdirSync(path.join(runs, job))) {
      const perf = path.join(runs, job, run, 'logs', 'perf');
      for (const node of existsSync(perf) ? readdirSync(perf) : []) {
        const file = path.join(perf, node, 'samples.jsonl');
        if (existsSync(file)) n += readFileSync(file, 'utf8').split('"pid":' + process.pid + ',').length - 1;
      }
    }
  return n;
}
export async function run(b) {
  const until = Date.now() + 25000;
  while (samplesOfMe() < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  execFileSync('kill', ['-9', String(process.pid)]);
}`;
