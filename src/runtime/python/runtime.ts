// The Python runtime: one interpreter per worker, for the worker's whole life, running
// resources/python/prs_driver.py in a pseudo-terminal (node-pty) so the script's output is
// unbuffered and terminal-aware, exactly as in the user's own terminal. What the script prints goes
// to this worker's stdout and stderr, raw; the leader makes the plain-text log files from them.
//
// Speed: a worker hands the driver mini-batches in bulk (submit) and the driver writes each result
// straight to the leader's result socket (PRS_RESULT_SOCKET, see ForkLauncher) before it starts the
// next one. This process is then off the path of every mini-batch: one wake-up per bulk message
// instead of two per mini-batch. Without that socket (another launcher), the driver sends results
// here and the worker passes them on.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import type { BatchSource, MiniBatch, Table } from '../../common/minibatch';
import type { BatchResult, ErrorInfo, WorkerConfig } from '../../common/protocol';
import type { ColumnTable } from '../tables';
import { pythonResourcesDir } from '../paths';
import { interpreterToStart, resolveInterpreterSync } from '../../runtime/interpreter';
import { EXIT_SELF_STOP, RuntimeError, type BatchOutcome, type Runtime } from '../runtime';
import { DriverChannel } from './channel';
import type { ForkServer } from './forkServer';
import { forkInTerminal, spawnInTerminal, type InterpreterProcess } from './interpreterProcess';

/** What the driver answers, one JSON object per line (see prs_driver.py). */
type DriverReply =
  | { t: 'ready'; initMs: number; imported?: string[] }
  | { t: 'init-failed'; error: ErrorInfo }
  /** One finished mini-batch, in the protocol's own terms (the leader reads the same line). */
  | { t: 'results'; results: BatchResult[] }
  | { t: 'bye' };

/** A mini-batch as the driver gets it: parquet rows read here, or why they could not be. */
type DriverBatch = MiniBatch & {
  table?: Table | ColumnTable;
  readMs?: number;
  inputError?: ErrorInfo;
  reply?: true;
};

export interface InterpreterExit {
  exitCode: number;
  /** The signal number, when a signal ended it. */
  signal?: number;
  /** What it was doing: 'init' | 'run' (with the mini-batch id) | 'idle'. */
  during: string;
}

export interface PythonRuntimeOptions {
  /**
   * Called when the interpreter dies on its own after init() (os._exit, a segfault, the OOM killer).
   * The host decides how its worker ends: the runtime never ends the process it lives in.
   */
  onInterpreterExit: (exit: InterpreterExit) => void;
  /** Terminal size the script sees. */
  cols?: number;
  rows?: number;
  /** The leader's result socket, for the driver to write submitted mini-batches' results to directly. */
  resultSocket?: string;
  /** Results of submitted mini-batches that came back here (no resultSocket, or it could not be used). */
  onResults?: (results: BatchResult[]) => void;
  /** The interpreter's environment before the driver's own variables. Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** Where the script's terminal output goes. Default: this process's stdout and stderr. */
  onStdout?: (data: string) => void;
  onStderr?: (chunk: Buffer) => void;
  /**
   * The run's fork server for this interpreter, when there is one: the worker is forked from it
   * instead of started fresh (forkServer.ts). Given the worker's environment, it may start one.
   */
  forkServer?: (python: string, env: Record<string, string>) => ForkServer | undefined;
  /** init() succeeded; `imported` names the preloadable modules the script had imported by then. */
  onReady?: (imported: string[]) => void;
  /**
   * Decodes a parquet mini-batch's rows (hyparquet: JavaScript, tens of milliseconds). Default: on
   * this thread, as a worker process does; a leader hosting the runtime gives a thread of its own.
   */
  readParquet?: (sources: BatchSource[]) => Promise<Table | ColumnTable>;
}

