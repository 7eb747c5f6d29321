// The leader: pulls mini-batches from the plan as workers need them, keeps each worker's queue
// filled, enforces timeouts, attempts and thresholds, replaces workers that die, applies
// ParallelRunStep's init() failure rules, and commits results through the journal. It never
// blocks the host: everything here reacts to messages and timers.

import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { batchStartText } from '../common/batchInputs';
import type { Finding, Progress, RunEvent, RunSummary, WorkerInfo } from '../common/events';
import type { MiniBatch } from '../common/minibatch';
import type { BatchResult, ErrorInfo, WorkerConfig, WorkerMessage } from '../common/protocol';
import { appendRowFile, type JobSpec } from '../common/spec';
import type { CommitError, CommitLog } from './commitLog';
import { gpuEnv } from './devices';
import { FailureLog } from './failures';
import { bindOutputArgs } from './jobOutputs';
import type { AttemptRow, JournalState } from './journal';
import type { ExitInfo, WorkerLauncher, WorkerProcess } from './launcher';
import { hms, LogFile, logTime, type RunPaths } from './logTree';
import { ProcessOutput } from './processOutput';
import { type CpuMark, type CpuUse, cpuSince, markCpu } from './monitor/treeCpu';
import type { PythonCheck } from './python/preflight';
import { findFlag } from './spec/passThrough';

/**
 * Mini-batches a worker holds at once: one running, the rest ready, so a round trip to the leader
 * never idles it. Slow mini-batches need only one in reserve; fast ones need enough to cover about
 * QUEUE_MS of work, since every round trip costs the same whatever the mini-batch.
 */
const MIN_DEPTH = 2;
const MAX_DEPTH = 64;
const QUEUE_MS = 10;
const TICK_MS = 200;
const STOP_GRACE_MS = 5000;
const NODE_ID = '0';
/** ParallelRunStep's default --first_task_creation_timeout. */
const FIRST_TASK_TIMEOUT_S = 600;

export interface LeaderOptions {
  spec: JobSpec;
  paths: RunPaths;
  launcher: WorkerLauncher;
  plan: AsyncIterator<MiniBatch>;
  commits: CommitLog;
  emit: (event: RunEvent) => void;
  processCount: number;
  /** GPU hand-over: acquire returns the index for a starting worker, or null. */
  gpus: { acquire(process: string): number | null; release(process: string): void };
  /** The interpreter the Python runtime starts (resolved from the spec's `python`). */
  python?: string;
  /**
   * Its check (version, modules). Workers start at once, so interpreters boot while it runs, but
   * get no init, so run no user code, until it passes; a failed check fails the run with its
   * findings before any mini-batch is created.
   */
  preflight?: Promise<PythonCheck>;
  /** What an earlier run of this run folder already committed (resume). */
  resumed?: JournalState;
  /** With resume --retry-failed, mini-batches whose attempts were all used get fresh ones. */
  retryFailed?: boolean;
  /** Environment for every worker, before GPU assignment. */
  baseEnv: Record<string, string>;
  onWorkersChanged?: (workers: Array<{ process: string; pid: number }>) => void;
  /** Extra findings explaining a killed worker (the monitor's memory curve). */
  explainExit?: (process: string, returnCode: number) => Finding | null;
  startedAt: number;
}

interface Attempt {
  batch: MiniBatch;
  attempt: number;
  /** When it became the worker's current mini-batch. */
  startedAt?: number;
  /**
   * The worker tree's CPU counters at the first tick it ran through, for the CPU time of a run()
   * killed for its timeout (null where they cannot be read). Quick mini-batches never get one.
   */
  cpuMark?: CpuMark | null;
}

interface Slot {
  name: string;
  proc: WorkerProcess;
  info: WorkerInfo;
  queue: Attempt[];
  spawnedAt: number;
  ready: boolean;
  stopRequested: boolean;
  /** Why the leader killed it, so its exit is not taken for a crash. */
  killedFor?: 'timeout' | 'stop';
  /** What its current run() had used when it was killed for the timeout; null: unknown. */
  killCpu?: CpuUse | null;
  sysLog: LogFile;
  outputs: ProcessOutput[];
}

export class Leader {
  private readonly o: LeaderOptions;
  private readonly timeoutMs: number;
  private readonly slots = new Map<string, Slot>();
  private readonly exitedSlots: Slot[] = [];
  private nextProcess = 0;
  private readonly failures = new FailureLog();
  private readonly extraFindings: Finding[] = [];
  private readonly master: LogFile;
  private readonly main: LogFile;

  // Work waiting for a worker: retries first, then the plan's buffer.
  private readonly retries: Attempt[] = [];
  /** Said once the leader's log is open (start()). */
  private readonly pendingWarnings: string[] = [];
  private readonly planBuffer: MiniBatch[] = [];
  private planDone = false;
  private planning = false;
  private planned = 0;
  /** Attempts used by mini-batches that have not finished; bounded by what is in flight. */
  private readonly attemptsUsed = new Map<number, number>();
  /** resume --retry-failed: attempts of the earlier runs, not counted against run_max_try. */
  private readonly attemptBase = new Map<number, number>();

  private succeeded = 0;
  private failed = 0;
  /** With error_threshold -1 a short return is not checked at all (prs-behaviour.md, "Short returns"). */
  private readonly shortReturnsFail: boolean;
  /** Short returns taken as successes (error_threshold -1): the summary's notice. */
  private readonly shortIgnored = { batches: 0, items: 0 };
  private failedAttempts = 0;
  private itemsSucceeded = 0;
  private itemsFailed = 0;
  private running = 0;

