// The leader: hands the scheduler's attempts to the nodes' pools, turns what comes back into
// journal commits, counts and log lines, and consults ParallelRunStep's rules (policies.ts) as
// things happen and on each tick. Its phase is explicit: preflight (workers boot, no user code
// until the interpreter check passes), running, draining (the job is ending, workers stop), done.
// It never blocks the host: everything here reacts to pool events and clock ticks.

import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { exitCodeOf } from '../../common/exitCodes';
import type { Finding, Progress, RunEvent, RunSummary } from '../../common/events';
import type { MiniBatch } from '../../common/minibatch';
import type { BatchResult, ErrorInfo } from '../../common/protocol';
import { appendRowFile, type JobSpec } from '../../common/spec';
import type { CommitLog } from '../commitLog';
import type { FailureLog } from '../failures';
import type { JournalState } from '../journal';
import { LogFile, logTime, type RunPaths } from '../logTree';
import type { PythonCheck } from '../python/preflight';
import { findFlag } from '../spec/passThrough';
import { realClock, type Clock } from './clock';
import { NodeLogs } from './nodeLogs';
import type { AttemptOrder, NodePool, PoolEvent } from './nodePool';
import { Outcomes } from './outcomes';
import { OverviewFile } from './overviewFile';
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

interface NodeState extends Omit<NodeInitState, 'inInit' | 'capacity'> {
  pool: NodePool;
}

export class Leader {
  private readonly o: LeaderOptions;
  private readonly clock: Clock;
  private phase: LeaderPhase = 'preflight';
  private readonly scheduler: Scheduler;
  private readonly nodes = new Map<string, NodeState>();
  private readonly nodeLogs: NodeLogs;
  private readonly overview: OverviewFile;
  private readonly outcomes: Outcomes;
  private readonly extraFindings: Finding[] = [];
  private readonly master: LogFile;
  private readonly pendingWarnings: string[];
  private readonly perNode: number;

  /** Each worker's started attempt, until it ends (or its worker does). */
  private readonly runningOn = new Map<string, AttemptOrder>();
  private failureReason: string | null = null;
  private cancelled = false;
  private readonly stopTimers: Array<() => void> = [];
  private resolveDone!: (summary: RunSummary) => void;
  readonly done: Promise<RunSummary>;
  /** ParallelRunStep's pass-through timeouts (from `arguments`), in ms; null: off. */
  private readonly firstTaskTimeoutMs: number | null;
  private readonly progressTimeoutMs: number | null;
  private planStartedAt: number | null = null;
  /** When a mini-batch last finished (or the first worker became ready): --progress_update_timeout. */
  private lastProgressAt: number | null = null;

  constructor(options: LeaderOptions) {
    this.o = options;
    this.clock = options.clock ?? realClock;
    this.pendingWarnings = [...(options.warnings ?? [])];
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
    this.nodeLogs = new NodeLogs(
      options.paths,
      options.pools.map((p) => p.nodeId),
    );
    this.overview = new OverviewFile(options.paths);
    for (const pool of options.pools) {
      this.nodes.set(pool.nodeId, {
        nodeId: pool.nodeId,
        pool,
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
        onResumedBatch: (verdict, batch) => this.outcomes.resumedBatch(verdict, batch),
        onPlanError: (err) =>
          this.fail(`Could not create mini-batches: ${err.message}`, text.planFailureFinding(err)),
        onWork: () => {
          this.offerAll();
          this.maybeComplete();
        },
      },
    );
    this.outcomes = new Outcomes({
      spec: options.spec,
      paths: options.paths,
      commits: options.commits,
      scheduler: this.scheduler,
      nodeLogs: this.nodeLogs,
      emit: options.emit,
      log: (level, message) => this.log(level, message),
      counted: () => this.checkThresholds(),
    });
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
      this.outcomes.resumedItems(resumed);
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
        return this.nodeLogs.started(nodeId, e.worker);
      case 'worker':
        return this.o.emit({ type: 'worker', worker: e.worker });
      case 'ready':
        this.lastProgressAt ??= this.clock.now();
        return this.nodeLogs.ready(e.worker, e.initMs);
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
      case 'attempt-failed':
        this.runningOn.delete(e.worker);
        this.lastProgressAt = this.clock.now();
        this.scheduler.ended();
        this.outcomes.lost(nodeId, e.worker, e.order, e.status, e.error, e.startedAt, e.elapsedS, e.cpu);
        if (e.finding) this.extraFindings.push(e.finding);
        return;
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
        this.nodeLogs.note(nodeId, `node ${nodeId} was lost: ${e.reason}`);
        return this.log('WARNING', `Node ${nodeId} was lost: ${e.reason}`);
    }
  }

  private onAttemptStarted(worker: string, order: AttemptOrder, at: number): void {
    this.runningOn.set(worker, order);
    this.nodeLogs.attemptStarted(worker, order, at);
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
    this.outcomes.reported(nodeId, worker, order, m);
  }

