// The leader: hands the scheduler's attempts to the nodes' pools, turns what comes back into
// journal commits, counts and log lines, and consults ParallelRunStep's rules (policies.ts) as
// things happen and on each tick. Its phase is explicit: preflight (workers boot, no user code
// until the interpreter check passes), running, draining (the job is ending, workers stop), done.
// It never blocks the host: everything here reacts to pool events and clock ticks.

import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { batchStartText } from '../../common/batchInputs';
import { exitCodeOf } from '../../common/exitCodes';
import type { Finding, Progress, RunEvent, RunSummary, WorkerInfo } from '../../common/events';
import type { MiniBatch } from '../../common/minibatch';
import type { BatchResult, ErrorInfo } from '../../common/protocol';
import { appendRowFile, type JobSpec } from '../../common/spec';
import type { CommitLog } from '../commitLog';
import { FailureLog } from '../failures';
import type { AttemptRow, JournalState } from '../journal';
import { LogFile, logTime, type RunPaths } from '../logTree';
import type { CpuUse } from '../monitor/treeCpu';
import type { PythonCheck } from '../python/preflight';
import { findFlag } from '../spec/passThrough';
import { realClock, type Clock } from './clock';
import type { AttemptOrder, LostAttemptStatus, NodePool, PoolEvent } from './nodePool';
import {
  FIRST_TASK_TIMEOUT_S,
  firstTaskRule,
  initStuckRule,
  jobInitRule,
  nodeInitRule,
  progressRule,
  thresholdRule,
  totalInitFailures,
  type FailVerdict,
  type InitState,
  type NodeInitState,
} from './policies';
import * as text from './reports';
import { Scheduler } from './scheduler';

const TICK_MS = 200;
const PROGRESS_MS = 250;
const OVERVIEW_MS = 5000;

export type LeaderPhase = 'preflight' | 'running' | 'draining' | 'done';

export interface LeaderOptions {
  spec: JobSpec;
  paths: RunPaths;
  /** The nodes, one pool each: node ids "0", "1", ... */
  pools: NodePool[];
  plan: AsyncIterator<MiniBatch>;
  commits: CommitLog;
  emit: (event: RunEvent) => void;
  /**
   * The interpreter check (version, modules). Workers start at once, so interpreters boot while it
   * runs, but get no init, so run no user code, until it passes; a failed check fails the run with
   * its findings before any mini-batch is created.
   */
  preflight?: Promise<PythonCheck>;
  /** What an earlier run of this run folder already committed (resume). */
  resumed?: JournalState;
  /** With resume --retry-failed, mini-batches whose attempts were all used get fresh ones. */
  retryFailed?: boolean;
  startedAt: number;
  /** Real time unless a test brings its own (test/leader/fakes.ts). */
  clock?: Clock;
  /** Warnings to say once the leader's log is open (the run's own checks). */
  warnings?: string[];
}

interface NodeState extends Omit<NodeInitState, 'inInit'> {
  pool: NodePool;
  main: LogFile;
}

interface WorkerLog {
  nodeId: string;
  pid: number | undefined;
  sysLog: LogFile;
}

export class Leader {
  private readonly o: LeaderOptions;
  private readonly clock: Clock;
  private phase: LeaderPhase = 'preflight';
  private readonly scheduler: Scheduler;
  private readonly nodes = new Map<string, NodeState>();
  private readonly workers = new Map<string, WorkerLog>();
  private readonly failures = new FailureLog();
  private readonly extraFindings: Finding[] = [];
  private readonly master: LogFile;
  private readonly pendingWarnings: string[];
  private readonly perNode: number;