  private initFailures = 0;
  private stopStarting = false;
  private finishing = false;
  private failureReason: string | null = null;
  private cancelled = false;
  private tick: NodeJS.Timeout | null = null;
  private progressTimer: NodeJS.Timeout | null = null;
  private overview: { stamp: string; file: LogFile } | null = null;
  private resolveDone!: (summary: RunSummary) => void;
  /** Until the preflight passes, the workers' init messages wait here. */
  private cleared = true;
  private readonly held: Array<() => void> = [];
  /** Workers that ended before the check spoke (an interpreter that cannot run the driver). */
  private readonly heldExits: Array<() => void> = [];
  readonly done: Promise<RunSummary>;
  /** ParallelRunStep's pass-through timeouts (from `arguments`), in ms; null: off. */
  private readonly firstTaskTimeoutMs: number | null;
  private readonly progressTimeoutMs: number | null;
  private planStartedAt: number | null = null;
  /** When a mini-batch last finished (or the first worker became ready): --progress_update_timeout. */
  private lastProgressAt: number | null = null;

  constructor(options: LeaderOptions) {
    this.o = options;
    this.timeoutMs = options.spec.run_invocation_timeout * 1000;
    this.shortReturnsFail = options.spec.error_threshold !== -1;
    const seconds = (name: string, fallback: number | null): number | null => {
      const hit = findFlag(options.spec.arguments, name);
      if (!hit) return fallback;
      const n = Number(hit.value);
      if (Number.isFinite(n) && n > 0) return n * 1000;
      this.pendingWarnings.push(
        `arguments: --${name} ${hit.value ?? ''} is not a number of seconds above 0; ignored.`,
      );
      return fallback;
    };
    this.firstTaskTimeoutMs = seconds('first_task_creation_timeout', FIRST_TASK_TIMEOUT_S * 1000);
    this.progressTimeoutMs = seconds('progress_update_timeout', null);
    this.master = new LogFile(options.paths.masterRole);
    this.main = new LogFile(options.paths.mainTxt(NODE_ID));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    // A result that cannot be written (a full disk) ends the run at once: every later result
    // would be lost too. What was committed before stays in the journal for a resume.
    options.commits.onFailure((err) =>
      this.fail(err.message, writeFailureFinding(err, options.paths.runDir)),
    );
  }

  start(): void {
    const { spec, resumed } = this.o;
    if (resumed) {
      for (const [, s] of resumed.succeeded) {
        this.itemsSucceeded += s.itemsSucceeded;
        this.itemsFailed += s.itemsFailed;
      }
      this.log(
        'INFO',
        `Resuming: ${resumed.succeeded.size} mini-batch(es) already succeeded and will not run again.`,
      );
    }
    for (const warning of this.pendingWarnings) this.log('WARNING', warning);
    this.log(
      'INFO',
      `Job ${spec.name}: ${spec.input_type} input, mini_batch_size ${spec.mini_batch_size}, ` +
        `${this.o.processCount} process(es) on node ${NODE_ID}, run_invocation_timeout ${spec.run_invocation_timeout} s, run_max_try ${spec.run_max_try}.`,
    );
    if (this.o.preflight) {
      this.cleared = false;
      this.o.preflight.then(
        (check) => this.onPreflight(check),
        (err: Error) =>
          this.onPreflight({
            ok: false,
            findings: [
              {
                kind: 'environment',
                title: 'The Python interpreter could not be checked',
                detail: err.message,
                remedy: 'Check the `python:` setting of the job spec.',
              },
            ],
          }),
      );
    } else void this.fillPlan();
    for (let i = 0; i < this.o.processCount; i++) this.spawn();
    this.tick = setInterval(() => this.onTick(), TICK_MS);
    this.progressTimer = setInterval(() => this.emitProgress(), 250);
  }

  private onPreflight(check: PythonCheck): void {
    if (this.finishing) return;
    if (!check.ok) {
      const [first, ...rest] = check.findings;
      this.extraFindings.push(...rest);
      this.fail(first ? `${first.title}. ${first.detail}` : 'The Python interpreter check failed.', first);
      for (const exit of this.heldExits.splice(0)) exit();
      return;
    }
    this.cleared = true;
    for (const init of this.held.splice(0)) init();
    for (const exit of this.heldExits.splice(0)) exit();
    void this.fillPlan();
  }

  cancel(): void {
    if (this.finishing) return;
    this.cancelled = true;
    this.log('WARNING', 'Cancelled by the user.');
    void this.finish();
  }

  // ---- planning -------------------------------------------------------------------------

  private async fillPlan(): Promise<void> {
    if (this.planning || this.planDone) return;
    this.planStartedAt ??= Date.now();
    this.planning = true;
    const target = this.o.processCount * MAX_DEPTH * 2;
    try {
      while (!this.finishing && this.planBuffer.length < target) {
        const next = await this.o.plan.next();
        if (next.done) {
          this.planDone = true;
          this.log('INFO', `Created ${this.planned} mini-batch(es).`);
          // Only for a count the user chose: `auto` on a many-core machine would warn on every small job.
          const idle = this.o.processCount - this.planned;
          if (idle > 0 && this.o.spec.process_count_per_node !== 'auto') {
            this.log(
              'WARNING',
              `${this.o.processCount} worker processes for ${this.planned} mini-batch(es): ${idle} of them ${idle === 1 ? 'has' : 'have'} nothing to do (lower process_count_per_node, or make mini_batch_size smaller for more mini-batches).`,
            );
          }
          this.o.emit({ type: 'plan', planned: this.planned, done: true });
          break;
        }
        const batch = next.value;
        this.planned++;
        const resumed = this.o.resumed;
        const done = resumed?.succeeded.get(batch.id);
        if (done) {
          // A short return committed its lines but failed (items_failed > 0 only then).
          if (done.itemsFailed > 0 && this.shortReturnsFail) this.failed++;
          else this.succeeded++;
          continue;
        }
        const used = resumed?.failedAttempts.get(batch.id) ?? 0;
        if (used >= this.o.spec.run_max_try && !this.o.retryFailed) {
          // Used up in the earlier run: still failed, counted against the thresholds again.
          this.failed++;
          this.itemsFailed += batch.items;
          continue;
        }
        // Attempt numbers continue after the earlier ones even with --retry-failed (which grants
        // run_max_try fresh attempts): a reused number would replace that attempt's journal row.
        if (used > 0) this.attemptsUsed.set(batch.id, used);
        if (used > 0 && this.o.retryFailed) this.attemptBase.set(batch.id, used);
        this.planBuffer.push(batch);
        if (this.planned % 1000 === 0) this.o.emit({ type: 'plan', planned: this.planned, done: false });
      }
    } catch (err) {
      this.fail(`Could not create mini-batches: ${(err as Error).message}`, {
        kind: 'system',
        title: 'The input could not be split into mini-batches',
        detail: (err as Error).message,
        remedy: 'Fix the input named in the message, then run the job again.',
      });
    } finally {
      this.planning = false;
    }
    this.dispatch();
    this.maybeComplete();
  }

