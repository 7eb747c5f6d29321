// A Python worker without a Node process of its own: the leader's process hosts the PythonRuntime
// (the pseudo-terminal and the driver's control socket) and the interpreter is its direct child.
// The Node worker process in between costs ~80 ms of CPU to start, tens of MB, and a hop for every
// message; without it the first mini-batch starts sooner and the leader talks to the driver
// directly. Everything the leader sees is the same: the WorkerProcess contract, the worker
// protocol's messages, and exits that mirror how the interpreter ended.
//
// Used for Python jobs in place of ForkLauncher (see defaultLauncher in run.ts). Parquet rows, which
// are decoded in Node, are decoded in threads of the leader's process (parquetThreads.ts), never on
// its own thread.

import { PassThrough, type Readable } from 'node:stream';
import type { LeaderMessage, WorkerConfig, WorkerMessage } from '../common/protocol';
import { WorkerLifecycle } from '../runtime/lifecycle';
import {
  pythonEnv,
  pythonToStart,
  PythonRuntime,
  workerEndFor,
  type InterpreterExit,
} from '../runtime/python/runtime';
import {
  exitInfo,
  type ExitInfo,
  type LaunchOptions,
  type WorkerLauncher,
  type WorkerProcess,
} from './launcher';
import { WorkerEvents } from './workerEvents';
import { ForkServers, forkServersEnabled } from './python/forkServers';
import type { ForkServer } from '../runtime/python/forkServer';
import { ParquetThreads } from './parquetThreads';
import { SpillFolder } from './spillFolder';

export class InlinePythonWorker implements WorkerProcess {
  private readonly out = new PassThrough();
  private readonly err = new PassThrough();
  private readonly events: WorkerEvents;
  private readonly runtime: PythonRuntime;
  /** The same init -> ready -> stop -> shutdown as a worker process's; ending it is this class's. */
  private readonly lifecycle: WorkerLifecycle;
  private killedBy: NodeJS.Signals | null = null;

  constructor(
    config: WorkerConfig,
    env: Record<string, string>,
    servers?: ForkServers,
    /** Where its driver may put a big return's lines (checked: no other file is taken). */
    spillDir?: string,
    parquet?: ParquetThreads,
  ) {
    this.events = new WorkerEvents(spillDir);
    this.runtime = new PythonRuntime(config, {
      env,
      forkServer: servers && ((python, workerEnv) => servers.for(python, workerEnv, config)),
      onReady: (imported) => servers?.learned(config, imported),
      onStdout: (data) => this.out.write(data),
      onStderr: (chunk) => this.err.write(chunk),
      onResults: (results) => this.events.deliver({ t: 'results', results }),
      onInterpreterExit: (exit) => this.interpreterExited(exit),
      readParquet: parquet && ((sources) => parquet.read(sources)),
    });
    // The interpreter starts now (its pid is known at once); the driver waits for init.
    this.runtime.start();
    this.lifecycle = new WorkerLifecycle(
      {
        send: this.events.deliver,
        stderr: (text) => void this.err.write(text),
        pid: () => this.runtime.pid ?? 0,
        ending: () => this.killedBy !== null,
        end: (code) => this.end(code),
      },
      () => this.runtime,
    );
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
    if (!this.events.ended) this.lifecycle.handle(message);
  }

  onSpawn(listener: (pid: number) => void): void {
    this.runtime.onSpawn(listener);
  }

  onMessage(listener: (message: WorkerMessage) => void): void {
    this.events.onMessage(listener);
  }

  onExit(listener: (info: ExitInfo) => void): void {
    this.events.onExit(listener);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.events.ended) return;
    this.killedBy ??= signal;
    // Never started, or ended before it was given anything to do (nothing reports that end).
    if (this.runtime.hasExited && this.lifecycle.phase === 'new') return this.finish(exitInfo(null, signal));
    this.runtime.signal(signal);
    // The exit is reported where the runtime reports the interpreter's end (init, stop, or on its
    // own), once what it sent before has been read.
  }

  /** The lifecycle's end: after a clean stop (0), or a failed init() whose interpreter may still run. */
  private async end(code: number): Promise<void> {
    if (code !== 0) await this.runtime.shutdown().catch(() => undefined);
    this.finish(this.killedBy ? exitInfo(null, this.killedBy) : exitInfo(code, null));
  }

  /** The interpreter ended on its own after init(): this worker ends the same way. */
  private interpreterExited(exit: InterpreterExit): void {
    if (this.killedBy) return this.finish(exitInfo(null, this.killedBy));
    const end = workerEndFor(exit);
    this.err.write(end.message);
    this.finish(end.signal ? exitInfo(null, end.signal) : exitInfo(end.code, null));
  }

  private finish(info: ExitInfo): void {
    if (this.events.ended) return;
    this.runtime.dispose();
    this.out.end();
    this.err.end();
    this.events.finish(info);
  }
}

/**
 * Python workers in this process; anything else through the launcher it wraps. Its workers are
 * forked from one fork server per interpreter (forkServers.ts) where the platform forks safely.
 */
export class InlinePythonLauncher implements WorkerLauncher {
  private readonly servers = forkServersEnabled() ? new ForkServers() : undefined;
  /** Its workers' parquet decoding, off the leader's thread; threads start on first use. */
  private readonly parquet = new ParquetThreads();
  readonly importFailures?: (modules: string[]) => Promise<Record<string, string> | null>;
  /** The fork server prepare() started: its imports answer the interpreter check's. */
  private prepared?: ForkServer;
  /** The drivers' spill folder for big returns (as ForkLauncher's workers have theirs). */
  private readonly spill: SpillFolder;

  constructor(
    private readonly others: WorkerLauncher,
    o: { spill?: boolean } = {},
  ) {
    this.spill = new SpillFolder(o.spill === true);
    // What the prepared fork server's imports said (pandas for tables: ~0.4 s of CPU not spent
    // twice). Without fork servers there is none to ask: the check imports them itself.
    if (this.servers)
      this.importFailures = (modules) => this.prepared?.importFailures(modules) ?? Promise.resolve(null);
  }

  launch(options: LaunchOptions): WorkerProcess {
    if (options.config?.runtime !== 'python') return this.others.launch(options);
    const env = { ...options.env };
    this.spill.give(env);
    return new InlinePythonWorker(options.config, env, this.servers, this.spill.path, this.parquet);
  }

  /** The fork server starts now, with the environment its workers' interpreters will have. */
  prepare(options: LaunchOptions): void {
    const config = options.config;
    if (!this.servers || config?.runtime !== 'python') return;
    try {
      this.prepared = this.servers.for(
        pythonToStart(config, options.env),
        pythonEnv(options.env, ''),
        config,
      );
    } catch {
      // The first worker tries again, and says why it cannot start.
    }
  }

  describe(): Record<string, unknown> {
    if (!this.servers) return { started: 'fresh interpreters (PRS_PYTHON_FORK=0, or not Linux)' };
    const forkServers = this.servers.describe();
    const forked = forkServers.some((s) => s.preloaded !== null);
    return {
      started: forked
        ? 'forked from a fork server'
        : 'fresh interpreters (no fork server was ready: see forkServers)',
      forkServers,
    };
  }

  async close(): Promise<void> {
    const servers = this.servers?.stop();
    this.spill.remove();
    await Promise.all([servers, this.parquet.close(), this.others.close?.()]);
  }
}
