// Starting worker processes behind one small interface, so the engine does not care whether a
// worker is a child_process.fork (CLI, web host, tests) or an Electron utilityProcess (desktop).

import { fork, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { LeaderMessage, WorkerMessage } from '../common/protocol';
import { workerEntryPath } from './paths';

export type ExitReason = 'clean-exit' | 'crashed' | 'killed' | 'launch-failed';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  reason: ExitReason;
  /** ParallelRunStep's returncode: the exit code, or minus the signal number (-9 for SIGKILL). */
  returnCode: number;
  /** Launch failures carry the OS error. */
  error?: string;
}

export interface WorkerProcess {
  readonly pid: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  send(message: LeaderMessage): void;
  onMessage(listener: (message: WorkerMessage) => void): void;
  /** Called exactly once. */
  onExit(listener: (info: ExitInfo) => void): void;
  kill(signal?: NodeJS.Signals): void;
}

export interface LaunchOptions {
  /** processNNN, for diagnostics. */
  name: string;
  env: Record<string, string>;
  cwd: string;
}

export interface WorkerLauncher {
  launch(options: LaunchOptions): WorkerProcess;
}

// Variables that would let a job inject code into every process it starts beyond its own.
const STRIPPED_ENV = ['LD_PRELOAD', 'DYLD_INSERT_LIBRARIES', 'NODE_OPTIONS', 'ELECTRON_RUN_AS_NODE'];

export function workerEnv(env: Record<string, string>): Record<string, string> {
  const clean = { ...env };
  for (const key of STRIPPED_ENV) delete clean[key];
  return clean;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

export function exitInfo(code: number | null, signal: NodeJS.Signals | null): ExitInfo {
  if (signal) {
    return { code, signal, reason: 'killed', returnCode: -(SIGNAL_NUMBERS[signal] ?? 1) };
  }
  return { code, signal, reason: code === 0 ? 'clean-exit' : 'crashed', returnCode: code ?? 1 };
}

/** Reads newline-delimited JSON messages from a stream, many per chunk. */
function readLines(stream: Readable, onMessage: (message: WorkerMessage) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line) onMessage(JSON.parse(line) as WorkerMessage);
  });
}

// After the process exits, its channel may still hold messages in flight: wait for the pipe to
// close (bounded, since a descendant that inherited it could keep it open).
const CHANNEL_DRAIN_MS = 1000;

class ForkedWorker implements WorkerProcess {
  private exited = false;
  private readonly exitListeners: Array<(info: ExitInfo) => void> = [];
  private readonly messageListeners: Array<(message: WorkerMessage) => void> = [];
  private readonly channel: Readable | null;
  private channelClosed: Promise<void>;

  constructor(private readonly child: ChildProcess) {
    this.channel = (child.stdio[3] as Readable | null) ?? null;
    const deliver = (m: WorkerMessage) => {
      for (const listener of this.messageListeners) listener(m);
    };
    child.on('message', (m) => deliver(m as WorkerMessage));
    this.channelClosed = new Promise((resolve) => {
      if (!this.channel) return resolve();
      readLines(this.channel, deliver);
      this.channel.once('close', () => resolve());
    });
    child.once('exit', (code, signal) => {
      const drained = Promise.race([this.channelClosed, new Promise((r) => setTimeout(r, CHANNEL_DRAIN_MS))]);
      void drained.then(() => this.finish(exitInfo(code, signal)));
    });
    child.once('error', (err) => {
      // 'error' without a pid means the process never started.
      if (child.pid === undefined) {
        this.finish({ code: null, signal: null, reason: 'launch-failed', returnCode: 1, error: err.message });
      }
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
  get stdout(): Readable | null {
    return this.child.stdout;
  }
  get stderr(): Readable | null {
    return this.child.stderr;
  }

  send(message: LeaderMessage): void {
    if (this.exited || !this.child.connected) return;
    this.child.send(message);
  }

  onMessage(listener: (message: WorkerMessage) => void): void {
    this.messageListeners.push(listener);
  }

  onExit(listener: (info: ExitInfo) => void): void {
    this.exitListeners.push(listener);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.exited) this.child.kill(signal);
  }

  private finish(info: ExitInfo): void {
    if (this.exited) return;
    this.exited = true;
    for (const listener of this.exitListeners) listener(info);
  }
}

/**
 * The plain-Node launcher: child_process.fork of the bundled worker entry point. The leader's
 * messages go over the IPC channel (few, each carrying many mini-batches); the worker's come back
 * on a pipe of their own, fd 3 (see src/worker/channel.ts).
 */
export class ForkLauncher implements WorkerLauncher {
  launch(options: LaunchOptions): WorkerProcess {
    const child = fork(workerEntryPath(), [options.name], {
      cwd: options.cwd,
      env: { ...workerEnv(options.env), PRS_CHANNEL_FD: '3' },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'ipc'],
    });
    return new ForkedWorker(child);
  }
}