  private nextWork(): Attempt | undefined {
    const retry = this.retries.shift();
    if (retry) return retry;
    const batch = this.planBuffer.shift();
    if (this.planBuffer.length < this.o.processCount * MAX_DEPTH) void this.fillPlan();
    if (!batch) return undefined;
    const attempt = (this.attemptsUsed.get(batch.id) ?? 0) + 1;
    return { batch, attempt };
  }

  // ---- workers --------------------------------------------------------------------------

  private spawn(): void {
    const { spec, paths } = this.o;
    const name = `process${String(this.nextProcess++).padStart(3, '0')}`;
    const gpu = this.o.gpus.acquire(name);
    // Workers beyond the GPU count get no CUDA_VISIBLE_DEVICES at all (reference: CUDA devices visibility).
    const env: Record<string, string> = { ...this.o.baseEnv };
    delete env.CUDA_VISIBLE_DEVICES;
    for (const [k, v] of Object.entries(gpuEnv(gpu))) if (v !== undefined) env[k] = v;
    env.PRS_PROCESS_NAME = name;
    env.PRS_NODE_ID = NODE_ID;

    const config = this.workerConfig(name);
    const proc = this.o.launcher.launch({ name, env, cwd: spec.source_directory, config });
    const info: WorkerInfo = { name, nodeId: NODE_ID, pid: proc.pid, gpu, state: 'starting', batchesDone: 0 };
    const slot: Slot = {
      name,
      proc,
      info,
      queue: [],
      spawnedAt: Date.now(),
      ready: false,
      stopRequested: false,
      sysLog: new LogFile(paths.processSysTxt(NODE_ID, name)),
      outputs: [
        new ProcessOutput(paths.stdout(NODE_ID, name), name, 'stdout', this.o.emit),
        new ProcessOutput(paths.stderr(NODE_ID, name), name, 'stderr', this.o.emit),
      ],
    };
    slot.outputs[0]!.attach(proc.stdout);
    slot.outputs[1]!.attach(proc.stderr);
    this.slots.set(name, slot);
    this.main.write(
      `${logTime()} ${name} starts with pid ${proc.pid ?? '?'}` +
        (gpu !== null ? `, CUDA_VISIBLE_DEVICES=${gpu}` : '') +
        '.\n',
    );
    slot.sysLog.write(
      `${logTime()} ${name} pid ${proc.pid ?? '?'} ip 127.0.0.1 node ${NODE_ID}` +
        (gpu !== null ? ` CUDA_VISIBLE_DEVICES=${gpu}` : ' (no GPU)') +
        '\n',
    );
    proc.onMessage((m) => this.onMessage(slot, m));
    proc.onExit((e) => this.onExit(slot, e));
    const init = () => {
      if (!this.slots.has(name)) return;
      proc.send({ t: 'init', config });
      slot.info.state = 'init';
      this.emitWorker(slot);
    };
    if (this.cleared) init();
    else {
      this.held.push(init);
      this.emitWorker(slot);
    }
    this.notifyWorkers();
  }

  private workerConfig(name: string): WorkerConfig {
    const { spec, paths } = this.o;
    return {
      runtime: spec.runtime,
      entryScript: spec.entry_script,
      sourceDirectory: spec.source_directory,
      python: this.o.python,
      args: bindOutputArgs(spec.arguments, spec.outputs, paths.outputsDir),
      nodeId: NODE_ID,
      processName: name,
      loggingLevel: spec.logging_level,
      outputAction: spec.output_action,
      logDir: paths.entryLogDir(NODE_ID),
      entryLogFile: paths.entryLog(NODE_ID, name),
      errorLogFile: path.join(paths.userErrorDir(NODE_ID), `${name}.txt`),
      metricsFile: path.join(paths.metricsDir(NODE_ID), `${name}.jsonl`),
      outputDir: paths.outputsDir,
      profileFile: spec.profiling_module ? paths.profile(NODE_ID, name) : undefined,
      profilingModule: spec.profiling_module,
      models: spec.models,
      dataframeHeader: hasFlag(spec.arguments, 'append_row_dataframe_header'),
    };
  }

  private onMessage(slot: Slot, m: WorkerMessage): void {
    switch (m.t) {
      case 'ready':
        slot.ready = true;
        this.lastProgressAt ??= Date.now();
        slot.info.pid = m.pid;
        slot.info.state = 'idle';
        slot.sysLog.write(`${logTime()} init() finished in ${(m.initMs / 1000).toFixed(3)} s\n`);
        this.emitWorker(slot);
        this.dispatchTo(slot);
        break;
      case 'init-failed':
        this.onInitFailed(slot, m.error);
        break;
      case 'results':
        for (const result of m.results) this.onBatchResult(slot, result);
        this.dispatchTo(slot);
        this.maybeComplete();
        break;
    }
  }

  private dispatch(): void {
    for (const slot of this.slots.values()) this.dispatchTo(slot);
  }