  private succeeded = 0;
  private failed = 0;
  /** With error_threshold -1 a short return is not checked at all (prs-behaviour.md, "Short returns"). */
  private readonly shortReturnsFail: boolean;
  /** Short returns taken as successes (error_threshold -1): the summary's notice. */
  private readonly shortIgnored = { batches: 0, items: 0 };
  private failedAttempts = 0;
  private itemsSucceeded = 0;
  private itemsFailed = 0;
  /** Each worker's started attempt, until it ends (or its worker does). */
  private readonly runningOn = new Map<string, AttemptOrder>();
  private failureReason: string | null = null;
  private cancelled = false;
  private readonly stopTimers: Array<() => void> = [];
  private overview: { stamp: string; file: LogFile } | null = null;
  private lastOverview = 0;
  private resolveDone!: (summary: RunSummary) => void;
  readonly done: Promise<RunSummary>;
  /** ParallelRunStep's pass-through timeouts (from `arguments`), in ms; null: off. */
  private readonly firstTaskTimeoutMs: number | null;
  private readonly progressTimeoutMs: number | null;
  private planStartedAt: number | null = null;
  /** When a mini-batch last finished (or the first worker became ready): --progress_update_timeout. */
  private lastProgressAt: number | null = null;
  /** Kinds of warning already said: a run of a million mini-batches says each kind once. */
  private readonly warned = new Set<string>();

  constructor(options: LeaderOptions) {
    this.o = options;
    this.clock = options.clock ?? realClock;
    this.pendingWarnings = [...(options.warnings ?? [])];
    this.shortReturnsFail = options.spec.error_threshold !== -1;
    this.perNode = options.pools[0]?.capacity ?? 1;
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
    for (const pool of options.pools) {
      this.nodes.set(pool.nodeId, {
        nodeId: pool.nodeId,
        pool,
        main: new LogFile(options.paths.mainTxt(pool.nodeId)),
        initFailures: 0,
        stoppedStarting: false,
      });
      pool.on((e) => this.onPoolEvent(pool.nodeId, e));
    }
    this.scheduler = new Scheduler(
      {
        spec: options.spec,
        plan: options.plan,
        slots: options.pools.reduce((n, p) => n + p.capacity, 0),
        resumed: options.resumed,
        retryFailed: options.retryFailed,
      },
      {
        onPlanned: (planned, done) => this.onPlanned(planned, done),
        onResumedBatch: (verdict, batch) => {
          if (verdict === 'succeeded') this.succeeded++;
          else this.failed++;
          if (verdict === 'used-up') this.itemsFailed += batch.items;
        },
        onPlanError: (err) =>
          this.fail(`Could not create mini-batches: ${err.message}`, text.planFailureFinding(err)),
        onWork: () => {
          this.offerAll();
          this.maybeComplete();
        },
      },
    );
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    // A result that cannot be written (a full disk) ends the run at once: every later result
    // would be lost too. What was committed before stays in the journal for a resume.
    options.commits.onFailure((err) =>
      this.fail(err.message, text.writeFailureFinding(err, options.paths.runDir)),
    );
  }

  /** Where the job is: preflight, running, draining, done. */
  get state(): LeaderPhase {
    return this.phase;
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
    const where =
      this.nodes.size === 1
        ? `${this.perNode} process(es) on node ${this.o.pools[0]!.nodeId}`
        : `${this.perNode} process(es) on each of ${this.nodes.size} nodes (${[...this.nodes.keys()].join(', ')})`;
    this.log(
      'INFO',
      `Job ${spec.name}: ${spec.input_type} input, mini_batch_size ${spec.mini_batch_size}, ` +
        `${where}, run_invocation_timeout ${spec.run_invocation_timeout} s, run_max_try ${spec.run_max_try}.`,
    );
    const holdInit = this.o.preflight !== undefined;
    if (this.o.preflight) {
      this.o.preflight.then(
        (check) => this.onPreflight(check),
        (err: Error) => this.onPreflight({ ok: false, findings: [text.pythonCheckFailedFinding(err)] }),
      );
    } else this.beginRunning();
    for (const node of this.nodes.values()) node.pool.start(this.scheduler, { holdInit });
    this.stopTimers.push(this.clock.every(TICK_MS, () => this.onTick()));
    this.stopTimers.push(this.clock.every(PROGRESS_MS, () => this.emitProgress()));
  }

