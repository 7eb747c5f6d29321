// A node on this machine: process_count_per_node worker processes started through a
// WorkerLauncher, each holding a small queue of attempts pulled from the scheduler. It enforces
// run_invocation_timeout (the worker is killed and its attempt fails as 'timeout'), hands GPUs
// over as workers come and go, and turns each worker's messages and exit into PoolEvents.

import type { Finding, RunEvent, WorkerInfo } from '../../common/events';
import type { BatchResult, WorkerConfig, WorkerMessage } from '../../common/protocol';
import { gpuEnv } from '../devices';
import type { ExitInfo, WorkerLauncher, WorkerProcess } from '../launcher';
import type { RunPaths } from '../logTree';
import { cpuSince, markCpu, type CpuMark, type CpuUse } from '../monitor/treeCpu';
import { ProcessOutput } from '../processOutput';
import type { Clock } from './clock';
import type { AttemptOrder, NodePool, PoolEvent, WorkSource } from './nodePool';
import { invocationTimeoutRule } from './policies';

const STOP_GRACE_MS = 5000;
const CANCEL_GRACE_MS = 2000;

/** GPU hand-over: acquire returns the index for a starting worker, or null. */
export interface GpuHandOver {
  acquire(process: string): number | null;
  release(process: string): void;
}

export interface LocalPoolOptions {
  nodeId: string;
  capacity: number;
  launcher: WorkerLauncher;
  paths: RunPaths;
  cwd: string;
  /** Environment for every worker, before GPU assignment. */
  baseEnv: Record<string, string>;
  gpus: GpuHandOver;
  /** A worker's configuration (its init message). */
  config(name: string, nodeId: string): WorkerConfig;
  /** The next process name: names are job-wide, so every node's workers have their own. */
  nameWorker(): string;
  runInvocationTimeoutS: number;
  clock: Clock;
  /** Where the workers' terminal output goes as events. */
  emit(event: RunEvent): void;
  onWorkersChanged?: (workers: Array<{ process: string; pid: number }>) => void;
  /** Extra findings explaining a killed worker (the monitor's memory curve). */
  explainExit?: (process: string, returnCode: number) => Finding | null;
}

interface Held {
  order: AttemptOrder;
  /** When it became the worker's current mini-batch. */
  startedAt?: number;
  /**
   * The worker tree's CPU counters at the first tick it ran through, for the CPU time of a run()
   * killed for its timeout (null where they cannot be read). Quick mini-batches never get one.
   */
  cpuMark?: CpuMark | null;
}

interface Worker {
  name: string;
  proc: WorkerProcess;
  info: WorkerInfo;
  queue: Held[];
  spawnedAt: number;
  ready: boolean;
  stopRequested: boolean;
  /** 'started' was emitted (see spawn). */
  announced?: boolean;
  announce?: () => void;
  /** Why the pool killed it, so its exit is not taken for a crash. */
  killedFor?: 'timeout' | 'stop';
  /** What its current run() had used when it was killed for the timeout; null: unknown. */
  killCpu?: CpuUse | null;
  /** Set when it broke the protocol: its current attempt fails with this. */
  protocolError?: string;
  outputs: ProcessOutput[];
}

export class LocalPool implements NodePool {
  readonly nodeId: string;
  readonly capacity: number;
  private readonly listeners: Array<(event: PoolEvent) => void> = [];
  private readonly workers = new Map<string, Worker>();
  private readonly exited: Worker[] = [];
  private work: WorkSource | null = null;
  private initHeld = false;
  private readonly heldInits: Array<() => void> = [];
  /** Workers that ended before the interpreter check spoke: their exits wait for its verdict. */
  private readonly heldExits: Array<() => void> = [];
  private draining = false;
  private stopping = false;
  private closedWaiters: Array<() => void> = [];

  constructor(private readonly o: LocalPoolOptions) {
    this.nodeId = o.nodeId;
    this.capacity = o.capacity;
  }

  on(listener: (event: PoolEvent) => void): void {
    this.listeners.push(listener);
  }