  private dispatchTo(slot: Slot): void {
    if (!slot.ready || slot.stopRequested || this.finishing) return;
    const depth = this.depth();
    // Refill in bulk once the queue is half empty: one message carries many mini-batches.
    if (slot.queue.length > 0 && slot.queue.length > depth / 2) return;
    const batches: MiniBatch[] = [];
    while (slot.queue.length < depth) {
      const work = this.nextWork();
      if (!work) break;
      this.attemptsUsed.set(work.batch.id, work.attempt);
      if (slot.queue.length === 0) this.begin(slot, work, Date.now());
      slot.queue.push(work);
      batches.push(work.batch);
    }
    if (batches.length > 0) slot.proc.send({ t: 'run', batches });
    if (slot.queue.length === 0) this.maybeStopIdle(slot);
  }

  /** Moving average of mini-batch durations, for the queue depth. */
  private avgBatchMs: number | null = null;

  private depth(): number {
    if (this.avgBatchMs === null) return MIN_DEPTH;
    return Math.min(MAX_DEPTH, Math.max(MIN_DEPTH, Math.ceil(QUEUE_MS / Math.max(this.avgBatchMs, 0.01))));
  }

  private begin(slot: Slot, work: Attempt, at: number): void {
    work.startedAt = at;
    this.running++;
    slot.info.state = 'running';
    slot.info.batchId = work.batch.id;
    // What it was given, where its result line will follow: the app's mini-batch view reads both.
    slot.sysLog.write(`${logTime(at)} ${batchStartText(work.batch, work.attempt)}\n`);
    this.o.emit({
      type: 'attempt',
      miniBatchId: work.batch.id,
      attempt: work.attempt,
      process: slot.name,
      status: 'running',
    });
  }

  private onBatchResult(slot: Slot, m: BatchResult): void {
    const work = slot.queue.shift();
    if (!work || work.batch.id !== m.id) {
      this.systemError(`${slot.name} reported mini-batch ${m.id}, which it was not running`);
      return;
    }
    this.running--;
    this.lastProgressAt = Date.now();
    slot.info.batchesDone++;
    this.avgBatchMs =
      this.avgBatchMs === null ? m.times.elapsedMs : this.avgBatchMs * 0.9 + m.times.elapsedMs * 0.1;
    const row = this.attemptRow(
      slot,
      work,
      m.times.startedAt,
      m.times.elapsedMs / 1000,
      m.times.cpuMs / 1000,
      m.times.runMs / 1000,
    );
    if (m.status === 'done') {
      const missing = Math.max(0, m.itemsTotal - m.itemsSucceeded);
      const short = missing > 0 && this.shortReturnsFail;
      // Its lines are committed either way: run() finished, and what it returned is output.
      Object.assign(row, {
        status: 'succeeded',
        items_total: m.itemsTotal,
        items_succeeded: m.itemsSucceeded,
        items_failed: short ? missing : 0,
      });
      this.o.commits.add({ row, lines: m.lines });
      this.attemptsUsed.delete(m.id);
      this.itemsSucceeded += m.itemsSucceeded;
      const shortError = short ? this.shortReturnFailed(slot, work, row, missing) : undefined;
      if (!short) this.succeeded++;
      if (missing > 0 && !this.shortReturnsFail) {
        this.shortIgnored.batches++;
        this.shortIgnored.items += missing;
      }
      if (m.warning) this.warnOnce(`mini-batch ${m.id}: ${m.warning}`);
      // The app's live table shows a short mini-batch as failed, with why; its journal row stays
      // 'succeeded', as the commit of its lines it also is.
      this.o.emit({
        type: 'attempt',
        miniBatchId: m.id,
        attempt: work.attempt,
        process: slot.name,
        status: shortError ? 'failed' : 'succeeded',
        ...(shortError ? { error: `${shortError.type}: ${shortError.message}` } : {}),
      });
      this.sysLine(slot, row);
      this.checkThresholds();
    } else {
      row.items_total = m.itemsTotal;
      this.attemptFailed(slot, work, row, 'failed', m.error);
    }
    // The next queued mini-batch started when this one ended, by the worker's own clock.
    const next = slot.queue[0];
    if (next) this.begin(slot, next, m.times.startedAt + m.times.elapsedMs);
    else if (!this.finishing) {
      slot.info.state = 'idle';
      slot.info.batchId = undefined;
    }
    this.emitWorker(slot);
  }

  private attemptRow(
    slot: Slot,
    work: Attempt,
    startedAt: number,
    elapsedS: number,
    cpuS: number,
    runS: number,
  ): AttemptRow {
    return {
      mini_batch_id: work.batch.id,
      attempt: work.attempt,
      status: 'failed',
      node_id: NODE_ID,
      process_name: slot.name,
      pid: slot.info.pid ?? null,
      items_total: work.batch.items,
      items_succeeded: 0,
      items_failed: work.batch.items,
      start_time: startedAt,
      elapsed_s: elapsedS,
      process_time_s: cpuS,
      run_time_s: runS,
      error_type: null,
      error_message: null,
      traceback: null,
      output_end: null,
    };
  }