/** Interpreters still running, killed if this process exits first (one listener for them all). */
const live = new Set<InterpreterProcess>();
let exitHookSet = false;
function killOnExit(pty: InterpreterProcess): void {
  live.add(pty);
  if (exitHookSet) return;
  exitHookSet = true;
  process.once('exit', () => {
    for (const p of live) {
      try {
        p.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

const DRIVER = 'prs_driver.py';
const TAIL_CHARS = 8000;

export function driverPath(): string {
  return path.join(pythonResourcesDir(), DRIVER);
}

/** The interpreter's environment: the worker's, plus the driver's import path and socket. */
export function pythonEnv(
  base: NodeJS.ProcessEnv,
  socketPath: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined) env[key] = value;
  // The worker's own channels are not the script's business.
  delete env.PRS_CHANNEL_FD;
  delete env.PRS_RESULT_SOCKET;
  const resources = pythonResourcesDir();
  env.PYTHONPATH = env.PYTHONPATH ? `${resources}${path.delimiter}${env.PYTHONPATH}` : resources;
  env.PYTHONUNBUFFERED = '1';
  env.PRS_CONTROL_SOCKET = socketPath;
  return { ...env, ...extra };
}

/** The interpreter a worker of this config starts, resolved on the PATH it will have. */
export function pythonToStart(config: WorkerConfig, env: NodeJS.ProcessEnv): string {
  return interpreterToStart(
    resolveInterpreterSync(config.python, { baseDir: config.sourceDirectory, pathVar: env.PATH }),
  );
}

export class PythonRuntime implements Runtime {
  private pty?: InterpreterProcess;
  private channel?: DriverChannel;
  /** Requests sent and not yet answered, oldest first: the driver answers in order. */
  private readonly inflight: Array<{
    resolve: (reply: DriverReply) => void;
    reject: (err: Error) => void;
    what: string;
  }> = [];
  /** Submitted mini-batches waiting for parquet rows, in order; sending resumes when it settles. */
  private sending: Promise<void> | null = null;
  private readonly toSend: MiniBatch[] = [];
  /** The driver's record of the mini-batch it runs now (see _state in prs_driver.py). */
  private stateFile?: string;
  private exited?: { exitCode: number; signal?: number };
  private readonly exitWaiters: Array<() => void> = [];
  private stopping = false;
  /** Output seen before the driver is ready, for the message when the interpreter fails to start. */
  private tail = '';
  private ready = false;
  private listening?: Promise<void>;
  /** Why the interpreter could not be started, for init() to throw. */
  private startError?: RuntimeError;
  private executable?: string;

  constructor(
    private readonly config: WorkerConfig,
    private readonly options: PythonRuntimeOptions,
  ) {}

  get pid(): number | undefined {
    return this.pty?.pid;
  }

  /**
   * The executable to start: the leader passes the one it resolved, and a caller that passes a
   * setting (a venv folder, or none) gets the same rules, on the PATH the interpreter will have.
   */
  private get python(): string {
    this.executable ??= pythonToStart(this.config, this.options.env ?? process.env);
    return this.executable;
  }

  /** The interpreter has exited (or never started). */
  get hasExited(): boolean {
    return !this.pty || this.exited !== undefined;
  }

  /**
   * Starts the interpreter (the driver then waits for init): the pid is known from here on. init()
   * calls it when nobody did.
   */
  start(): void {
    if (this.channel) return;
    const python = this.python;
    const onStderr = this.options.onStderr ?? ((chunk: Buffer) => process.stderr.write(chunk));
    const onStdout = this.options.onStdout ?? ((data: string) => process.stdout.write(data));
    const channel = new DriverChannel({
      onMessage: (m) => this.onReply(m as DriverReply),
      // A driver that breaks the protocol cannot be trusted with the next reply: it is stopped,
      // and its end is reported as any driver's death is.
      onBadLine: (detail) => {
        onStderr(Buffer.from(`Parallel Run Studio: the Python driver sent ${detail}; stopping it.\n`));
        this.kill();
      },
      onStderr: (chunk) => {
        if (!this.ready) this.keepTail(chunk.toString('utf8'));
        onStderr(chunk);
      },
    });
    this.channel = channel;
    // A Unix socket is bound and listening when listen() returns: the driver, seconds or
    // milliseconds from now, can connect.
    this.listening = channel.listen();
    this.listening.catch(() => undefined);
    this.stateFile = path.join(channel.dir, 'state');
    writeFileSync(this.stateFile, Buffer.alloc(8, 0xff));

    const env = pythonEnv(this.options.env ?? process.env, channel.path, {
      PRS_STATE_FILE: this.stateFile,
      ...(this.options.resultSocket ? { PRS_RESULT_SOCKET: this.options.resultSocket } : {}),
      ...(this.config.tabular ? { PRS_PRELOAD: 'pandas' } : {}),
    });
    const terminal = {
      name: 'xterm-256color',
      cols: this.options.cols ?? (Number(process.env.COLUMNS) || 120),
      rows: this.options.rows ?? (Number(process.env.LINES) || 30),
      cwd: this.config.sourceDirectory,
      env,
    };
    const fresh = () => spawnInTerminal(python, ['-u', driverPath()], terminal);
    let pty: InterpreterProcess;
    try {
      const server = this.options.forkServer?.(python, env);
      pty = server ? forkInTerminal(server, terminal, fresh) : fresh();
    } catch (err) {
      this.startError = new RuntimeError({
        type: 'InterpreterError',
        message: `cannot start the Python interpreter ${python}: ${(err as Error).message}`,
      });
      return;
    }
    this.pty = pty;
    // Never leave the interpreter behind, however this process ends.
    killOnExit(pty);
    pty.onData((data) => {
      if (!this.ready) this.keepTail(data);
      onStdout(data);
    });
    pty.onExit(({ exitCode, signal }) => {
      live.delete(pty);
      this.onExit(exitCode, signal || undefined);
    });
  }

  /** Sends the interpreter a signal; one not forked yet gets it as soon as it is. */
  signal(signal: NodeJS.Signals): void {
    if (this.pty && !this.exited) this.pty.kill(signal);
  }

  /** Called once with the interpreter's pid (a forked one's is known a moment after start()). */
  onSpawn(listener: (pid: number) => void): void {
    if (this.pty) this.pty.onSpawn(listener);
  }

  async init(): Promise<void> {
    this.start();
    const channel = this.channel!;
    if (this.startError) {
      channel.close();
      throw this.startError;
    }
    await this.listening;
    const python = this.python;

    const started = await Promise.race([
      channel.whenConnected().then(() => true),
      this.whenExited().then(() => false),
    ]);
    if (!started) {
      await channel.stderrDrained(1000);
      channel.close();
      throw new RuntimeError(this.startFailure(python));
    }

    const reply = await this.request({ t: 'init', config: this.config }, 'init');
    if (reply.t === 'init-failed') {
      this.kill();
      throw new RuntimeError(reply.error);
    }
    if (reply.t !== 'ready')
      throw new RuntimeError({ type: 'ProtocolError', message: `the driver answered ${reply.t} to init` });
    this.ready = true;
    this.tail = '';
    this.options.onReady?.(reply.imported ?? []);
  }

  /** One mini-batch, its result back here (tests, and workers without a result pipe). */
  async run(batch: MiniBatch): Promise<BatchOutcome> {
    const prepared = await this.prepare(batch);
    const reply = await this.request(
      { t: 'run', batches: [{ ...prepared, reply: true }] },
      `run of mini-batch ${batch.id}`,
    );
    if (reply.t !== 'results' || reply.results.length !== 1 || reply.results[0]!.id !== batch.id)
      throw new Error(`the Python driver answered ${reply.t} to a run request`);
    const r = reply.results[0]!;
    const { runMs, cpuMs } = r.times;
    if (r.status === 'done') {
      return {
        ok: true,
        itemsTotal: r.itemsTotal,
        itemsSucceeded: r.itemsSucceeded,
        // One line per element, as the Node runtime returns them: the driver sends a DataFrame's
        // rows as one string (the leader, on the submit path, takes them as they come).
        lines: r.lines?.flatMap((l) => l.split('\n')),
        linesFile: r.linesFile,
        warning: r.warning,
        runMs,
        cpuMs,
      };
    }
    return { ok: false, itemsTotal: r.itemsTotal, error: r.error, runMs, cpuMs };
  }

  /**
   * Queues mini-batches in the driver, which runs them in order and reports each result itself
   * (to the leader's pipe, or to onResults) before it starts the next. Returns at once.
   */
  submit(batches: MiniBatch[]): void {
    if (!this.ready || this.exited || this.stopping) return;
    if (this.sending === null && !batches.some(isParquet)) {
      this.channel!.send({ t: 'run', batches });
      return;
    }
    this.toSend.push(...batches);
    this.sending ??= this.sendInOrder();
  }

  /** Sends what submit() queued behind a parquet mini-batch, reading its rows first, in order. */
  private async sendInOrder(): Promise<void> {
    while (this.toSend.length > 0 && !this.stopping && !this.exited) {
      const next = this.toSend.findIndex(isParquet);
      const plain = this.toSend.splice(0, next === -1 ? this.toSend.length : next);
      if (plain.length > 0) this.channel!.send({ t: 'run', batches: plain });
      if (next === -1) continue;
      const prepared = await this.prepare(this.toSend.shift()!);
      if (this.stopping || this.exited) break;
      this.channel!.send({ t: 'run', batches: [prepared] });
    }
    this.toSend.length = 0;
    this.sending = null;
  }

  /** Parquet rows are read here: Debian's python3 has neither pyarrow nor fastparquet (pure-JS hyparquet). */
  private async prepare(batch: MiniBatch): Promise<DriverBatch> {
    if (!isParquet(batch)) return batch;
    const t0 = performance.now();
    try {
      const table = await (this.options.readParquet ?? readHere)(batch.sources);
      return { ...batch, table, readMs: performance.now() - t0 };
    } catch (err) {
      const e = err as Error;
      // The driver reports it in its turn, so results stay in order.
      return {
        ...batch,
        readMs: performance.now() - t0,
        inputError: {
          type: 'InputReadError',
          message: `cannot read mini-batch ${batch.id}: ${e.message}`,
          traceback: e.stack,
        },
      };
    }
  }

  async shutdown(): Promise<void> {
    if (!this.pty || this.exited) {
      this.channel?.close();
      return;
    }
    this.stopping = true;
    // After a failed init() the user's shutdown() must not run: just end the interpreter.
    if (!this.ready) this.kill();
    else if (this.channel?.connected)
      await this.request({ t: 'shutdown' }, 'shutdown').catch(() => undefined);
    // The interpreter exits by itself after 'bye'; give it a moment (atexit handlers), then force it.
    const timer = setTimeout(() => this.kill(), 10_000);
    await this.whenExited();
    clearTimeout(timer);
    await this.channel?.stderrDrained(2000);
    this.channel?.close();
  }

  /**
   * Releases what the runtime holds (the interpreter if still running, the control socket) when
   * its host lives on: a worker process frees them by exiting, the leader's process must not keep
   * them open (they would keep it from exiting).
   */
  dispose(): void {
    this.kill();
    this.channel?.close();
  }

  private request(message: unknown, what: string): Promise<DriverReply> {
    if (this.exited) return Promise.reject(new Error('the Python interpreter has exited'));
    return new Promise((resolve, reject) => {
      this.inflight.push({ resolve, reject, what });
      this.channel!.send(message);
    });
  }

  private onReply(reply: DriverReply): void {
    // Results of submitted mini-batches are not answers to a request: pass them on.
    if (reply.t === 'results' && !this.inflight[0]?.what.startsWith('run ')) {
      this.options.onResults?.(reply.results);
      return;
    }
    this.inflight.shift()?.resolve(reply);
  }

  /** The mini-batch the driver was running, from the state it shares with this process. */
  private runningBatch(): number | null {
    if (!this.stateFile) return null;
    try {
      const buf = readFileSync(this.stateFile);
      const id = os.endianness() === 'LE' ? buf.readBigInt64LE(0) : buf.readBigInt64BE(0);
      return id >= 0n ? Number(id) : null;
    } catch {
      return null;
    }
  }

  /** What the interpreter is doing: the oldest unanswered request. */
  private get current(): string {
    const running = this.ready ? this.runningBatch() : null;
    if (running !== null) return `run of mini-batch ${running}`;
    return this.inflight[0]?.what ?? (this.ready ? 'idle' : 'start-up');
  }

  private whenExited(): Promise<void> {
    return this.exited ? Promise.resolve() : new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  private onExit(exitCode: number, signal: number | undefined): void {
    this.exited = { exitCode, signal };
    for (const resolve of this.exitWaiters.splice(0)) resolve();
    const during = this.current;
    const waiting = this.inflight.splice(0);
    if (this.stopping) {
      // Stopped on purpose (possibly while init() was still running): only the shutdown request
      // gets an answer. An init() or run() cut short stays unsettled, so the worker does not
      // report a failure the user's code never had; it exits once shutdown() returns.
      for (const w of waiting)
        if (w.what === 'shutdown') w.reject(new Error('the Python interpreter exited during shutdown'));
      return;
    }
    if (!this.ready) {
      // Still starting: init() turns this into an init failure with the output seen so far (a
      // faulthandler trace arrives on the stderr connection just after the exit).
      void this.channel!.stderrDrained(1000).then(() => {
        for (const w of waiting) w.reject(new RuntimeError(this.startFailure(this.python)));
      });
      return;
    }
    // After init() the worker ends with the interpreter (the host's onInterpreterExit): nothing to answer.
    // Results the driver sent here before it died are passed on first (the control connection
    // closes once they are read).
    const exit: InterpreterExit = { exitCode, signal, during };
    void Promise.all([this.channel!.stderrDrained(2000), this.channel!.controlClosed(2000)]).then(() => {
      this.options.onInterpreterExit(exit);
      for (const w of waiting)
        w.reject(new Error(`the Python interpreter ${describeExit(exitCode, signal)}`));
    });
  }

  private startFailure(python: string): ErrorInfo {
    const how = this.exited ? describeExit(this.exited.exitCode, this.exited.signal) : 'stopped';
    const output = this.tail.trim();
    return {
      type: 'InterpreterError',
      message:
        `the Python interpreter ${python} ${how} during start-up or init()` +
        (output ? `; its last output:\n${output}` : ''),
      traceback: output || undefined,
    };
  }

  private keepTail(text: string): void {
    this.tail = (this.tail + text).slice(-TAIL_CHARS);
  }

  private kill(): void {
    if (this.pty && !this.exited) {
      try {
        this.pty.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function signalName(signal: number): string {
  const entry = Object.entries(os.constants.signals).find(([, n]) => n === signal);
  return entry ? entry[0] : `signal ${signal}`;
}

function describeExit(exitCode: number, signal?: number): string {
  return signal
    ? `was killed by ${signalName(signal)} (returncode -${signal})`
    : `exited with code ${exitCode}`;
}

/**
 * How a worker ends when its interpreter ended on its own: the same signal, or the same exit code
 * (0 becomes EXIT_SELF_STOP: never report a clean exit here), and the line that says so on stderr.
 */
export interface WorkerEnd {
  message: string;
  signal: NodeJS.Signals | null;
  code: number;
}

export function workerEndFor(exit: InterpreterExit): WorkerEnd {
  return {
    message: `\nThe Python interpreter ${describeExit(exit.exitCode, exit.signal)} during ${exit.during}.\n`,
    signal: exit.signal ? (signalName(exit.signal) as NodeJS.Signals) : null,
    code: exit.signal ? 128 + exit.signal : exit.exitCode === 0 ? EXIT_SELF_STOP : exit.exitCode,
  };
}

function isParquet(batch: MiniBatch): boolean {
  return batch.sources.some((s) => s.kind === 'parquet');
}

/** A parquet mini-batch decoded on this thread (tables.ts is loaded only by jobs that have one). */
async function readHere(sources: BatchSource[]): Promise<Table | ColumnTable> {
  const { readTableForPython } = await import('../tables');
  return readTableForPython(sources);
}
