// A Python worker without a Node process of its own: the leader's process hosts the PythonRuntime
// (the pseudo-terminal and the driver's control socket) and the interpreter is its direct child.
// The Node worker process in between costs ~80 ms of CPU to start, tens of MB, and a hop for every
// message; without it the first mini-batch starts sooner and the leader talks to the driver
// directly. Everything the leader sees is the same: the WorkerProcess contract, the worker
// protocol's messages, and exits that mirror how the interpreter ended.
//
// Used for file inputs in place of ForkLauncher (see defaultLauncher in run.ts). Tabular inputs
// keep a worker process: parquet rows are decoded there, work that must not run on the leader's
// thread.

import { PassThrough, type Readable } from 'node:stream';
import type { LeaderMessage, WorkerConfig, WorkerMessage } from '../common/protocol';
import { errorInfo } from '../runtime/errors';
import { PythonRuntime, workerEndFor, type InterpreterExit } from '../runtime/python/runtime';
import { EXIT_SELF_STOP, RuntimeError } from '../runtime/runtime';
import {
  exitInfo,
  type ExitInfo,
  type LaunchOptions,
  type WorkerLauncher,
  type WorkerProcess,
} from './launcher';

export class InlinePythonWorker implements WorkerProcess {
  private readonly out = new PassThrough();
  private readonly err = new PassThrough();
  private readonly runtime: PythonRuntime;
  private readonly messageListeners: Array<(message: WorkerMessage) => void> = [];
  private readonly exitListeners: Array<(info: ExitInfo) => void> = [];
  private starting: Promise<void> | undefined;
  private exited = false;
  private killedBy: NodeJS.Signals | null = null;

  constructor(config: WorkerConfig, env: Record<string, string>) {
    this.runtime = new PythonRuntime(config, {
      env,
      onStdout: (data) => this.out.write(data),
      onStderr: (chunk) => this.err.write(chunk),
      onResults: (results) => this.deliver({ t: 'results', results }),
      onInterpreterExit: (exit) => this.interpreterExited(exit),
    });
    // The interpreter starts now (its pid is known at once); the driver waits for init.
    this.runtime.start();
  }

  get pid(): number | undefined {
    return this.runtime.pid;
  }
  get stdout(): Readable {
    return this.out;
  }
  get stderr(): Readable {
    return this.err;
  }

  send(message: LeaderMessage): void {
    if (this.exited) return;
    switch (message.t) {
      case 'init':
        this.starting ??= this.init();
        break;
      case 'run':
        this.runtime.submit(message.batches);
        break;
      case 'stop':
        void this.stop();
        break;
    }
  }

  onMessage(listener: (message: WorkerMessage) => void): void {
    this.messageListeners.push(listener);
  }

  onExit(listener: (info: ExitInfo) => void): void {
    this.exitListeners.push(listener);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.exited) return;
    this.killedBy ??= signal;
    // Never started, or ended before it was given anything to do (nothing reports that end).
    if (this.runtime.hasExited && !this.starting) return this.finish(exitInfo(null, signal));
    try {
      process.kill(this.runtime.pid!, signal);
    } catch {
      // Already gone: its exit is on its way.
    }
    // The exit is reported where the runtime reports the interpreter's end (init, stop, or on its
    // own), once what it sent before has been read.
  }

  private async init(): Promise<void> {
    const t0 = performance.now();
    try {
      await this.runtime.init();
    } catch (err) {
      if (this.killedBy) return this.finish(exitInfo(null, this.killedBy));
      const error = err instanceof RuntimeError ? err.info : errorInfo(err);
      this.err.write(`init() failed: ${error.traceback ?? `${error.type}: ${error.message}`}\n`);
      this.deliver({ t: 'init-failed', error });
      await this.runtime.shutdown().catch(() => undefined);
      this.finish(exitInfo(EXIT_SELF_STOP, null));
      return;
    }
    this.deliver({ t: 'ready', pid: this.runtime.pid ?? 0, initMs: performance.now() - t0 });
  }

  private async stop(): Promise<void> {
    // shutdown() always follows a finished init(); a stop during init() waits for it.
    await this.starting;
    if (this.exited) return;
    try {
      await this.runtime.shutdown();
    } catch (err) {
      const e = errorInfo(err);
      this.err.write(`shutdown() failed: ${e.traceback ?? e.message}\n`);
    }
    this.finish(this.killedBy ? exitInfo(null, this.killedBy) : exitInfo(0, null));
  }

  /** The interpreter ended on its own after init(): this worker ends the same way. */
  private interpreterExited(exit: InterpreterExit): void {
    if (this.killedBy) return this.finish(exitInfo(null, this.killedBy));
    const end = workerEndFor(exit);
    this.err.write(end.message);
    this.finish(end.signal ? exitInfo(null, end.signal) : exitInfo(end.code, null));
  }

  private deliver(message: WorkerMessage): void {
    if (this.exited) return;
    for (const listener of this.messageListeners) listener(message);
  }

  private finish(info: ExitInfo): void {
    if (this.exited) return;
    this.exited = true;
    this.runtime.dispose();
    this.out.end();
    this.err.end();
    for (const listener of this.exitListeners) listener(info);
  }
}

/** Python workers in this process; anything else through the launcher it wraps. */
export class InlinePythonLauncher implements WorkerLauncher {
  constructor(private readonly others: WorkerLauncher) {}

  launch(options: LaunchOptions): WorkerProcess {
    if (options.config?.runtime !== 'python') return this.others.launch(options);
    return new InlinePythonWorker(options.config, options.env);
  }
}