  private attemptFailed(
    slot: Slot,
    work: Attempt,
    row: AttemptRow,
    status: 'failed' | 'timeout' | 'crashed',
    error: ErrorInfo,
    /** A timeout's CPU use, to explain it by; null where it could not be read. */
    cpu?: CpuUse | null,
  ): void {
    this.lastProgressAt = Date.now();
    row.status = status;
    row.items_failed = row.items_total;
    row.error_type = error.type;
    row.error_message = error.message;
    row.traceback = error.traceback ?? null;
    this.o.commits.add({ row });
    this.failedAttempts++;
    this.sysLine(slot, row);
    this.failures.record({
      miniBatchId: work.batch.id,
      attempt: work.attempt,
      process: slot.name,
      status,
      error,
      elapsedS: row.elapsed_s,
      cpuS: row.process_time_s,
      ...(cpu !== undefined ? { cpu } : {}),
      logFile: path.relative(this.o.paths.runDir, this.o.paths.stderr(NODE_ID, slot.name)),
    });
    this.o.emit({
      type: 'attempt',
      miniBatchId: work.batch.id,
      attempt: work.attempt,
      process: slot.name,
      status,
      error: `${error.type}: ${error.message}`,
    });
    if (work.attempt - (this.attemptBase.get(work.batch.id) ?? 0) < this.o.spec.run_max_try) {
      this.log(
        'WARNING',
        `mini-batch ${work.batch.id} attempt ${work.attempt} ${status} on ${slot.name} (${error.type}: ${error.message.split('\n')[0]}); retrying.`,
      );
      this.retries.push({ batch: work.batch, attempt: work.attempt + 1 });
    } else {
      this.log(
        'ERROR',
        `mini-batch ${work.batch.id} failed after ${work.attempt} attempt(s): ${error.type}: ${error.message.split('\n')[0]}`,
      );
      this.attemptsUsed.delete(work.batch.id);
      this.failed++;
      this.itemsFailed += work.batch.items;
      this.checkThresholds();
    }
  }

  /**
   * A short return with error_threshold not -1 (prs-behaviour.md, "Short returns"): its missing
   * items fail, and so does the mini-batch, for every threshold. It is not retried: run() ended
   * normally, and the same input would most likely come back short again.
   */
  private shortReturnFailed(slot: Slot, work: Attempt, row: AttemptRow, missing: number): ErrorInfo {
    this.failed++;
    this.itemsFailed += missing;
    const error: ErrorInfo = {
      type: 'ReturnValueError',
      message:
        `run() returned ${row.items_succeeded} element(s) for mini-batch ${work.batch.id} of ${row.items_total} item(s): ` +
        `the ${missing} missing item(s) failed, and so did the mini-batch (error_threshold is ${this.o.spec.error_threshold}, not -1)`,
    };
    this.log('ERROR', `mini-batch ${work.batch.id} failed: ${error.message}`);
    this.failures.record({
      miniBatchId: work.batch.id,
      attempt: work.attempt,
      process: slot.name,
      status: 'failed',
      error,
      elapsedS: row.elapsed_s,
      cpuS: row.process_time_s,
      logFile: path.relative(this.o.paths.runDir, this.o.paths.stderr(NODE_ID, slot.name)),
    });
    return error;
  }

  private sysLine(slot: Slot, r: AttemptRow): void {
    slot.sysLog.write(
      `${logTime(r.start_time)} mini-batch ${r.mini_batch_id} attempt ${r.attempt} ${r.status}: pid ${r.pid ?? '?'}, ip 127.0.0.1, ` +
        `items total ${r.items_total}, succeeded ${r.items_succeeded}, failed ${r.items_failed}, ` +
        `elapsed ${r.elapsed_s.toFixed(3)} s, process time ${r.process_time_s.toFixed(3)} s, run() time ${r.run_time_s.toFixed(3)} s\n`,
    );
  }

  private onInitFailed(slot: Slot, error: ErrorInfo): void {
    this.initFailures++;
    const { spec } = this.o;
    slot.info.state = 'stopping';
    this.emitWorker(slot);
    this.log(
      'ERROR',
      `${slot.name}: init() failed (${this.initFailures} so far): ${error.type}: ${error.message.split('\n')[0]}`,
    );
    const first = this.extraFindings.find((f) => f.kind === 'init-failure');
    if (first) first.count = this.initFailures;
    else
      this.extraFindings.push({
        kind: 'init-failure',
        title: 'init() failed',
        detail: `${error.type}: ${error.message}`,
        remedy:
          'Fix init() using the traceback. ParallelRunStep stops starting processes after 3 × process_count_per_node init() failures, and fails the job after 2 minutes with 2 × node_count × process_count_per_node failures.',
        process: slot.name,
        logFile: path.relative(this.o.paths.runDir, this.o.paths.stderr(NODE_ID, slot.name)),
        traceback: error.traceback,
        count: 1,
      });
    const perNode = this.o.processCount;
    // Rule 2: for the job, after 2 minutes with 2 × node_count × process_count_per_node failures.
    if (Date.now() - this.o.startedAt > 120_000 && this.initFailures >= 2 * spec.node_count * perNode) {
      this.fail(
        `init() failed ${this.initFailures} times and the job has run for over 2 minutes (limit: 2 × node_count × process_count_per_node = ${2 * spec.node_count * perNode}).`,
      );
      return;
    }
    // Rule 1: on a node, stop starting processes after 3 × process_count_per_node failures.
    if (this.initFailures >= 3 * perNode && !this.stopStarting) {
      this.stopStarting = true;
      this.log(
        'ERROR',
        `init() failed ${this.initFailures} times (3 × process_count_per_node = ${3 * perNode}): no new processes will be started on node ${NODE_ID}.`,
      );
    }
  }

