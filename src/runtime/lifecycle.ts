// One worker's life, whoever hosts it: init -> ready | init-failed -> stop -> shutdown -> ended.
// A worker process (src/worker/main.ts) and the leader's inline Python worker
// (src/engine/inlinePython.ts) both drive their runtime through this, so the two cannot drift in
// what they tell the leader, or in when shutdown() runs. Ending is the host's: only a process entry
// point may exit; a host that lives on releases the runtime instead.

import type { MiniBatch } from '../common/minibatch';
import type { LeaderMessage, WorkerConfig, WorkerMessage } from '../common/protocol';
import { errorInfo } from './errors';
import { EXIT_SELF_STOP, RuntimeError, type Runtime } from './runtime';

export type WorkerPhase = 'new' | 'initializing' | 'ready' | 'init-failed' | 'stopping' | 'ended';

/** What a lifecycle needs from where it lives. */
export interface LifecycleHost {
  /** A message to the leader. */
  send(message: WorkerMessage): void;
  /** A line for the worker's stderr (the user's stderr log shows why a worker stopped). */
  stderr(text: string): void;
  /** The pid the leader is told in 'ready': the process that runs the user's code. */
  pid(): number;
  /**
   * Ends the worker: 0 after a clean stop, EXIT_SELF_STOP after a failed init(). Called once. A
   * process entry point exits with the code; a host that lives on releases the runtime.
   */
  end(code: number): void | Promise<void>;
  /**
   * True once the host is ending the worker itself (a kill): an init() cut short by it is not the
   * user's failure, and is not reported as one.
   */
  ending?(): boolean;
}

export type RuntimeFactory = (config: WorkerConfig) => Runtime | Promise<Runtime>;

export class WorkerLifecycle {
  private state: WorkerPhase = 'new';
  private runtime?: Runtime;
  private starting?: Promise<void>;
  /** Mini-batches the leader sent ahead, kept filled so that a round trip never leaves this idle. */
  private readonly queue: MiniBatch[] = [];
  private draining = false;
  private stopAsked = false;
  private lastYield = 0;

  constructor(
    private readonly host: LifecycleHost,
    private readonly createRuntime: RuntimeFactory,
  ) {}

  get phase(): WorkerPhase {
    return this.state;
  }

  /** One message from the leader. */
  handle(message: LeaderMessage): void {
    switch (message.t) {
      case 'init':
        this.starting ??= this.init(message.config);
        break;
      case 'run':
        // After a stop nothing new starts: the leader takes back what it sent but never saw begin.
        if (this.stopAsked) break;
        this.queue.push(...message.batches);
        void this.drain();
        break;
      case 'stop':
        this.stopAsked = true;
        this.queue.length = 0;
        if (!this.draining) void this.stop();
        break;
    }
  }

  private async init(config: WorkerConfig): Promise<void> {
    this.state = 'initializing';
    const t0 = performance.now();
    try {
      this.runtime = await this.createRuntime(config);
      await this.runtime.init();
    } catch (err) {
      this.state = 'init-failed';
      if (this.host.ending?.()) return this.end(EXIT_SELF_STOP);
      const error = err instanceof RuntimeError ? err.info : errorInfo(err);
      this.host.stderr(`init() failed: ${error.traceback ?? `${error.type}: ${error.message}`}\n`);
      this.host.send({ t: 'init-failed', error });
      return this.end(EXIT_SELF_STOP);
    }
    this.state = 'ready';
    this.host.send({ t: 'ready', pid: this.host.pid(), initMs: performance.now() - t0 });
    void this.drain();
  }

  private async drain(): Promise<void> {
    const runtime = this.runtime;
    if (this.draining || !runtime || this.state !== 'ready') return;
    if (runtime.submit) {
      // The runtime runs them in its own process and reports each result itself.
      if (this.queue.length > 0) runtime.submit(this.queue.splice(0));
      return;
    }
    this.draining = true;
    // process.cpuUsage() costs microseconds (a getrusage and an object), a real share of a trivial
    // mini-batch: read once per mini-batch, the end of one being the start of the next (what lies
    // between them is sending the result).
    let cpuMark = process.cpuUsage();
    while (this.queue.length > 0) {
      const batch = this.queue.shift()!;
      const startedAt = Date.now();
      const wall0 = performance.now();
      const cpu0 = cpuMark;
      const outcome = await runtime.run(batch);
      cpuMark = process.cpuUsage();
      const cpuUs = cpuMark.user - cpu0.user + (cpuMark.system - cpu0.system);
      const times = {
        startedAt,
        elapsedMs: performance.now() - wall0,
        cpuMs: outcome.cpuMs ?? cpuUs / 1000,
        runMs: outcome.runMs,
      };
      // Each result leaves before the next mini-batch starts: if that one takes the process down,
      // the leader must know exactly which mini-batch it was running.
      if (outcome.ok) {
        this.host.send({
          t: 'results',
          results: [
            {
              status: 'done',
              id: batch.id,
              itemsTotal: outcome.itemsTotal,
              itemsSucceeded: outcome.itemsSucceeded,
              lines: outcome.lines,
              linesFile: outcome.linesFile,
              times,
              warning: outcome.warning,
            },
          ],
        });
      } else {
        const e = outcome.error;
        this.host.stderr(`mini-batch ${batch.id} failed: ${e.traceback ?? `${e.type}: ${e.message}`}\n`);
        this.host.send({
          t: 'results',
          results: [{ status: 'failed', id: batch.id, itemsTotal: outcome.itemsTotal, error: e, times }],
        });
      }
      // Let the event loop read the leader's messages: awaiting run() alone only yields to
      // microtasks, and a channel left unread makes the leader's writes block.
      if (performance.now() - this.lastYield > 1) {
        await new Promise((resolve) => setImmediate(resolve));
        this.lastYield = performance.now();
      }
    }
    this.draining = false;
    if (this.stopAsked) await this.stop();
  }

  private async stop(): Promise<void> {
    // A stop that arrives during init() waits for it: shutdown() always follows a finished init().
    await this.starting;
    if (this.state !== 'ready' && this.state !== 'new') return;
    this.state = 'stopping';
    try {
      await this.runtime?.shutdown();
    } catch (err) {
      const e = errorInfo(err);
      this.host.stderr(`shutdown() failed: ${e.traceback ?? e.message}\n`);
    }
    await this.end(0);
  }

  private async end(code: number): Promise<void> {
    if (this.state === 'ended') return;
    this.state = 'ended';
    await this.host.end(code);
  }
}
