// What became of each attempt: its journal row and output lines (through the commit log), its
// processNNN.txt line, its event for the app, the job's counts, and the failure log that
// job_error.txt and the findings are made from. Retries are the scheduler's to queue.

import path from 'node:path';
import type { RunEvent } from '../../common/events';
import type { MiniBatch } from '../../common/minibatch';
import type { BatchResult, ErrorInfo } from '../../common/protocol';
import type { JobSpec } from '../../common/spec';
import type { CommitLog } from '../commitLog';
import { FailureLog } from '../failures';
import type { AttemptRow, JournalState } from '../journal';
import type { RunPaths } from '../logTree';
import type { CpuUse } from '../monitor/treeCpu';
import type { NodeLogs } from './nodeLogs';
import type { AttemptOrder, LostAttemptStatus } from './nodePool';
import { shortIgnoredNotice } from './reports';
import type { Scheduler } from './scheduler';

export interface OutcomeDeps {
  spec: JobSpec;
  paths: RunPaths;
  commits: CommitLog;
  scheduler: Scheduler;
  nodeLogs: NodeLogs;
  emit(event: RunEvent): void;
  log(level: 'INFO' | 'WARNING' | 'ERROR', message: string): void;
  /** A mini-batch was counted (succeeded or failed for good): the thresholds may speak. */
  counted(): void;
}

export class Outcomes {
  succeeded = 0;
  failed = 0;
  failedAttempts = 0;
  itemsSucceeded = 0;
  itemsFailed = 0;
  readonly failures = new FailureLog();
  /** With error_threshold -1 a short return is not checked at all (prs-behaviour.md, "Short returns"). */
  private readonly shortReturnsFail: boolean;
  /** Short returns taken as successes (error_threshold -1): the summary's notice. */
  private readonly shortIgnored = { batches: 0, items: 0 };
  /** Kinds of warning already said: a run of a million mini-batches says each kind once. */
  private readonly warned = new Set<string>();

  constructor(private readonly d: OutcomeDeps) {
    this.shortReturnsFail = d.spec.error_threshold !== -1;
  }

  /** What the earlier runs of a resumed run folder committed. */
  resumedItems(resumed: JournalState): void {
    for (const [, s] of resumed.succeeded) {
      this.itemsSucceeded += s.itemsSucceeded;
      this.itemsFailed += s.itemsFailed;
    }
  }

  /** A resumed mini-batch that is not run again: how it counts. */
  resumedBatch(verdict: 'succeeded' | 'short' | 'used-up', batch: MiniBatch): void {
    if (verdict === 'succeeded') this.succeeded++;
    else this.failed++;
    if (verdict === 'used-up') this.itemsFailed += batch.items;
  }

  /** The summary's notice of short returns taken as successes, if there were any. */
  shortNotice(): string | null {
    const { batches, items } = this.shortIgnored;
    return batches > 0 ? shortIgnoredNotice(batches, items) : null;
  }

  /** run() returned or raised: its report. */
  reported(nodeId: string, worker: string, order: AttemptOrder, m: BatchResult): void {
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
    this.d.commits.add({ row, lines: m.lines, linesFile: m.linesFile });
    this.d.scheduler.settled(m.id);
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
    this.d.emit({
      type: 'attempt',
      miniBatchId: m.id,
      attempt: order.attempt,
      process: worker,
      status: shortError ? 'failed' : 'succeeded',
      ...(shortError ? { error: `${shortError.type}: ${shortError.message}` } : {}),
    });
    this.d.nodeLogs.attemptEnded(row);
    this.d.counted();
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
      pid: this.d.nodeLogs.pidOf(worker),
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

  /** An attempt that ended without a report (a timeout, its worker's death, its node lost). */
  lost(
    nodeId: string,
    worker: string,
    order: AttemptOrder,
    status: LostAttemptStatus,
    error: ErrorInfo,
    startedAt: number,
    elapsedS: number,
    cpu?: CpuUse | null,
  ): void {
    const cpuS = status === 'timeout' ? (cpu?.cpuS ?? 0) : 0;
    const row = this.attemptRow(nodeId, worker, order, startedAt, elapsedS, cpuS, elapsedS);
    this.attemptFailed(nodeId, worker, order, row, status, error, status === 'timeout' ? cpu : undefined);
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
    row.status = status;
    row.items_failed = row.items_total;
    row.error_type = error.type;
    row.error_message = error.message;
    row.traceback = error.traceback ?? null;
    this.d.commits.add({ row });
    this.failedAttempts++;
    this.d.nodeLogs.attemptEnded(row);
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
    this.d.emit({
      type: 'attempt',
      miniBatchId: order.batch.id,
      attempt: order.attempt,
      process: worker,
      status,
      error: `${error.type}: ${error.message}`,
    });
    if (this.d.scheduler.failed(order)) {
      this.d.log(
        'WARNING',
        `mini-batch ${order.batch.id} attempt ${order.attempt} ${status} on ${worker} (${error.type}: ${error.message.split('\n')[0]}); retrying.`,
      );
    } else {
      this.d.log(
        'ERROR',
        `mini-batch ${order.batch.id} failed after ${order.attempt} attempt(s): ${error.type}: ${error.message.split('\n')[0]}`,
      );
      this.failed++;
      this.itemsFailed += order.batch.items;
      this.d.counted();
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
        `the ${missing} missing item(s) failed, and so did the mini-batch (error_threshold is ${this.d.spec.error_threshold}, not -1)`,
    };
    this.d.log('ERROR', `mini-batch ${order.batch.id} failed: ${error.message}`);
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
    return path.relative(this.d.paths.runDir, this.d.paths.stderr(nodeId, worker));
  }

  private warnOnce(message: string): void {
    const kind = message.replace(/\d+/g, '#');
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    this.d.log('WARNING', `${message} (said once per run; later mini-batches may do the same)`);
  }
}