  private onExit(slot: Slot, e: ExitInfo): void {
    if (!this.cleared && !this.finishing) {
      // The interpreter check's verdict explains it (a too old Python fails on the driver) and
      // decides what follows; replacing it now would only start more of the same.
      this.heldExits.push(() => this.onExit(slot, e));
      return;
    }
    this.slots.delete(slot.name);
    this.exitedSlots.push(slot);
    this.o.gpus.release(slot.name);
    slot.info.state = 'exited';
    slot.info.returnCode = e.returnCode;
    // Its SIGKILL's -9 must not read as out of memory: say the leader stopped it, and why.
    if (slot.killedFor) slot.info.stoppedFor = slot.killedFor;
    this.main.write(
      `${logTime()} ${slot.name} exits with returncode ${e.returnCode}${e.error ? ` (${e.error})` : ''}.\n`,
    );
    this.emitWorker(slot);
    this.notifyWorkers();
    void Promise.all(slot.outputs.map((o) => o.done())).then(() => slot.sysLog.close());

    // Handed back: the one the leader counted as started had not started.
    const current = e.handedBack ? undefined : slot.queue[0];
    const queued = e.handedBack ? slot.queue : slot.queue.slice(1);
    if (e.handedBack && slot.queue[0]?.startedAt !== undefined) this.running--;
    slot.queue = [];
    if (current) {
      this.running--;
      const elapsedS = (Date.now() - (current.startedAt ?? Date.now())) / 1000;
      const cpuS = slot.killedFor === 'timeout' ? (slot.killCpu?.cpuS ?? 0) : 0;
      const row = this.attemptRow(slot, current, current.startedAt ?? Date.now(), elapsedS, cpuS, elapsedS);
      if (slot.killedFor === 'timeout') {
        this.attemptFailed(
          slot,
          current,
          row,
          'timeout',
          {
            type: 'TimeoutError',
            message: `run() did not return within run_invocation_timeout (${this.o.spec.run_invocation_timeout} s); ${slot.name} was stopped and replaced.`,
          },
          slot.killCpu ?? null,
        );
      } else if (!this.finishing) {
        const how = e.signal
          ? `was killed by ${e.signal} (returncode ${e.returnCode})`
          : `exited with code ${e.returnCode}`;
        this.attemptFailed(slot, current, row, 'crashed', {
          type: 'ProcessExited',
          // A cluster's launcher says why (its node was lost, and when).
          message: `${slot.name} ${how}${e.error ? ` (${e.error})` : ''} while running mini-batch ${current.batch.id}.`,
        });
        const explained = e.returnCode === -9 ? this.o.explainExit?.(slot.name, e.returnCode) : null;
        if (explained) this.extraFindings.push({ ...explained, miniBatchId: current.batch.id });
      }
    }
    // Mini-batches it had queued but not started go back without using an attempt.
    for (const q of queued.reverse()) this.retries.unshift(q);

    if (this.finishing) {
      this.maybeFinished();
      return;
    }
    if (e.reason === 'launch-failed') {
      this.fail(`A worker process could not be started: ${e.error ?? 'unknown error'}`);
      return;
    }
    // Rule 1 counts processes, not just failures: never start one that could take the count of
    // init() failures past 3 × process_count_per_node while others are still in init().
    const inInit = [...this.slots.values()].filter((s) => !s.ready).length;
    const initBudgetLeft = this.initFailures === 0 || this.initFailures + inInit < 3 * this.o.processCount;
    const replace = !slot.stopRequested && !this.stopStarting && initBudgetLeft && this.hasWork();
    if (replace) {
      this.log('INFO', `${slot.name} stopped (returncode ${e.returnCode}); starting a replacement.`);
      this.spawn();
    }
    if (this.slots.size === 0 && this.hasWork()) {
      this.fail(
        `init() failed ${this.initFailures} time(s); no worker process is left to run the remaining mini-batches.`,
      );
      return;
    }
    this.dispatch();
    this.maybeComplete();
  }

  private hasWork(): boolean {
    return this.retries.length > 0 || this.planBuffer.length > 0 || !this.planDone || this.running > 0;
  }

  private maybeStopIdle(slot: Slot): void {
    // No work left for anybody: let this worker run shutdown() now.
    if (!this.hasWork() && this.planDone && !slot.stopRequested) this.requestStop(slot);
  }

  private requestStop(slot: Slot): void {
    if (slot.stopRequested) return;
    slot.stopRequested = true;
    slot.info.state = 'stopping';
    this.emitWorker(slot);
    slot.proc.send({ t: 'stop' });
    setTimeout(() => {
      if (this.slots.has(slot.name)) {
        slot.killedFor = 'stop';
        slot.proc.kill('SIGKILL');
      }
    }, STOP_GRACE_MS).unref();
  }

  private onTick(): void {
    const now = Date.now();
    let initStuck = this.slots.size > 0;
    for (const slot of this.slots.values()) {
      const current = slot.queue[0];
      if (current?.startedAt !== undefined && !slot.killedFor && now - current.startedAt > this.timeoutMs) {
        this.log(
          'WARNING',
          `mini-batch ${current.batch.id} on ${slot.name} exceeded run_invocation_timeout (${this.o.spec.run_invocation_timeout} s); stopping ${slot.name}.`,
        );
        slot.killedFor = 'timeout';
        // Just before the kill: afterwards the processes and their counters are gone.
        slot.killCpu =
          current.cpuMark && slot.proc.pid !== undefined ? cpuSince(slot.proc.pid, current.cpuMark) : null;
        slot.proc.kill('SIGKILL');
      } else if (
        current?.startedAt !== undefined &&
        current.cpuMark === undefined &&
        slot.proc.pid !== undefined
      ) {
        current.cpuMark = markCpu(slot.proc.pid);
      }
      if (slot.ready || now - slot.spawnedAt <= (3 * this.o.spec.run_invocation_timeout + 30) * 1000)
        initStuck = false;
    }
    this.checkProgressTimeouts(now);
    // Rule 3: every worker stuck in init() for longer than 3 × run_invocation_timeout + 30 s.
    if (initStuck && !this.finishing) {
      this.extraFindings.push({
        kind: 'no-progress',
        title: 'Every worker is stuck in init()',
        detail: `No worker finished init() within 3 × run_invocation_timeout + 30 = ${3 * this.o.spec.run_invocation_timeout + 30} s.`,
        remedy:
          'Find what init() waits for (a download, a lock, a GPU); raise run_invocation_timeout if init() is just slow.',
      });
      this.fail(
        'No progress: every worker was stuck in init() for more than 3 × run_invocation_timeout + 30 seconds.',
      );
    }
    this.writeOverview();
  }

