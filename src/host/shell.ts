// "Shell here": an interactive pseudo-terminal in a worker's environment (its variables, the job's
// interpreter first on PATH and as `python`, CUDA_VISIBLE_DEVICES, the source folder as working
// directory), so a user can debug exactly where the entry script runs. node-pty is loaded lazily: a host without a
// working build of it still serves everything else.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { JobSpec } from '../common/spec';
import { resolveInterpreterSync } from '../runtime/interpreter';
import { gpuEnv } from '../engine/devices/assigner';
import { pythonResourcesDir } from '../runtime/paths';
import { workerBaseEnv } from '../engine/run';

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

/**
 * The interpreter the job's workers run, by the one resolver they use (`python:`; a venv's or conda
 * env's bin/python when it is a folder; else python3 on the shell's PATH), or null when there is none.
 */
export function interpreterExecutable(python: string | undefined, pathVar: string): string | null {
  const found = resolveInterpreterSync(python, { baseDir: path.parse(process.cwd()).root, pathVar });
  return found.ok ? found.executable : null;
}

/** The folder whose executables come first on the shell's PATH: the job's own interpreter's, if it names one. */
export function interpreterBinDir(python: string | undefined): string | null {
  const exe = python ? interpreterExecutable(python, '') : null;
  return exe ? path.dirname(exe) : null;
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

function removeSessionDir(dir: string | null): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

// The rc file holds no value from the spec: the interpreter's folder and path reach it as
// variables, which bash expands once and never evaluates (a `$(...)` in a path stays text).
const BASH_RC =
  '[ -f ~/.bashrc ] && . ~/.bashrc\n' +
  'export PATH="$PRS_SHELL_INTERPRETER_BIN:$PATH"\n' +
  'printf \'Parallel Run Studio: the environment of %s (python: %s)\\n\' "$PRS_PROCESS_NAME" "$PRS_SHELL_PYTHON"\n';

const PYTHON_SHIM = '#!/bin/sh\nexec "$PRS_SHELL_PYTHON_EXE" "$@"\n';

interface Session {
  pty: Pty;
  /** The session's temporary folder (the rc file, the `python` link), removed when the shell ends. */
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
   * The session's folder: a `python` that is the job's interpreter (Debian has no `python`, and a
   * version manager's shim would be another interpreter), first on PATH; and for bash, which reads
   * ~/.bashrc (that often puts pyenv's or conda's shims first again), an rc file of our own that
   * sources it, then puts the job's interpreter back in front.
   */
  private sessionDir(shell: string, spec: JobSpec, env: Record<string, string>): string | null {
    const bin = interpreterBinDir(spec.python);
    const exe = interpreterExecutable(spec.python, env.PATH ?? '');
    const bash = path.basename(shell) === 'bash';
    if (!exe && !(bash && bin)) return null;
    const dir = mkdtempSync(path.join(this.options.tmpDir ?? os.tmpdir(), 'prs-shell-'));
    const front: string[] = [];
    if (exe) {
      const links = path.join(dir, 'bin');
      mkdirSync(links);
      // A script, not a link: Python finds a venv by the path it was started as, and the path of
      // the interpreter reaches the script as a variable (expanded, never evaluated).
      writeFileSync(path.join(links, 'python'), PYTHON_SHIM, { mode: 0o755 });
      env.PRS_SHELL_PYTHON_EXE = exe;
      front.push(links);
    }
    if (bin) front.push(bin);
    env.PATH = [...front, env.PATH ?? ''].join(path.delimiter);
    if (bash) {
      writeFileSync(path.join(dir, 'bashrc'), BASH_RC);
      env.PRS_SHELL_INTERPRETER_BIN = front.join(path.delimiter);
      env.PRS_SHELL_PYTHON = spec.python ?? exe ?? '';
    }
    return dir;
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
    const rcDir = this.sessionDir(shell, spec, env);
    const rcFile = rcDir && path.join(rcDir, 'bashrc');
    let pty: Pty;
    try {
      pty = this.load().spawn(shell, rcFile && existsSync(rcFile) ? ['--rcfile', rcFile] : [], {
        name: 'xterm-256color',
        cols: Math.max(10, cols),
        rows: Math.max(4, rows),
        cwd: spec.source_directory,
        env,
      });
    } catch (err) {
      removeSessionDir(rcDir);
      throw err;
    }
    pty.onData((d) => sink.data(d));
    pty.onExit((e) => {
      this.sessions.delete(id);
      removeSessionDir(rcDir);
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
    removeSessionDir(session?.rcDir ?? null);
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