  private beginRunning(): void {
    this.phase = 'running';
    this.planStartedAt ??= this.clock.now();
    void this.scheduler.fill();
  }

  private onPreflight(check: PythonCheck): void {
    if (this.phase !== 'preflight') return;
    if (!check.ok) {
      const [first, ...rest] = check.findings;
      this.extraFindings.push(...rest);
      this.fail(first ? `${first.title}. ${first.detail}` : 'The Python interpreter check failed.', first);
      return;
    }
    this.beginRunning();
    for (const node of this.nodes.values()) node.pool.releaseInit();
  }

  cancel(): void {
    if (this.ending) return;
    this.cancelled = true;
    this.log('WARNING', 'Cancelled by the user.');
    void this.finish();
  }

  private get ending(): boolean {
    return this.phase === 'draining' || this.phase === 'done';
  }

  private onPlanned(planned: number, done: boolean): void {
    if (done) {
      this.log('INFO', `Created ${planned} mini-batch(es).`);
      // Only for a count the user chose: `auto` on a many-core machine would warn on every small job.
      const slots = this.perNode * this.nodes.size;
      const idle = slots - planned;
      if (idle > 0 && this.o.spec.process_count_per_node !== 'auto') {
        this.log(
          'WARNING',
          `${slots} worker processes for ${planned} mini-batch(es): ${idle} of them ${idle === 1 ? 'has' : 'have'} nothing to do (lower process_count_per_node, or make mini_batch_size smaller for more mini-batches).`,
        );
      }
    }
    this.o.emit({ type: 'plan', planned, done });
  }

  private offerAll(): void {
    if (this.phase !== 'running') return;
    for (const node of this.nodes.values()) node.pool.offer();
  }

  // ---- what the nodes say ----------------------------------------------------------------

  private onPoolEvent(nodeId: string, e: PoolEvent): void {
    switch (e.type) {
      case 'started':
        return this.onStarted(nodeId, e.worker);
      case 'worker':
        return this.o.emit({ type: 'worker', worker: e.worker });
      case 'ready': {
        this.lastProgressAt ??= this.clock.now();
        const w = this.workers.get(e.worker);
        w?.sysLog.write(`${logTime()} init() finished in ${(e.initMs / 1000).toFixed(3)} s\n`);
        return;
      }
      case 'init-failed':
        return this.onInitFailed(nodeId, e.worker, e.error);
      case 'attempt-started':
        return this.onAttemptStarted(e.worker, e.order, e.at);
      case 'timing-out':
        return this.log(
          'WARNING',
          `mini-batch ${e.order.batch.id} on ${e.worker} exceeded run_invocation_timeout (${this.o.spec.run_invocation_timeout} s); stopping ${e.worker}.`,
        );
      case 'result':
        this.onResult(nodeId, e.worker, e.order, e.result);
        return this.maybeComplete();
      case 'attempt-failed': {
        this.runningOn.delete(e.worker);
        this.scheduler.ended();
        const cpuS = e.status === 'timeout' ? (e.cpu?.cpuS ?? 0) : 0;
        const row = this.attemptRow(nodeId, e.worker, e.order, e.startedAt, e.elapsedS, cpuS, e.elapsedS);
        this.attemptFailed(
          nodeId,
          e.worker,
          e.order,
          row,
          e.status,
          e.error,
          e.status === 'timeout' ? e.cpu : undefined,
        );
        if (e.finding) this.extraFindings.push(e.finding);
        return;
      }
      case 'returned':
        return this.scheduler.returned(e.orders);
      case 'protocol-error': {
        const message = text.protocolErrorText(e.worker, nodeId, e.detail);
        this.log('ERROR', message);
        this.systemError(message);
        return;
      }
      case 'worker-exit':
        return this.onWorkerExit(nodeId, e.worker, e.exit.returnCode, e.exit.reason, e.exit.error);
      case 'node-lost':
        this.nodes.get(nodeId)?.main.write(`${logTime()} node ${nodeId} was lost: ${e.reason}\n`);
        return this.log('WARNING', `Node ${nodeId} was lost: ${e.reason}`);
    }
  }