  /** --first_task_creation_timeout and --progress_update_timeout, as ParallelRunStep applies them. */
  private checkProgressTimeouts(now: number): void {
    if (this.finishing) return;
    const firstTask = this.firstTaskTimeoutMs;
    if (firstTask !== null && this.planned === 0 && !this.planDone && this.planStartedAt !== null) {
      if (now - this.planStartedAt > firstTask) {
        const s = firstTask / 1000;
        this.fail(`No mini-batch was created within --first_task_creation_timeout (${s} s).`, {
          kind: 'no-progress',
          title: 'No mini-batch was created in time',
          detail: `Splitting the input created no mini-batch within ${s} s (--first_task_creation_timeout, default ${FIRST_TASK_TIMEOUT_S} s).`,
          remedy:
            'Check that the inputs can be read quickly (a slow network folder, a huge table grouped by partition_keys is read whole before its first mini-batch); raise --first_task_creation_timeout in arguments if it is just large.',
        });
        return;
      }
    }
    const progress = this.progressTimeoutMs;
    if (progress !== null && this.running > 0 && this.lastProgressAt !== null) {
      if (now - this.lastProgressAt > progress) {
        const s = progress / 1000;
        this.fail(`No progress within --progress_update_timeout (${s} s).`, {
          kind: 'no-progress',
          title: 'No mini-batch finished in time',
          detail: `No mini-batch finished for ${s} s (--progress_update_timeout) while ${this.running} ran.`,
          remedy:
            "Look at the running processes' stderr logs for what run() waits for; raise --progress_update_timeout (or run_invocation_timeout) if mini-batches are just slow.",
        });
      }
    }
  }

  // ---- thresholds and the end -----------------------------------------------------------

  private checkThresholds(): void {
    const { spec } = this.o;
    if (spec.error_threshold >= 0 && this.itemsFailed > spec.error_threshold) {
      this.thresholdFailure(
        `error_threshold exceeded: ${this.itemsFailed} failed item(s), more than the ${spec.error_threshold} allowed.`,
      );
    } else if (spec.allowed_failed_count >= 0 && this.failed > spec.allowed_failed_count) {
      this.thresholdFailure(
        `allowed_failed_count exceeded: ${this.failed} failed mini-batch(es), more than the ${spec.allowed_failed_count} allowed.`,
      );
    } else if (this.planDone && spec.allowed_failed_percent < 100 && this.planned > 0) {
      const percent = (this.failed / this.planned) * 100;
      if (percent > spec.allowed_failed_percent) {
        this.thresholdFailure(
          `allowed_failed_percent exceeded: ${this.failed} of ${this.planned} mini-batches failed (${percent.toFixed(1)}%), more than the ${spec.allowed_failed_percent}% allowed.`,
        );
      }
    }
  }

  private thresholdFailure(reason: string): void {
    const first = this.failures.first;
    this.fail(reason, {
      kind: 'threshold',
      title: reason.split(':')[0]!,
      detail:
        reason +
        (first
          ? ` The first failure: mini-batch ${first.miniBatchId} on ${first.process}: ${first.error.type}: ${first.error.message.split('\n')[0]}`
          : ''),
      remedy:
        'Fix the failures below; or, if some failures are expected, raise the threshold (-1 ignores failed items or mini-batches).',
      miniBatchId: first?.miniBatchId,
      process: first?.process,
      logFile: first?.logFile,
      traceback: first?.error.traceback,
    });
  }

  private fail(reason: string, finding?: Finding): void {
    if (this.finishing) return;
    this.failureReason = reason;
    if (finding) this.extraFindings.unshift(finding);
    this.log('ERROR', `Job failed: ${reason}`);
    void this.finish();
  }

  /** A fault of Parallel Run Studio itself, not of the job: logs/sys/error/, as ParallelRunStep keeps them. */
  private systemError(message: string): void {
    this.log('ERROR', `Internal error: ${message}`);
    void appendFile(path.join(this.o.paths.sysErrorDir, 'leader.txt'), `${logTime()} ${message}\n`).catch(
      () => undefined,
    );
  }

  private maybeComplete(): void {
    if (this.finishing || !this.planDone) return;
    if (this.retries.length > 0 || this.planBuffer.length > 0 || this.running > 0) return;
    this.checkThresholds();
    if (!this.finishing) void this.finish();
  }

  private finishResolve: (() => void) | null = null;

  private async finish(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    for (const slot of this.slots.values()) {
      if (slot.queue.length > 0 || this.cancelled || this.failureReason) {
        slot.killedFor = 'stop';
        slot.proc.kill(this.cancelled ? 'SIGTERM' : 'SIGKILL');
        setTimeout(() => slot.proc.kill('SIGKILL'), 2000).unref();
      } else this.requestStop(slot);
    }
    // The last results' commit (an fdatasync) overlaps the workers' shutdown().
    const committing = this.o.commits.flush();
    await new Promise<void>((resolve) => {
      this.finishResolve = resolve;
      this.maybeFinished();
    });
    if (this.tick) clearInterval(this.tick);
    if (this.progressTimer) clearInterval(this.progressTimer);
    await committing;
    // Anything that arrived while the workers stopped (a cancelled run's last results).
    await this.o.commits.close();
    if (this.o.commits.error && !this.failureReason) {
      this.failureReason = this.o.commits.error.message;
      this.extraFindings.unshift(writeFailureFinding(this.o.commits.error, this.o.paths.runDir));
    }
    await Promise.all(this.exitedSlots.flatMap((s) => s.outputs.map((o) => o.done())));
    this.emitProgress();
    this.writeOverview(true);
    if (this.shortIgnored.batches > 0) this.log('INFO', this.shortIgnoredNotice());
    const summary = this.summary();
    this.logFinished(summary);
    this.resolveDone(summary);
  }