  start(work: WorkSource, options: { holdInit?: boolean } = {}): void {
    this.work = work;
    this.initHeld = options.holdInit ?? false;
    for (let i = 0; i < this.capacity; i++) this.spawn();
  }

  releaseInit(): void {
    this.initHeld = false;
    for (const init of this.heldInits.splice(0)) init();
    for (const exit of this.heldExits.splice(0)) exit();
  }

  replace(): void {
    if (!this.stopping && !this.draining) this.spawn();
  }

  offer(): void {
    for (const w of this.workers.values()) this.dispatchTo(w);
  }

  starting(): Array<{ worker: string; since: number }> {
    return [...this.workers.values()]
      .filter((w) => !w.ready)
      .map((w) => ({ worker: w.name, since: w.spawnedAt }));
  }

  size(): number {
    return this.workers.size;
  }

  tick(now: number): void {
    const timeoutMs = this.o.runInvocationTimeoutS * 1000;
    for (const w of this.workers.values()) {
      const current = w.queue[0];
      if (!w.killedFor && invocationTimeoutRule.check(current?.startedAt, timeoutMs, now)) {
        this.emit({ type: 'timing-out', worker: w.name, order: current!.order });
        w.killedFor = 'timeout';
        // Just before the kill: afterwards the processes and their counters are gone.
        w.killCpu =
          current!.cpuMark && w.proc.pid !== undefined ? cpuSince(w.proc.pid, current!.cpuMark) : null;
        w.proc.kill('SIGKILL');
      } else if (
        current?.startedAt !== undefined &&
        current.cpuMark === undefined &&
        w.proc.pid !== undefined
      ) {
        current.cpuMark = markCpu(w.proc.pid);
      }
    }
  }

  drain(): void {
    this.draining = true;
    for (const w of this.workers.values()) if (w.queue.length === 0) this.requestStop(w);
  }

  stop(how: 'cancel' | 'kill'): void {
    this.stopping = true;
    for (const w of this.workers.values()) {
      w.killedFor = 'stop';
      w.proc.kill(how === 'cancel' ? 'SIGTERM' : 'SIGKILL');
      this.o.clock.after(CANCEL_GRACE_MS, () => w.proc.kill('SIGKILL'));
    }
    for (const exit of this.heldExits.splice(0)) exit();
  }

  async closed(): Promise<void> {
    if (this.workers.size > 0) await new Promise<void>((resolve) => this.closedWaiters.push(resolve));
    await Promise.all(this.exited.flatMap((w) => w.outputs.map((o) => o.done())));
  }

  // ---- one worker -----------------------------------------------------------------------

