// Starting worker processes behind one small interface, so the engine does not care whether a
// worker is a child_process.fork (CLI, web host, tests) or an Electron utilityProcess (desktop).

import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { LeaderMessage, WorkerConfig, WorkerMessage } from '../common/protocol';
import { workerEntryPath } from '../runtime/paths';
import { SpillFolder } from './spillFolder';
import { lineSplitter } from '../common/lineSplitter';
import { streamDone, WorkerEvents, type ExitInfo } from './workerEvents';
import { parseWorkerLine } from './workerLine';

export type { ExitInfo, ExitReason } from './workerEvents';

export interface WorkerProcess {
  readonly pid: number | undefined;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  send(message: LeaderMessage): void;
  onMessage(listener: (message: WorkerMessage) => void): void;
  /**
   * The worker sent a line that is not a message (not JSON, or not an object with a `t`): the
   * leader names it as the worker's protocol error instead of crashing on it.
   */
  onProtocolError?(listener: (detail: string) => void): void;
  /**
   * Where the pid is not known at launch (a forked Python worker, an Electron utility process),
   * called once with it when it is.
   */
  onSpawn?(listener: (pid: number) => void): void;
  /** Called exactly once. */
  onExit(listener: (info: ExitInfo) => void): void;
  kill(signal?: NodeJS.Signals): void;
}

export interface LaunchOptions {
  /** processNNN, for diagnostics. */
  name: string;
  /**
   * The worker's whole environment, passed on as it is: the leader builds it from the host's
   * environment without the variables of src/engine/childEnv.ts, plus the spec's own.
   */
  env: Record<string, string>;
  cwd: string;
  /**
   * The worker's configuration, also sent as its first message ('init'). A launcher may start the
   * runtime from it at once (InlinePythonLauncher starts the interpreter).
   */
  config?: WorkerConfig;
}

export interface WorkerLauncher {
  launch(options: LaunchOptions): WorkerProcess;
  /**
   * The run's workers will be launched like this (the first one's options): the launcher may get
   * ready for them now, while the run sets up (InlinePythonLauncher starts their fork server).
   */
  prepare?(options: LaunchOptions): void;
  /**
   * After prepare: why each of `modules` cannot be imported by the workers' interpreter ({} when
   * all can), where what prepare started imports them anyway (a fork server), so the interpreter
   * check need not import them a second time; null where it cannot tell.
   */
  importFailures?(modules: string[]): Promise<Record<string, string> | null>;
  /** How it started the run's workers, for run.json (the fork servers and what they preloaded). */
  describe?(): Record<string, unknown>;
  /**
   * The run is over: whatever the launcher keeps for its workers (a fork server) goes. Resolves once
   * those processes have ended and been reaped, so that a `prs run` leaves no process behind it and
   * its whole CPU time (the fork server's children's included) counts as its own.
   */
  close?(): void | Promise<void>;
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
function readLines(
  stream: Readable,
  onMessage: (message: WorkerMessage) => void,
  onBadLine: (detail: string) => void,
): void {
  stream.setEncoding('utf8');
  stream.on(
    'data',
    lineSplitter((line) => {
      const parsed = parseWorkerLine(line);
      if (typeof parsed === 'string') onBadLine(parsed);
      else onMessage(parsed);
    }),
  );
}

/**
 * A second way in for a worker's results: a Unix socket of its own (path in PRS_RESULT_SOCKET) that
 * a process the worker starts can write to directly. The Python driver does: each result then
 * reaches the leader without waking the worker (the worker's own pipe is close-on-exec, so it
 * cannot be handed down). Same line format as the pipe; each connection carries whole messages.
 */
export class ResultSocket {
  readonly path: string;
  private readonly dir: string;
  private readonly server: net.Server;
  private open = 0;
  private closedWaiters: Array<() => void> = [];