  private onStarted(nodeId: string, info: WorkerInfo): void {
    const { paths } = this.o;
    const sysLog = new LogFile(paths.processSysTxt(nodeId, info.name));
    this.workers.set(info.name, { nodeId, pid: info.pid, sysLog });
    const gpu = info.gpu;
    this.nodes
      .get(nodeId)
      ?.main.write(
        `${logTime()} ${info.name} starts with pid ${info.pid ?? '?'}` +
          (gpu !== null ? `, CUDA_VISIBLE_DEVICES=${gpu}` : '') +
          '.\n',
      );
    sysLog.write(
      `${logTime()} ${info.name} pid ${info.pid ?? '?'} ip 127.0.0.1 node ${nodeId}` +
        (gpu !== null ? ` CUDA_VISIBLE_DEVICES=${gpu}` : ' (no GPU)') +
        '\n',
    );
  }

  private onAttemptStarted(worker: string, order: AttemptOrder, at: number): void {
    this.runningOn.set(worker, order);
    // What it was given, where its result line will follow: the app's mini-batch view reads both.
    this.workers.get(worker)?.sysLog.write(`${logTime(at)} ${batchStartText(order.batch, order.attempt)}\n`);
    this.o.emit({
      type: 'attempt',
      miniBatchId: order.batch.id,
      attempt: order.attempt,
      process: worker,
      status: 'running',
    });
  }

