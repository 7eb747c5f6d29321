// The packaged desktop app's WorkerLauncher: each worker is an Electron utilityProcess (a Node
// process that Electron owns and ends with the app; a packaged app has no `node` to fork), running
// the worker bundle through workerShim.ts. A utility process gets no extra file descriptors, so the
// worker takes its fallback path: messages both ways over parentPort. Results of a Python worker
// still go straight to the leader on a ResultSocket, as under ForkLauncher. `utilityProcess` is
// injected so this is tested under plain Node.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { LeaderMessage, WorkerMessage } from '../common/protocol';
import type { ExitInfo, LaunchOptions, WorkerLauncher, WorkerProcess } from '../engine/launcher';
import { ResultSocket, exitInfo } from '../engine/launcher';
import { streamDone, WorkerEvents } from '../engine/workerEvents';

/** What this launcher uses of Electron's `utilityProcess.fork` options. */
export interface UtilityForkOptions {
  env: Record<string, string>;
  cwd: string;
  stdio: 'pipe';
  serviceName: string;
}

/** What this launcher uses of an Electron UtilityProcess. */
export interface UtilityChild {
  /** Undefined until the process has spawned, and again after it exits. */
  readonly pid: number | undefined;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  postMessage(message: unknown): void;
  /** SIGTERM on POSIX. */
  kill(): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  once(event: 'exit', listener: (code: number) => void): unknown;
}

/** Electron's `utilityProcess` module, or a stand-in. */
export interface UtilityProcessModule {
  fork(modulePath: string, args: string[], options: UtilityForkOptions): UtilityChild;
}

// The worker's channels are the launcher's to set. A utility process has no fds 3 and 4 (ForkLauncher's
// result and leader pipes): a value inherited from the environment would point the worker at a stray
// descriptor, or the driver at a socket nobody reads.
const CHANNEL_VARIABLES = ['PRS_CHANNEL_FD', 'PRS_INPUT_FD', 'PRS_RESULT_SOCKET', 'PRS_EXIT_NOTE'];

/**
 * utilityProcess reports only a number, and for a process a signal ended it is the signal's (9 for
 * SIGKILL), the same number an exit(9) gives. The shim writes its exit code to the note file
 * (PRS_EXIT_NOTE) from its 'exit' handler, which a signal never lets run: a number without that note
 * is the signal's. ParallelRunStep (and the out-of-memory finding) then see -9, as under fork.
 */
export function utilityExitInfo(code: number, note: string | undefined): ExitInfo {
  if (note === undefined || code <= 0) return exitInfo(code, null);
  let noted: string | null = null;
  try {
    noted = readFileSync(note, 'utf8');
  } catch {
    // No note: the process never ran its exit handlers.
  }
  if (noted !== null) return exitInfo(code, null);
  const signal = Object.entries(os.constants.signals).find(([, n]) => n === code)?.[0];
  if (!signal) return exitInfo(code, null);
  return { code: null, signal: signal as NodeJS.Signals, reason: 'killed', returnCode: -code };
}

class UtilityWorker implements WorkerProcess {
  private readonly events = new WorkerEvents();
  readonly deliver = this.events.deliver;
  private killedBy: NodeJS.Signals | null = null;
  private child?: UtilityChild;

  /** Attached after the fork, so the ResultSocket can exist (and its path be in the env) first. */
  attach(child: UtilityChild, results: ResultSocket | undefined): void {
    this.child = child;
    child.on('message', (m) => this.deliver(m as WorkerMessage));
    child.once('exit', (code) =>
      // A result may still be on its way on the socket, its last lines in its pipes.
      this.events.exitAfter(
        [results?.drained(), streamDone(child.stdout), streamDone(child.stderr)],
        // A kill we asked for is reported as that signal (-9 for a timeout); any other end is told
        // apart from an exit by the shim's note, which goes with the socket's folder.
        () =>
          this.killedBy
            ? exitInfo(null, this.killedBy)
            : utilityExitInfo(code, results ? exitNotePath(results) : undefined),
        () => results?.close(),
      ),
    );
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }
  get stdout(): Readable | null {
    return (this.child?.stdout as Readable | null | undefined) ?? null;
  }
  get stderr(): Readable | null {
    return (this.child?.stderr as Readable | null | undefined) ?? null;
  }

  send(message: LeaderMessage): void {
    if (!this.events.ended) this.child?.postMessage(message);
  }

  onMessage(listener: (message: WorkerMessage) => void): void {
    this.events.onMessage(listener);
  }

  onExit(listener: (info: ExitInfo) => void): void {
    this.events.onExit(listener);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    const child = this.child;
    if (this.events.ended || !child) return;
    this.killedBy = signal;
    // utilityProcess.kill() only ever sends SIGTERM: any other signal goes to the pid directly.
    if (signal !== 'SIGTERM' && child.pid !== undefined) {
      try {
        process.kill(child.pid, signal);
        return;
      } catch {
        // Gone already, or not ours to signal: let Electron end it.
      }
    }
    child.kill();
  }

  /** A fork that threw: reported like ForkLauncher's launch failures. */
  failed(error: Error): void {
    this.events.launchFailed(error.message);
  }
}

/** In the result socket's private folder, so it is removed with it. */
function exitNotePath(results: ResultSocket): string {
  return path.join(path.dirname(results.path), 'exit-code');
}

export class UtilityProcessLauncher implements WorkerLauncher {
  constructor(
    private readonly utility: UtilityProcessModule,
    /** out/main/workerShim.js */
    private readonly shimPath: string,
    /** out/node/worker.js */
    private readonly workerPath: () => string,
  ) {}

  launch(options: LaunchOptions): WorkerProcess {
    const worker = new UtilityWorker();
    const env = { ...options.env };
    for (const key of CHANNEL_VARIABLES) delete env[key];
    let results: ResultSocket | undefined;
    try {
      if (process.platform !== 'win32') {
        results = new ResultSocket(worker.deliver);
        env.PRS_RESULT_SOCKET = results.path;
        env.PRS_EXIT_NOTE = exitNotePath(results);
      }
      const child = this.utility.fork(this.shimPath, [this.workerPath(), options.name], {
        env,
        cwd: options.cwd,
        stdio: 'pipe',
        serviceName: `Parallel Run Studio ${options.name}`,
      });
      worker.attach(child, results);
    } catch (err) {
      results?.close();
      worker.failed(err instanceof Error ? err : new Error(String(err)));
    }
    return worker;
  }
}