  /**
   * The leader's last line: the job is over, how it ended and how long it took, so a log read live
   * (the app's leader terminal, a tail -f) says when it is done. INFO: a failure's cause was already
   * logged at its own level, and the CLI prints its own summary.
   */
  private logFinished(s: RunSummary): void {
    const how = s.status === 'completed' && s.mini_batches.failed > 0 ? 'completed with failures' : s.status;
    this.log(
      'INFO',
      `Job ${how} in ${s.duration_s.toFixed(1)} s: ${s.mini_batches.succeeded} of ${s.mini_batches.total} mini-batch(es) succeeded, ` +
        `${s.mini_batches.failed} failed; ${s.items.succeeded} item(s) succeeded, ${s.items.failed} failed.`,
    );
  }

  private maybeFinished(): void {
    if (this.slots.size === 0) this.finishResolve?.();
  }

  private summary(): RunSummary {
    const { spec, paths } = this.o;
    const status = this.cancelled ? 'cancelled' : this.failureReason ? 'failed' : 'completed';
    const findings = [...this.extraFindings, ...this.failures.findings(spec.run_invocation_timeout)];
    return {
      status,
      exit_code: status === 'completed' ? 0 : status === 'failed' ? 42 : 130,
      run_dir: paths.runDir,
      output_file: spec.output_action === 'append_row' ? path.join(paths.runDir, appendRowFile(spec)) : null,
      mini_batches: { total: this.planned, succeeded: this.succeeded, failed: this.failed },
      items: { succeeded: this.itemsSucceeded, failed: this.itemsFailed },
      duration_s: (Date.now() - this.o.startedAt) / 1000,
      reason: this.failureReason ?? (this.cancelled ? 'Cancelled by the user.' : undefined),
      findings,
      ...(this.shortIgnored.batches > 0 ? { notices: [this.shortIgnoredNotice()] } : {}),
    };
  }

  private shortIgnoredNotice(): string {
    const { batches, items } = this.shortIgnored;
    return (
      `${items} item(s) in ${batches} mini-batch(es) came back short (run() returned fewer elements than it was given); ` +
      'with error_threshold -1 short returns are not checked, so they count as successes.'
    );
  }

  /** For job_error.txt and job_result.txt, written by the run once the leader is done. */
  get failureLog(): FailureLog {
    return this.failures;
  }

  // ---- reporting ------------------------------------------------------------------------

  progress(): Progress {
    const elapsedS = (Date.now() - this.o.startedAt) / 1000;
    const doneCount = this.succeeded + this.failed;
    const total = this.planDone ? this.planned : null;
    let etaS: number | null = null;
    if (total !== null && doneCount > 0) etaS = ((total - doneCount) * elapsedS) / doneCount;
    return {
      planned: this.planned,
      total,
      succeeded: this.succeeded,
      failed: this.failed,
      running: this.running,
      failedAttempts: this.failedAttempts,
      itemsSucceeded: this.itemsSucceeded,
      itemsFailed: this.itemsFailed,
      elapsedS,
      etaS,
    };
  }

  private emitProgress(): void {
    this.o.emit({ type: 'progress', progress: this.progress() });
  }

  private emitWorker(slot: Slot): void {
    this.o.emit({ type: 'worker', worker: { ...slot.info } });
  }

  private notifyWorkers(): void {
    this.o.onWorkersChanged?.(
      [...this.slots.values()]
        .filter((s) => s.proc.pid !== undefined)
        .map((s) => ({ process: s.name, pid: s.proc.pid! })),
    );
  }

  /** Kinds of warning already said: a run of a million mini-batches says each kind once. */
  private readonly warned = new Set<string>();

  private warnOnce(message: string): void {
    const kind = message.replace(/\d+/g, '#');
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    this.log('WARNING', `${message} (said once per run; later mini-batches may do the same)`);
  }

  private log(level: 'INFO' | 'WARNING' | 'ERROR', message: string): void {
    this.master.write(`${logTime()} ${level} ${message}\n`);
    this.o.emit({ type: 'log', level, message });
  }

  private lastOverview = 0;

  private writeOverview(final = false): void {
    const now = Date.now();
    if (!final && now - this.lastOverview < 5000) return;
    this.lastOverview = now;
    const d = new Date(now);
    const stamp = `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
    if (this.overview?.stamp !== stamp) {
      void this.overview?.file.close();
      this.overview = { stamp, file: new LogFile(this.o.paths.progressOverview(stamp)) };
    }
    const p = this.progress();
    const processed = p.succeeded + p.failed;
    const eta =
      p.etaS === null
        ? 'Estimated remaining time unknown (still creating mini-batches).'
        : `Estimated remaining time ${hms(p.etaS)}.`;
    this.overview.file.write(
      `${logTime(now)} ${p.planned} mini batches created${p.total === null ? ' so far' : ''}. ` +
        `Processed ${processed} of ${p.total ?? `${p.planned}+`} mini batches in ${hms(p.elapsedS)}. ${final ? 'Done.' : eta}\n`,
    );
    if (final) void this.overview.file.close();
  }

  /** Closes the leader's own files. */
  async close(): Promise<void> {
    await Promise.all([this.master.close(), this.main.close()]);
  }
}

function hasFlag(args: string[], name: string): boolean {
  return /^true$/i.test(findFlag(args, name)?.value ?? '');
}

/** Why results stopped being written, and how to carry on once there is room again. */
function writeFailureFinding(err: CommitError, runDir: string): Finding {
  const full = /ENOSPC|EDQUOT|SQLITE_FULL/.test(err.message);
  return {
    kind: 'environment',
    title: full ? 'The disk is full' : 'Results could not be written',
    detail: `${err.message}. The mini-batches committed before it are kept in the run's journal.`,
    remedy: `${full ? 'Free space on the disk of the run folder' : 'Fix the cause'}, then run \`prs resume ${runDir}\`: mini-batches already committed do not run again.`,
  };
}