  private onResult(nodeId: string, worker: string, order: AttemptOrder, m: BatchResult): void {
    this.runningOn.delete(worker);
    this.lastProgressAt = this.clock.now();
    this.scheduler.ended();
    this.scheduler.observe(m.times.elapsedMs);
    const row = this.attemptRow(
      nodeId,
      worker,
      order,
      m.times.startedAt,
      m.times.elapsedMs / 1000,
      m.times.cpuMs / 1000,
      m.times.runMs / 1000,
    );
    if (m.status !== 'done') {
      row.items_total = m.itemsTotal;
      this.attemptFailed(nodeId, worker, order, row, 'failed', m.error);
      return;
    }
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
    this.scheduler.settled(m.id);
    this.itemsSucceeded += m.itemsSucceeded;
    const shortError = short ? this.shortReturnFailed(nodeId, worker, order, row, missing) : undefined;
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
      attempt: order.attempt,
      process: worker,
      status: shortError ? 'failed' : 'succeeded',
      ...(shortError ? { error: `${shortError.type}: ${shortError.message}` } : {}),
    });
    this.sysLine(worker, row);
    this.checkThresholds();
  }

  private attemptRow(
    nodeId: string,
    worker: string,
    order: AttemptOrder,
    startedAt: number,
    elapsedS: number,
    cpuS: number,
    runS: number,
  ): AttemptRow {
    return {
      mini_batch_id: order.batch.id,
      attempt: order.attempt,
      status: 'failed',
      node_id: nodeId,
      process_name: worker,
      pid: this.workers.get(worker)?.pid ?? null,
      items_total: order.batch.items,
      items_succeeded: 0,
      items_failed: order.batch.items,
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
    nodeId: string,
    worker: string,
    order: AttemptOrder,
    row: AttemptRow,
    lost: LostAttemptStatus | 'failed',
    error: ErrorInfo,
    /** A timeout's CPU use, to explain it by; null where it could not be read. */
    cpu?: CpuUse | null,
  ): void {
    // A node lost with its attempt is a crash of that attempt, as the journal knows them.
    const status = lost === 'node-lost' ? 'crashed' : lost;
    this.lastProgressAt = this.clock.now();
    row.status = status;
    row.items_failed = row.items_total;
    row.error_type = error.type;
    row.error_message = error.message;
    row.traceback = error.traceback ?? null;
    this.o.commits.add({ row });
    this.failedAttempts++;
    this.sysLine(worker, row);
    this.failures.record({
      miniBatchId: order.batch.id,
      attempt: order.attempt,
      process: worker,
      status,
      error,
      elapsedS: row.elapsed_s,
      cpuS: row.process_time_s,
      ...(cpu !== undefined ? { cpu } : {}),
      logFile: this.stderrLog(nodeId, worker),
    });
    this.o.emit({
      type: 'attempt',
      miniBatchId: order.batch.id,
      attempt: order.attempt,
      process: worker,
      status,
      error: `${error.type}: ${error.message}`,
    });
    if (this.scheduler.failed(order)) {
      this.log(
        'WARNING',
        `mini-batch ${order.batch.id} attempt ${order.attempt} ${status} on ${worker} (${error.type}: ${error.message.split('\n')[0]}); retrying.`,
      );
    } else {
      this.log(
        'ERROR',
        `mini-batch ${order.batch.id} failed after ${order.attempt} attempt(s): ${error.type}: ${error.message.split('\n')[0]}`,
      );
      this.failed++;
      this.itemsFailed += order.batch.items;
      this.checkThresholds();
    }
  }

  /**
   * A short return with error_threshold not -1 (prs-behaviour.md, "Short returns"): its missing
   * items fail, and so does the mini-batch, for every threshold. It is not retried: run() ended
   * normally, and the same input would most likely come back short again.
   */
  private shortReturnFailed(
    nodeId: string,
    worker: string,
    order: AttemptOrder,
    row: AttemptRow,
    missing: number,
  ): ErrorInfo {
    this.failed++;
    this.itemsFailed += missing;
    const error: ErrorInfo = {
      type: 'ReturnValueError',
      message:
        `run() returned ${row.items_succeeded} element(s) for mini-batch ${order.batch.id} of ${row.items_total} item(s): ` +
        `the ${missing} missing item(s) failed, and so did the mini-batch (error_threshold is ${this.o.spec.error_threshold}, not -1)`,
    };
    this.log('ERROR', `mini-batch ${order.batch.id} failed: ${error.message}`);
    this.failures.record({
      miniBatchId: order.batch.id,
      attempt: order.attempt,
      process: worker,
      status: 'failed',
      error,
      elapsedS: row.elapsed_s,
      cpuS: row.process_time_s,
      logFile: this.stderrLog(nodeId, worker),
    });
    return error;
  }

  private stderrLog(nodeId: string, worker: string): string {
    return path.relative(this.o.paths.runDir, this.o.paths.stderr(nodeId, worker));
  }

  private sysLine(worker: string, r: AttemptRow): void {
    this.workers.get(worker)?.sysLog.write(text.attemptLine(r));
  }

  // ---- init() rules ---------------------------------------------------------------------

  private initState(): InitState {
    return {
      nodes: [...this.nodes.values()].map((n) => this.nodeInit(n)),
      processCountPerNode: this.perNode,
      startedAt: this.o.startedAt,
    };
  }

  private nodeInit(n: NodeState): NodeInitState {
    return {
      nodeId: n.nodeId,
      initFailures: n.initFailures,
      inInit: n.pool.starting().length,
      stoppedStarting: n.stoppedStarting,
    };
  }

  private onInitFailed(nodeId: string, worker: string, error: ErrorInfo): void {
    const node = this.nodes.get(nodeId)!;
    node.initFailures++;
    const total = totalInitFailures(this.initState());
    this.log(
      'ERROR',
      `${worker}: init() failed (${total} so far): ${error.type}: ${error.message.split('\n')[0]}`,
    );
    const first = this.extraFindings.find((f) => f.kind === 'init-failure');
    if (first) first.count = total;
    else this.extraFindings.push(text.initFailureFinding(error, worker, this.stderrLog(nodeId, worker)));
    const jobVerdict = jobInitRule.check(this.initState(), this.clock.now());
    if (jobVerdict) return this.failWith(jobVerdict);
    const nodeVerdict = nodeInitRule.check(this.nodeInit(node), this.perNode);
    if (nodeVerdict) {
      node.stoppedStarting = true;
      this.log('ERROR', nodeVerdict.message);
      node.main.write(`${logTime()} ${nodeVerdict.message}\n`);
    }
  }

  private onWorkerExit(
    nodeId: string,
    worker: string,
    returnCode: number,
    reason: string,
    error: string | undefined,
  ): void {
    const node = this.nodes.get(nodeId)!;
    node.main.write(
      `${logTime()} ${worker} exits with returncode ${returnCode}${error ? ` (${error})` : ''}.\n`,
    );
    void this.workers.get(worker)?.sysLog.close();
    this.runningOn.delete(worker);
    if (this.ending) return;
    if (reason === 'launch-failed') {
      this.fail(`A worker process could not be started: ${error ?? 'unknown error'}`);
      return;
    }
    if (
      this.phase === 'running' &&
      nodeInitRule.mayStart(this.nodeInit(node), this.perNode) &&
      this.scheduler.hasWork()
    ) {
      this.log('INFO', `${worker} stopped (returncode ${returnCode}); starting a replacement.`);
      node.pool.replace();
    }
    const alive = [...this.nodes.values()].reduce((n, s) => n + s.pool.size(), 0);
    if (alive === 0 && this.scheduler.hasWork()) {
      this.fail(text.noWorkerLeft(totalInitFailures(this.initState())));
      return;
    }
    this.offerAll();
    this.maybeComplete();
  }

  // ---- the clock ------------------------------------------------------------------------

  private onTick(): void {
    const now = this.clock.now();
    for (const node of this.nodes.values()) node.pool.tick(now);
    if (!this.ending) {
      const pools = [...this.nodes.values()].map((n) => n.pool);
      const verdict =
        initStuckRule.check(
          {
            alive: pools.reduce((n, p) => n + p.size(), 0),
            starting: pools.flatMap((p) => p.starting()),
            runInvocationTimeoutS: this.o.spec.run_invocation_timeout,
          },
          now,
        ) ??
        firstTaskRule.check(
          {
            timeoutMs: this.firstTaskTimeoutMs,
            planned: this.scheduler.planned,
            planDone: this.scheduler.planDone,
            planStartedAt: this.planStartedAt,
          },
          now,
        ) ??
        progressRule.check(
          {
            timeoutMs: this.progressTimeoutMs,
            running: this.runningOn.size,
            lastProgressAt: this.lastProgressAt,
          },
          now,
        );
      if (verdict) {
        // The init-stuck finding follows the others (it explains, the failure's cause is the reason).
        if (verdict.reason === text.INIT_STUCK_REASON) {
          this.extraFindings.push(verdict.finding!);
          this.fail(verdict.reason);
        } else this.failWith(verdict);
      }
    }
    this.writeOverview();
  }

  // ---- thresholds and the end -----------------------------------------------------------

  private checkThresholds(): void {
    const reason = thresholdRule.check(this.o.spec, {
      failedBatches: this.failed,
      failedItems: this.itemsFailed,
      planned: this.scheduler.planned,
      planDone: this.scheduler.planDone,
    });
    if (reason) this.fail(reason, text.thresholdFinding(reason, this.failures.first));
  }

  private failWith(verdict: FailVerdict): void {
    this.fail(verdict.reason, verdict.finding);
  }

  private fail(reason: string, finding?: Finding): void {
    if (this.ending) return;
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
    if (this.phase !== 'running' || !this.scheduler.planDone) return;
    if (this.scheduler.hasWork()) return;
    this.checkThresholds();
    if (!this.ending) void this.finish();
  }

  private async finish(): Promise<void> {
    if (this.ending) return;
    this.phase = 'draining';
    this.scheduler.stop();
    for (const node of this.nodes.values()) {
      if (this.cancelled) node.pool.stop('cancel');
      else if (this.failureReason) node.pool.stop('kill');
      else node.pool.drain();
    }
    // The last results' commit (an fdatasync) overlaps the workers' shutdown().
    const committing = this.o.commits.flush();
    await Promise.all([...this.nodes.values()].map((n) => n.pool.closed()));
    for (const stop of this.stopTimers.splice(0)) stop();
    await committing;
    // Anything that arrived while the workers stopped (a cancelled run's last results).
    await this.o.commits.close();
    if (this.o.commits.error && !this.failureReason) {
      this.failureReason = this.o.commits.error.message;
      this.extraFindings.unshift(text.writeFailureFinding(this.o.commits.error, this.o.paths.runDir));
    }
    this.emitProgress();
    this.writeOverview(true);
    if (this.shortIgnored.batches > 0) this.log('INFO', this.shortIgnoredNotice());
    const summary = this.summary();
    // INFO: a failure's cause was already logged at its own level, and the CLI prints its own summary.
    this.log('INFO', text.finishedText(summary));
    this.phase = 'done';
    this.resolveDone(summary);
  }

  private summary(): RunSummary {
    const { spec, paths } = this.o;
    const status = this.cancelled ? 'cancelled' : this.failureReason ? 'failed' : 'completed';
    const findings = [...this.extraFindings, ...this.failures.findings(spec.run_invocation_timeout)];
    return {
      status,
      exit_code: exitCodeOf(status),
      run_dir: paths.runDir,
      output_file: spec.output_action === 'append_row' ? path.join(paths.runDir, appendRowFile(spec)) : null,
      mini_batches: { total: this.scheduler.planned, succeeded: this.succeeded, failed: this.failed },
      items: { succeeded: this.itemsSucceeded, failed: this.itemsFailed },
      duration_s: (this.clock.now() - this.o.startedAt) / 1000,
      reason: this.failureReason ?? (this.cancelled ? 'Cancelled by the user.' : undefined),
      findings,
      ...(this.shortIgnored.batches > 0 ? { notices: [this.shortIgnoredNotice()] } : {}),
    };
  }

  private shortIgnoredNotice(): string {
    return text.shortIgnoredNotice(this.shortIgnored.batches, this.shortIgnored.items);
  }

  /** For job_error.txt and job_result.txt, written by the run once the leader is done. */
  get failureLog(): FailureLog {
    return this.failures;
  }

  // ---- reporting ------------------------------------------------------------------------

  progress(): Progress {
    const elapsedS = (this.clock.now() - this.o.startedAt) / 1000;
    const doneCount = this.succeeded + this.failed;
    const total = this.scheduler.planDone ? this.scheduler.planned : null;
    let etaS: number | null = null;
    if (total !== null && doneCount > 0) etaS = ((total - doneCount) * elapsedS) / doneCount;
    return {
      planned: this.scheduler.planned,
      total,
      succeeded: this.succeeded,
      failed: this.failed,
      running: this.runningOn.size,
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

  private writeOverview(final = false): void {
    const now = this.clock.now();
    if (!final && now - this.lastOverview < OVERVIEW_MS) return;
    this.lastOverview = now;
    const d = new Date(now);
    const stamp = `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
    if (this.overview?.stamp !== stamp) {
      void this.overview?.file.close();
      this.overview = { stamp, file: new LogFile(this.o.paths.progressOverview(stamp)) };
    }
    this.overview.file.write(text.overviewLine(this.progress(), now, final));
    if (final) void this.overview.file.close();
  }

  /** Closes the leader's own files. */
  async close(): Promise<void> {
    await Promise.all([this.master.close(), ...[...this.nodes.values()].map((n) => n.main.close())]);
  }
}