  private stderrLog(nodeId: string, worker: string): string {
    return path.relative(this.o.paths.runDir, this.o.paths.stderr(nodeId, worker));
  }

  // ---- init() rules ---------------------------------------------------------------------

  private initState(): InitState {
    return {
      nodes: [...this.nodes.values()].map((n) => this.nodeInit(n)),
      startedAt: this.o.startedAt,
    };
  }

  private nodeInit(n: NodeState): NodeInitState {
    return {
      nodeId: n.nodeId,
      capacity: n.pool.capacity,
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
    const nodeVerdict = nodeInitRule.check(this.nodeInit(node));
    if (nodeVerdict) {
      node.stoppedStarting = true;
      this.log('ERROR', nodeVerdict.message);
      this.nodeLogs.note(nodeId, nodeVerdict.message);
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
    this.nodeLogs.exited(nodeId, worker, returnCode, error);
    this.runningOn.delete(worker);
    if (this.ending) return;
    if (reason === 'launch-failed') {
      this.fail(`A worker process could not be started: ${error ?? 'unknown error'}`);
      return;
    }
    if (this.phase === 'running' && nodeInitRule.mayStart(this.nodeInit(node)) && this.scheduler.hasWork()) {
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
      if (verdict) this.failWith(verdict);
    }
    this.writeOverview();
  }

  // ---- thresholds and the end -----------------------------------------------------------

  private checkThresholds(): void {
    const reason = thresholdRule.check(this.o.spec, {
      failedBatches: this.outcomes.failed,
      failedItems: this.outcomes.itemsFailed,
      planned: this.scheduler.planned,
      planDone: this.scheduler.planDone,
    });
    if (reason) this.fail(reason, text.thresholdFinding(reason, this.outcomes.failures.first));
  }

  private failWith(verdict: FailVerdict): void {
    if (verdict.findingLast && verdict.finding) {
      this.extraFindings.push(verdict.finding);
      this.fail(verdict.reason);
    } else this.fail(verdict.reason, verdict.finding);
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
    const notice = this.outcomes.shortNotice();
    if (notice) this.log('INFO', notice);
    const summary = this.summary();
    // INFO: a failure's cause was already logged at its own level, and the CLI prints its own summary.
    this.log('INFO', text.finishedText(summary));
    this.phase = 'done';
    this.resolveDone(summary);
  }

  private summary(): RunSummary {
    const { spec, paths } = this.o;
    const status = this.cancelled ? 'cancelled' : this.failureReason ? 'failed' : 'completed';
    const o = this.outcomes;
    const notice = o.shortNotice();
    const findings = [...this.extraFindings, ...o.failures.findings(spec.run_invocation_timeout)];
    return {
      status,
      exit_code: exitCodeOf(status),
      run_dir: paths.runDir,
      output_file: spec.output_action === 'append_row' ? path.join(paths.runDir, appendRowFile(spec)) : null,
      mini_batches: { total: this.scheduler.planned, succeeded: o.succeeded, failed: o.failed },
      items: { succeeded: o.itemsSucceeded, failed: o.itemsFailed },
      duration_s: (this.clock.now() - this.o.startedAt) / 1000,
      reason: this.failureReason ?? (this.cancelled ? 'Cancelled by the user.' : undefined),
      findings,
      ...(notice ? { notices: [notice] } : {}),
    };
  }

  /** For job_error.txt and job_result.txt, written by the run once the leader is done. */
  get failureLog(): FailureLog {
    return this.outcomes.failures;
  }

  // ---- reporting ------------------------------------------------------------------------

  progress(): Progress {
    const elapsedS = (this.clock.now() - this.o.startedAt) / 1000;
    const o = this.outcomes;
    const doneCount = o.succeeded + o.failed;
    const total = this.scheduler.planDone ? this.scheduler.planned : null;
    let etaS: number | null = null;
    if (total !== null && doneCount > 0) etaS = ((total - doneCount) * elapsedS) / doneCount;
    return {
      planned: this.scheduler.planned,
      total,
      succeeded: o.succeeded,
      failed: o.failed,
      running: this.runningOn.size,
      failedAttempts: o.failedAttempts,
      itemsSucceeded: o.itemsSucceeded,
      itemsFailed: o.itemsFailed,
      elapsedS,
      etaS,
    };
  }

  private emitProgress(): void {
    this.o.emit({ type: 'progress', progress: this.progress() });
  }

  private log(level: 'INFO' | 'WARNING' | 'ERROR', message: string): void {
    this.master.write(`${logTime()} ${level} ${message}\n`);
    this.o.emit({ type: 'log', level, message });
  }

  private writeOverview(final = false): void {
    this.overview.write(() => this.progress(), this.clock.now(), final);
  }

  /** Closes the leader's own files. */
  async close(): Promise<void> {
    await Promise.all([this.master.close(), this.nodeLogs.close()]);
  }
}