  private emit(event: PoolEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private emitWorker(w: Worker): void {
    // Before 'started', the state rides along in it.
    if (!w.announced) return;
    this.emit({ type: 'worker', worker: { ...w.info } });
  }

  private spawn(): void {
    const { nodeId, paths } = this.o;
    const name = this.o.nameWorker();
    const gpu = this.o.gpus.acquire(name);
    // Workers beyond the GPU count get no CUDA_VISIBLE_DEVICES at all (reference: CUDA devices visibility).
    const env: Record<string, string> = { ...this.o.baseEnv };
    delete env.CUDA_VISIBLE_DEVICES;
    for (const [k, v] of Object.entries(gpuEnv(gpu))) if (v !== undefined) env[k] = v;
    env.PRS_PROCESS_NAME = name;
    env.PRS_NODE_ID = nodeId;
    const config = this.o.config(name, nodeId);
    const proc = this.o.launcher.launch({ name, env, cwd: this.o.cwd, config });
    const w: Worker = {
      name,
      proc,
      info: { name, nodeId, pid: proc.pid, gpu, state: 'starting', batchesDone: 0 },
      queue: [],
      spawnedAt: this.o.clock.now(),
      ready: false,
      stopRequested: false,
      outputs: [
        new ProcessOutput(paths.stdout(nodeId, name), name, 'stdout', this.o.emit),
        new ProcessOutput(paths.stderr(nodeId, name), name, 'stderr', this.o.emit),
      ],
    };
    w.outputs[0]!.attach(proc.stdout);
    w.outputs[1]!.attach(proc.stderr);
    this.workers.set(name, w);
    // 'started' carries the pid into the log tree and the journal's rows: where the launcher
    // learns it a moment later, it waits for it (or for the exit of a worker that never ran).
    const announce = (w.announce = () => {
      if (w.announced) return;
      w.announced = true;
      this.emit({ type: 'started', worker: { ...w.info } });
    });
    if (proc.pid === undefined && proc.onSpawn) {
      proc.onSpawn((pid) => {
        w.info.pid = pid;
        announce();
        this.emitWorker(w);
      });
    } else announce();
    proc.onMessage((m) => this.onMessage(w, m));
    proc.onProtocolError?.((detail) => this.onProtocolError(w, detail));
    proc.onExit((e) => {
      announce();
      this.onExit(w, e);
    });
    const init = () => {
      if (!this.workers.has(name)) return;
      proc.send({ t: 'init', config });
      w.info.state = 'init';
      this.emitWorker(w);
    };
    if (!this.initHeld) init();
    else {
      this.heldInits.push(init);
      this.emitWorker(w);
    }
    this.notifyWorkers();
  }

  private onMessage(w: Worker, m: WorkerMessage): void {
    if (w.protocolError) return;
    switch (m.t) {
      case 'ready':
        w.ready = true;
        w.info.pid = m.pid;
        w.announce?.();
        w.info.state = 'idle';
        this.emit({ type: 'ready', worker: w.name, initMs: m.initMs });
        this.emitWorker(w);
        this.dispatchTo(w);
        break;
      case 'init-failed':
        w.info.state = 'stopping';
        this.emitWorker(w);
        this.emit({ type: 'init-failed', worker: w.name, error: m.error });
        break;
      case 'results':
        for (const result of m.results) if (!this.onResult(w, result)) return;
        this.dispatchTo(w);
        break;
      default:
        this.onProtocolError(w, `an unknown message ${JSON.stringify((m as { t?: unknown }).t ?? null)}`);
    }
  }

  private onProtocolError(w: Worker, detail: string): void {
    if (w.protocolError) return;
    w.protocolError = detail;
    this.emit({ type: 'protocol-error', worker: w.name, detail });
    w.proc.kill('SIGKILL');
  }

  private dispatchTo(w: Worker): void {
    if (!w.ready || w.stopRequested || this.stopping || !this.work) return;
    const depth = this.work.depth();
    // Refill in bulk once the queue is half empty: one message carries many mini-batches.
    if (w.queue.length > 0 && w.queue.length > depth / 2) return;
    const orders: AttemptOrder[] = [];
    while (w.queue.length < depth) {
      const order = this.work.take();
      if (!order) break;
      const held: Held = { order };
      w.queue.push(held);
      if (w.queue.length === 1) this.begin(w, held, this.o.clock.now());
      orders.push(order);
    }
    if (orders.length > 0)
      w.proc.send({ t: 'run', batches: orders.map((o) => o.batch), attempts: orders.map((o) => o.attempt) });
    if (w.queue.length === 0 && this.draining) this.requestStop(w);
  }

  private begin(w: Worker, held: Held, at: number): void {
    held.startedAt = at;
    w.info.state = 'running';
    w.info.batchId = held.order.batch.id;
    this.emit({ type: 'attempt-started', worker: w.name, order: held.order, at });
  }

  /** False when the worker reported a mini-batch it was not running (it is then stopped). */
  private onResult(w: Worker, result: BatchResult): boolean {
    const held = w.queue[0];
    if (!held || held.order.batch.id !== result.id) {
      this.onProtocolError(w, `it reported mini-batch ${result.id}, which it was not running`);
      return false;
    }
    w.queue.shift();
    w.info.batchesDone++;
    this.emit({ type: 'result', worker: w.name, order: held.order, result });
    // The next queued mini-batch started when this one ended, by the worker's own clock.
    const next = w.queue[0];
    if (next) this.begin(w, next, result.times.startedAt + result.times.elapsedMs);
    else if (!this.stopping) {
      w.info.state = 'idle';
      w.info.batchId = undefined;
    }
    this.emitWorker(w);
    return true;
  }

  private requestStop(w: Worker): void {
    if (w.stopRequested) return;
    w.stopRequested = true;
    w.info.state = 'stopping';
    this.emitWorker(w);
    w.proc.send({ t: 'stop' });
    this.o.clock.after(STOP_GRACE_MS, () => {
      if (this.workers.has(w.name)) {
        w.killedFor = 'stop';
        w.proc.kill('SIGKILL');
      }
    });
  }

  private onExit(w: Worker, e: ExitInfo): void {
    if (this.initHeld && !this.stopping) {
      // The interpreter check's verdict explains it (a too old Python fails on the driver) and
      // decides what follows; replacing it now would only start more of the same.
      this.heldExits.push(() => this.onExit(w, e));
      return;
    }
    this.workers.delete(w.name);
    this.exited.push(w);
    this.o.gpus.release(w.name);
    w.info.state = 'exited';
    w.info.returnCode = e.returnCode;
    // Its SIGKILL's -9 must not read as out of memory: say the leader stopped it, and why.
    if (w.killedFor) w.info.stoppedFor = w.killedFor;
    this.emitWorker(w);
    this.notifyWorkers();

    // Handed back (a cluster agent leaving): even the one counted as started never ran.
    const current = e.handedBack ? undefined : w.queue[0];
    const queued = e.handedBack ? w.queue : w.queue.slice(1);
    w.queue = [];
    if (current) this.lostAttempt(w, current, e);
    // Mini-batches it had queued but not started go back without using an attempt.
    if (queued.length > 0)
      this.emit({ type: 'returned', worker: w.name, orders: queued.map((q) => q.order) });
    this.emit({ type: 'worker-exit', worker: w.name, exit: e, stoppedFor: w.killedFor });
    if (this.workers.size === 0) for (const resolve of this.closedWaiters.splice(0)) resolve();
  }

  private lostAttempt(w: Worker, current: Held, e: ExitInfo): void {
    const now = this.o.clock.now();
    const startedAt = current.startedAt ?? now;
    const base = { type: 'attempt-failed' as const, worker: w.name, order: current.order, startedAt };
    const elapsedS = (now - startedAt) / 1000;
    if (w.killedFor === 'timeout') {
      this.emit({
        ...base,
        status: 'timeout',
        elapsedS,
        cpu: w.killCpu ?? null,
        error: {
          type: 'TimeoutError',
          message: `run() did not return within run_invocation_timeout (${this.o.runInvocationTimeoutS} s); ${w.name} was stopped and replaced.`,
        },
      });
      return;
    }
    if (w.protocolError) {
      this.emit({
        ...base,
        status: 'crashed',
        elapsedS,
        error: { type: 'ProtocolError', message: `${w.name} broke the worker protocol: ${w.protocolError}.` },
      });
      return;
    }
    // The job is ending: what the leader stopped is not a failure of the attempt.
    if (this.stopping) return;
    const how = e.signal
      ? `was killed by ${e.signal} (returncode ${e.returnCode})`
      : `exited with code ${e.returnCode}`;
    const explained = e.returnCode === -9 ? this.o.explainExit?.(w.name, e.returnCode) : null;
    this.emit({
      ...base,
      status: 'crashed',
      elapsedS,
      error: {
        type: 'ProcessExited',
        message: `${w.name} ${how} while running mini-batch ${current.order.batch.id}.`,
      },
      ...(explained ? { finding: { ...explained, miniBatchId: current.order.batch.id } } : {}),
    });
  }

  private notifyWorkers(): void {
    this.o.onWorkersChanged?.(
      [...this.workers.values()]
        .filter((w) => w.proc.pid !== undefined)
        .map((w) => ({ process: w.name, pid: w.proc.pid! })),
    );
  }
}
