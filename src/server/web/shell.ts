// "Shell here": an interactive pseudo-terminal in a worker's environment (its variables, the job's
// interpreter first on PATH, CUDA_VISIBLE_DEVICES, the source folder as working directory), so a
// user can debug exactly where the entry script runs. node-pty is loaded lazily: a host without a
// working build of it still serves everything else.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { JobSpec } from '../../common/spec';
import { gpuEnv } from '../../engine/devices/assigner';
import { pythonResourcesDir } from '../../engine/paths';
import { workerBaseEnv } from '../../engine/run';

interface Pty {
  onData(cb: (data: string) => void): void;
  onExit(cb: (e: { exitCode: number; signal?: number }) => void): void;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  kill(signal?: string): void;
}
type PtyModule = { spawn(file: string, args: string[], opts: Record<string, unknown>): Pty };

export interface ShellSink {
  data(data: string): void;
  exit(code: number | null): void;
}

/** The folder whose executables come first on the shell's PATH: the job's interpreter's. */
export function interpreterBinDir(python: string | undefined): string | null {
  if (!python) return null;
  try {
    if (statSync(python).isDirectory()) {
      const bin = path.join(python, 'bin');
      return existsSync(bin) ? bin : python;
    }
  } catch {
    return null;
  }
  return path.dirname(python);
}

/**
 * A worker's exact environment (src/engine/run.ts: the host's without src/engine/childEnv.ts's
 * variables, plus the spec's), its GPU, and the job's interpreter first on PATH.
 */
export function shellEnvironment(
  spec: JobSpec,
  gpu: number | null,
  processName: string,
): Record<string, string> {
  const env = workerBaseEnv(spec);
  delete env.CUDA_VISIBLE_DEVICES;
  for (const [k, v] of Object.entries(gpuEnv(gpu))) if (v !== undefined) env[k] = v;
  const bin = interpreterBinDir(spec.python);
  if (bin) env.PATH = `${bin}${path.delimiter}${env.PATH ?? ''}`;
  env.PRS_PROCESS_NAME = processName;
  // As in the worker: the script's folder and the azureml compatibility packages are importable.
  env.PYTHONPATH = [spec.source_directory, pythonResourcesDir(), env.PYTHONPATH]
    .filter(Boolean)
    .join(path.delimiter);
  env.TERM = 'xterm-256color';
  return env;
}

function removeRcDir(dir: string | null): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

// The rc file holds no value from the spec: the interpreter's folder and path reach it as
// variables, which bash expands once and never evaluates (a `$(...)` in a path stays text).
const BASH_RC =
  '[ -f ~/.bashrc ] && . ~/.bashrc\n' +
  'export PATH="$PRS_SHELL_INTERPRETER_BIN:$PATH"\n' +
  'printf \'Parallel Run Studio: the environment of %s (python: %s)\\n\' "$PRS_PROCESS_NAME" "$PRS_SHELL_PYTHON"\n';

interface Session {
  pty: Pty;
  /** The rc file's temporary folder, removed when the shell ends. */
  rcDir: string | null;
}

export interface ShellOptions {
  /** Where the rc files' folders go (default: the OS's temporary folder). */
  tmpDir?: string;
}

export class ShellSessions {
  private readonly sessions = new Map<string, Session>();
  private pty: PtyModule | null = null;

  constructor(private readonly options: ShellOptions = {}) {}

  private load(): PtyModule {
    if (!this.pty) {
      const require = createRequire(import.meta.url);
      this.pty = require('node-pty') as PtyModule;
    }
    return this.pty;
  }

  /**
   * bash reads ~/.bashrc, which often puts a version manager's shims (pyenv, conda) first on PATH
   * again: an rc file of our own sources it, then puts the job's interpreter back in front.
   */
  private bashRc(shell: string, spec: JobSpec, env: Record<string, string>): string | null {
    const bin = interpreterBinDir(spec.python);
    if (path.basename(shell) !== 'bash' || !bin) return null;
    const rcDir = mkdtempSync(path.join(this.options.tmpDir ?? os.tmpdir(), 'prs-shell-'));
    writeFileSync(path.join(rcDir, 'bashrc'), BASH_RC);
    env.PRS_SHELL_INTERPRETER_BIN = bin;
    env.PRS_SHELL_PYTHON = spec.python ?? '';
    return rcDir;
  }

  open(
    spec: JobSpec,
    gpu: number | null,
    processName: string,
    cols: number,
    rows: number,
    sink: ShellSink,
  ): string {
    const id = randomBytes(8).toString('hex');
    const shell = process.env.SHELL && existsSync(process.env.SHELL) ? process.env.SHELL : '/bin/bash';
    const env = shellEnvironment(spec, gpu, processName);
    const rcDir = this.bashRc(shell, spec, env);
    let pty: Pty;
    try {
      pty = this.load().spawn(shell, rcDir ? ['--rcfile', path.join(rcDir, 'bashrc')] : [], {
        name: 'xterm-256color',
        cols: Math.max(10, cols),
        rows: Math.max(4, rows),
        cwd: spec.source_directory,
        env,
      });
    } catch (err) {
      removeRcDir(rcDir);
      throw err;
    }
    pty.onData((d) => sink.data(d));
    pty.onExit((e) => {
      this.sessions.delete(id);
      removeRcDir(rcDir);
      sink.exit(e.exitCode);
    });
    this.sessions.set(id, { pty, rcDir });
    return id;
  }

  input(id: string, data: string): void {
    this.get(id).write(data);
  }

  resize(id: string, cols: number, rows: number): void {
    this.get(id).resize(Math.max(10, cols), Math.max(4, rows));
  }

  close(id: string): void {
    const session = this.sessions.get(id);
    this.sessions.delete(id);
    session?.pty.kill();
    // bash has read its rc file long ago; a host that stops does not wait for the exit event.
    removeRcDir(session?.rcDir ?? null);
  }

  closeAll(): void {
    for (const id of [...this.sessions.keys()]) this.close(id);
  }

  private get(id: string): Pty {
    const session = this.sessions.get(id);
    if (!session) throw new Error(`shell ${id} is not open`);
    return session.pty;
  }
}
