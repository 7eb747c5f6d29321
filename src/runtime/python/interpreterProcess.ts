// The worker's interpreter as the Python runtime sees it, however it was started: a fresh
// `python -u prs_driver.py` in a pseudo-terminal (node-pty), or a child of the run's fork server
// in a pseudo-terminal opened here (see forkServer.ts). Either way its output arrives as terminal
// data, its end as an exit code or a signal, after that output.

import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import tty from 'node:tty';
import { spawn, type IPtyForkOptions } from 'node-pty';
import type { ForkServer } from './forkServer';

export interface InterpreterExitStatus {
  exitCode: number;
  /** The signal number, when a signal ended it. */
  signal?: number;
}

export interface InterpreterProcess {
  /** Undefined until the process exists (a fork server answers asynchronously). */
  readonly pid: number | undefined;
  /** Called once with the pid, at once if it is known. */
  onSpawn(listener: (pid: number) => void): void;
  onData(listener: (data: string) => void): void;
  /** Called once, after the output it wrote has been delivered. */
  onExit(listener: (exit: InterpreterExitStatus) => void): void;
  kill(signal: NodeJS.Signals): void;
}

export type TerminalOptions = Pick<IPtyForkOptions, 'cols' | 'rows' | 'cwd'> & {
  name: string;
  env: Record<string, string>;
};

/** A fresh interpreter in a pseudo-terminal of its own. Throws when it cannot be started. */
export function spawnInTerminal(file: string, args: string[], options: TerminalOptions): InterpreterProcess {
  const pty = spawn(file, args, options);
  return {
    pid: pty.pid,
    onSpawn: (listener) => listener(pty.pid),
    onData: (listener) => void pty.onData(listener),
    onExit: (listener) =>
      void pty.onExit(({ exitCode, signal }) => listener({ exitCode, signal: signal || undefined })),
    kill: (signal) => pty.kill(signal),
  };
}

interface NativePty {
  open(cols: number, rows: number): { master: number; slave: number; pty: string };
}

let native: NativePty | undefined;
/** node-pty's own openpty(): the public API only opens a terminal with a process in it. */
function nativePty(): NativePty {
  const require = createRequire(import.meta.url);
  native ??= (
    require('node-pty/lib/utils') as { loadNativeModule(name: string): { module: NativePty } }
  ).loadNativeModule('pty').module;
  return native;
}

/** How long an ended child's last output may take to arrive (a grandchild may hold its terminal). */
const DRAIN_MS = 1000;

/**
 * A worker forked by the fork server, in a terminal opened here; when the server cannot fork one,
 * `fresh()` starts it the usual way instead, and this object stands for that one.
 */
export function forkInTerminal(
  server: ForkServer,
  options: TerminalOptions,
  fresh: () => InterpreterProcess,
): InterpreterProcess {
  return new ForkedInterpreter(server, options, fresh);
}

class ForkedInterpreter implements InterpreterProcess {
  private child: number | undefined;
  private inner?: InterpreterProcess;
  private readonly spawnListeners: Array<(pid: number) => void> = [];
  private readonly dataListeners: Array<(data: string) => void> = [];
  private exitListener?: (exit: InterpreterExitStatus) => void;
  private exit?: InterpreterExitStatus;
  private readonly master: tty.ReadStream;
  private drained = false;
  private readonly drainWaiters: Array<() => void> = [];

  constructor(
    server: ForkServer,
    options: TerminalOptions,
    private readonly fresh: () => InterpreterProcess,
  ) {
    const term = nativePty().open(options.cols ?? 120, options.rows ?? 30);
    this.master = new tty.ReadStream(term.master);
    this.master.setEncoding('utf8');
    this.master.on('data', (data: string) => this.dataListeners.forEach((l) => l(data)));
    // EIO once no process holds the terminal's other side: everything written has been read.
    const ended = () => this.onDrained();
    this.master.on('error', ended);
    this.master.on('end', ended);
    this.master.on('close', ended);
    const { cwd = process.cwd(), env } = options;
    void server.fork({ pts: term.pty, env: { TERM: options.name, ...env }, cwd }).then((pid) => {
      // The server held the terminal open across its fork (see prs_fork_server.py): this side's
      // copy would only keep the terminal from ending when the child does.
      closeSync(term.slave);
      if (this.exit) {
        // Killed while it waited for the server (a preload that hangs must not hold the run up):
        // it was reported ended then, and ends now.
        if (pid === null) return;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
        return;
      }
      if (pid === null) return this.startFresh();
      this.child = pid;
      server.onChildExit(pid, (exit) => this.ended(exit));
      this.spawned(pid);
    });
  }

  get pid(): number | undefined {
    return this.inner ? this.inner.pid : this.child;
  }

  onSpawn(listener: (pid: number) => void): void {
    const pid = this.pid;
    if (pid !== undefined) listener(pid);
    else this.spawnListeners.push(listener);
  }

  onData(listener: (data: string) => void): void {
    this.dataListeners.push(listener);
  }

  onExit(listener: (exit: InterpreterExitStatus) => void): void {
    this.exitListener = listener;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.inner) return this.inner.kill(signal);
    if (this.child === undefined) {
      // Not forked yet: it ends here and now, as a process killed by that signal would.
      if (this.exit) return;
      this.exit = { exitCode: 0, signal: os.constants.signals[signal] };
      this.master.destroy();
      const listener = this.exitListener;
      queueMicrotask(() => listener?.(this.exit!));
      return;
    }
    if (this.exit) return;
    try {
      process.kill(this.child, signal);
    } catch {
      // already gone: its exit is on its way
    }
  }

  private spawned(pid: number): void {
    for (const l of this.spawnListeners.splice(0)) l(pid);
  }

  private startFresh(): void {
    this.master.destroy();
    let inner: InterpreterProcess;
    try {
      inner = this.fresh();
    } catch (err) {
      // As a spawn that failed at once would end: the message on its terminal, then an exit.
      const message = `cannot start the Python interpreter: ${(err as Error).message}\r\n`;
      this.dataListeners.forEach((l) => l(message));
      this.exitListener?.({ exitCode: 1 });
      return;
    }
    this.inner = inner;
    inner.onData((data) => this.dataListeners.forEach((l) => l(data)));
    inner.onExit((exit) => this.exitListener?.(exit));
    inner.onSpawn((pid) => this.spawned(pid));
  }

  private ended(exit: InterpreterExitStatus): void {
    this.exit = exit;
    const timer = setTimeout(() => this.onDrained(), DRAIN_MS);
    this.drainWaiters.push(() => {
      clearTimeout(timer);
      this.master.destroy();
      this.exitListener?.({ exitCode: exit.exitCode, signal: exit.signal || undefined });
    });
    if (this.drained) this.onDrained();
  }

  private onDrained(): void {
    this.drained = true;
    if (!this.exit) return;
    for (const w of this.drainWaiters.splice(0)) w();
  }
}