  constructor(
    deliver: (message: WorkerMessage) => void,
    onBadLine: (detail: string) => void = () => undefined,
  ) {
    // A private folder (mode 0700): nobody else on the machine can connect.
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'prs-res-'));
    this.path = path.join(this.dir, 'results.sock');
    this.server = net.createServer((socket) => {
      this.open++;
      readLines(socket, deliver, onBadLine);
      socket.on('error', () => socket.destroy());
      socket.once('close', () => {
        if (--this.open === 0) for (const resolve of this.closedWaiters.splice(0)) resolve();
      });
    });
    this.server.on('error', () => undefined);
    this.server.listen(this.path);
  }

  /** Resolves once no connection is open (what they sent has been delivered). */
  drained(): Promise<void> {
    return this.open === 0 ? Promise.resolve() : new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  close(): void {
    this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

class ForkedWorker implements WorkerProcess {
  private readonly events: WorkerEvents;
  readonly deliver: (message: WorkerMessage) => void;
  readonly badLine: (detail: string) => void;

  constructor(
    private readonly child: ChildProcess,
    results?: ResultSocket,
    spillDir?: string,
  ) {
    this.events = new WorkerEvents(spillDir);
    this.deliver = this.events.deliver;
    this.badLine = this.events.badLine;
    const channel = (child.stdio[3] as Readable | null) ?? null;
    // A worker that died while a message was on its way: its exit is reported, not the write.
    (child.stdio[4] as Writable | null)?.on('error', () => undefined);
    child.on('message', (m) => this.deliver(m as WorkerMessage));
    if (channel) readLines(channel, this.deliver, this.badLine);
    const channelDone = streamDone(channel);
    child.once('exit', (code, signal) =>
      // Its results may still be on the channel and the socket, its last lines in its pipes.
      this.events.exitAfter(
        [channelDone, results?.drained(), streamDone(child.stdout), streamDone(child.stderr)],
        () => exitInfo(code, signal),
        () => results?.close(),
      ),
    );
    child.once('error', (err) => {
      // 'error' without a pid means the process never started.
      if (child.pid === undefined) {
        results?.close();
        this.events.launchFailed(err.message);
      }
    });
  }

  onProtocolError(listener: (detail: string) => void): void {
    this.events.onProtocolError(listener);
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
    // JSON lines on a pipe of their own (fd 4): a stream write never blocks the leader, where a
    // full IPC channel makes child.send() wait for the worker to read.
    const input = this.child.stdio[4] as Writable | null;
    if (this.events.ended || !input?.writable) return;
    input.write(JSON.stringify(message) + '\n');
  }

  onMessage(listener: (message: WorkerMessage) => void): void {
    this.events.onMessage(listener);
  }

  onExit(listener: (info: ExitInfo) => void): void {
    this.events.onExit(listener);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.events.ended) this.child.kill(signal);
  }
}

/**
 * The plain-Node launcher: child_process.fork of the bundled worker entry point. The leader's
 * messages go as JSON lines on a pipe of their own, fd 4 (few, each carrying many mini-batches); the
 * worker's come back on another, fd 3 (see src/runtime/channel.ts), and results may also come on a
 * socket from a process the worker started (see ResultSocket). The IPC channel stays open only so
 * that the worker hears the leader's process go ('disconnect').
 */
export class ForkLauncher implements WorkerLauncher {
  /** The workers' spill folder (one for all of them). */
  private readonly spill: SpillFolder;

  /**
   * `spill`: the workers may hand big returns over as files (src/runtime/spillLines.ts), which only
   * a leader on this machine can read: a run's own launcher, not an agent's.
   */
  constructor(o: { spill?: boolean } = {}) {
    this.spill = new SpillFolder(o.spill === true);
  }

  launch(options: LaunchOptions): WorkerProcess {
    let results: ResultSocket | undefined;
    const env: Record<string, string> = { ...options.env, PRS_CHANNEL_FD: '3', PRS_INPUT_FD: '4' };
    this.spill.give(env);
    delete env.PRS_RESULT_SOCKET;
    // Only the Python runtime (a separate interpreter) has a use for it: a Node worker gets none,
    // which spares its start a folder and a listening socket.
    if (process.platform !== 'win32' && options.config?.runtime !== 'node') {
      results = new ResultSocket(
        (m) => worker.deliver(m),
        (detail) => worker.badLine(detail),
      );
      env.PRS_RESULT_SOCKET = results.path;
    }
    const child = fork(workerEntryPath(), [options.name], {
      cwd: options.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'ipc'],
    });
    const worker = new ForkedWorker(child, results, this.spill.path);
    return worker;
  }

  close(): void {
    this.spill.remove();
  }
}
