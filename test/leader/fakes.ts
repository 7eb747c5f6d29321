// In-process stand-ins for time and worker processes, so the leader's rules run in milliseconds:
// a clock the test moves by hand, and a launcher whose workers do what the test tells them (the
// real pools, scheduler, journal and log files stay real). CLI tests keep the real processes.

import type { LeaderMessage, WorkerMessage } from '../../src/common/protocol';
import type { MiniBatch } from '../../src/common/minibatch';
import {
  exitInfo,
  type ExitInfo,
  type LaunchOptions,
  type WorkerLauncher,
  type WorkerProcess,
} from '../../src/engine/launcher';
import type { Clock } from '../../src/engine/leader';

interface Timer {
  at: number;
  every: number | null;
  fn: () => void;
  live: boolean;
}

/** Time that moves only when the test says: timers fire in order as it passes them. */
export class FakeClock implements Clock {
  private t: number;
  private readonly timers: Timer[] = [];

  constructor(start = Date.UTC(2026, 0, 1, 9)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  every(ms: number, fn: () => void): () => void {
    return this.add({ at: this.t + ms, every: ms, fn, live: true });
  }

  after(ms: number, fn: () => void): () => void {
    return this.add({ at: this.t + ms, every: null, fn, live: true });
  }

  private add(timer: Timer): () => void {
    this.timers.push(timer);
    return () => void (timer.live = false);
  }

  /** Moves time forward by ms, firing every timer due on the way (and letting promises settle). */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.live && x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.t = Math.max(this.t, due.at);
      if (due.every === null) due.live = false;
      else due.at += due.every;
      due.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

/** Lets queued callbacks and promise chains run (the fake workers answer asynchronously, as real ones do). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

export type Behaviour = (worker: FakeWorker, message: LeaderMessage) => void;

/** By default a worker is ready at once and runs each mini-batch successfully, one line per item. */
export const healthy: Behaviour = (w, m) => {
  if (m.t === 'init') w.ready();
  if (m.t === 'run') for (const b of m.batches) w.complete(b);
  if (m.t === 'stop') w.exit(0);
};

let nextPid = 50_000;

export class FakeWorker implements WorkerProcess {
  readonly pid = nextPid++;
  readonly stdout = null;
  readonly stderr = null;
  readonly sent: LeaderMessage[] = [];
  readonly killedWith: NodeJS.Signals[] = [];
  exited: ExitInfo | null = null;
  private readonly messageListeners: Array<(m: WorkerMessage) => void> = [];
  private readonly exitListeners: Array<(e: ExitInfo) => void> = [];
  private readonly protocolListeners: Array<(detail: string) => void> = [];

  constructor(
    readonly options: LaunchOptions,
    private readonly behaviour: () => Behaviour,
    private readonly clock: Clock,
  ) {}

  get name(): string {
    return this.options.name;
  }

  send(message: LeaderMessage): void {
    if (this.exited) return;
    this.sent.push(message);
    queueMicrotask(() => this.behaviour()(this, message));
  }

  onMessage(listener: (m: WorkerMessage) => void): void {
    this.messageListeners.push(listener);
  }

  onExit(listener: (e: ExitInfo) => void): void {
    this.exitListeners.push(listener);
  }

  onProtocolError(listener: (detail: string) => void): void {
    this.protocolListeners.push(listener);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.killedWith.push(signal);
    queueMicrotask(() => this.end(exitInfo(null, signal)));
  }

  // ---- what the test makes the worker do ----

  private deliver(m: WorkerMessage): void {
    if (this.exited) return;
    for (const l of this.messageListeners) l(m);
  }

  ready(initMs = 5): void {
    this.deliver({ t: 'ready', pid: this.pid, initMs });
  }

  initFail(message = 'init() could not load the model'): void {
    this.deliver({ t: 'init-failed', error: { type: 'RuntimeError', message } });
    // A worker whose init() raised exits by itself, as ParallelRunStep's do.
    queueMicrotask(() => this.exit(41));
  }

  complete(batch: MiniBatch, returned = batch.items): void {
    this.deliver({
      t: 'results',
      results: [
        {
          status: 'done',
          id: batch.id,
          itemsTotal: batch.items,
          itemsSucceeded: returned,
          lines: Array.from({ length: returned }, (_, i) => `${batch.id}:${i}`),
          times: { elapsedMs: 3, cpuMs: 2, runMs: 2, startedAt: this.clock.now() },
        },
      ],
    });
  }

  fail(batch: MiniBatch, message = `mini-batch ${batch.id} raised`): void {
    this.deliver({
      t: 'results',
      results: [
        {
          status: 'failed',
          id: batch.id,
          itemsTotal: batch.items,
          error: { type: 'ValueError', message },
          times: { elapsedMs: 3, cpuMs: 2, runMs: 2, startedAt: this.clock.now() },
        },
      ],
    });
  }

  /** A line on the channel that is no message. */
  badLine(detail: string): void {
    for (const l of this.protocolListeners) l(detail);
  }

  /** The process never ran (what ForkLauncher reports for a spawn error). */
  launchFails(error: string): void {
    queueMicrotask(() =>
      this.end({ code: null, signal: null, reason: 'launch-failed', returnCode: 1, error }),
    );
  }

  exit(code: number): void {
    queueMicrotask(() => this.end(exitInfo(code, null)));
  }

  private end(info: ExitInfo): void {
    if (this.exited) return;
    this.exited = info;
    for (const l of this.exitListeners) l(info);
  }
}

/** Starts FakeWorkers; `behaviour` may be swapped at any time (it is read per message). */
export class FakeLauncher implements WorkerLauncher {
  readonly workers: FakeWorker[] = [];
  behaviour: Behaviour = healthy;

  constructor(private readonly clock: Clock) {}

  launch(options: LaunchOptions): WorkerProcess {
    const w = new FakeWorker(options, () => this.behaviour, this.clock);
    this.workers.push(w);
    return w;
  }

  named(name: string): FakeWorker {
    const w = this.workers.find((x) => x.name === name);
    if (!w)
      throw new Error(
        `no worker ${name} was started (started: ${this.workers.map((x) => x.name).join(', ')})`,
      );
    return w;
  }

  alive(): FakeWorker[] {
    return this.workers.filter((w) => !w.exited);
  }
}
