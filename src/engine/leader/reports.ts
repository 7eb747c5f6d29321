// What the leader says: its log lines and the catalogue of findings, each with its remedy. Words
// live here so the rules (policies.ts) and the flow (leader.ts) stay about decisions.

import type { Finding, RunSummary } from '../../common/events';
import type { ErrorInfo } from '../../common/protocol';
import type { CommitError } from '../commitLog';
import type { FailureExample } from '../failures';
import type { AttemptRow } from '../journal';
import { hms, logTime } from '../logTree';
import type { Progress } from '../../common/events';

export const INIT_STUCK_REASON =
  'No progress: every worker was stuck in init() for more than 3 × run_invocation_timeout + 30 seconds.';

export function initStuckFinding(timeoutS: number): Finding {
  return {
    kind: 'no-progress',
    title: 'Every worker is stuck in init()',
    detail: `No worker finished init() within 3 × run_invocation_timeout + 30 = ${3 * timeoutS + 30} s.`,
    remedy:
      'Find what init() waits for (a download, a lock, a GPU); raise run_invocation_timeout if init() is just slow.',
  };
}

export function jobInitFailed(failures: number, limit: number): string {
  return `init() failed ${failures} times and the job has run for over 2 minutes (limit: 2 × node_count × process_count_per_node = ${limit}).`;
}

export function nodeStopsStarting(node: { nodeId: string; initFailures: number }, limit: number): string {
  return `init() failed ${node.initFailures} times (3 × process_count_per_node = ${limit}): no new processes will be started on node ${node.nodeId}.`;
}

export function noWorkerLeft(initFailures: number): string {
  return `init() failed ${initFailures} time(s); no worker process is left to run the remaining mini-batches.`;
}

export function initFailureFinding(
  error: ErrorInfo,
  process: string,
  logFile: string,
): Finding & { count: number } {
  return {
    kind: 'init-failure',
    title: 'init() failed',
    detail: `${error.type}: ${error.message}`,
    remedy:
      'Fix init() using the traceback. ParallelRunStep stops starting processes after 3 × process_count_per_node init() failures, and fails the job after 2 minutes with 2 × node_count × process_count_per_node failures.',
    process,
    logFile,
    traceback: error.traceback,
    count: 1,
  };
}

export function firstTaskFinding(s: number, defaultS: number): Finding {
  return {
    kind: 'no-progress',
    title: 'No mini-batch was created in time',
    detail: `Splitting the input created no mini-batch within ${s} s (--first_task_creation_timeout, default ${defaultS} s).`,
    remedy:
      'Check that the inputs can be read quickly (a slow network folder, a huge table grouped by partition_keys is read whole before its first mini-batch); raise --first_task_creation_timeout in arguments if it is just large.',
  };
}

export function progressFinding(s: number, running: number): Finding {
  return {
    kind: 'no-progress',
    title: 'No mini-batch finished in time',
    detail: `No mini-batch finished for ${s} s (--progress_update_timeout) while ${running} ran.`,
    remedy:
      "Look at the running processes' stderr logs for what run() waits for; raise --progress_update_timeout (or run_invocation_timeout) if mini-batches are just slow.",
  };
}

export function thresholdFinding(reason: string, first: FailureExample | null): Finding {
  return {
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
  };
}

export function planFailureFinding(err: Error): Finding {
  return {
    kind: 'system',
    title: 'The input could not be split into mini-batches',
    detail: err.message,
    remedy: 'Fix the input named in the message, then run the job again.',
  };
}

export function pythonCheckFailedFinding(err: Error): Finding {
  return {
    kind: 'environment',
    title: 'The Python interpreter could not be checked',
    detail: err.message,
    remedy: 'Check the `python:` setting of the job spec.',
  };
}

/** Why results stopped being written, and how to carry on once there is room again. */
export function writeFailureFinding(err: CommitError, runDir: string): Finding {
  const full = /ENOSPC|EDQUOT|SQLITE_FULL/.test(err.message);
  return {
    kind: 'environment',
    title: full ? 'The disk is full' : 'Results could not be written',
    detail: `${err.message}. The mini-batches committed before it are kept in the run's journal.`,
    remedy: `${full ? 'Free space on the disk of the run folder' : 'Fix the cause'}, then run \`prs resume ${runDir}\`: mini-batches already committed do not run again.`,
  };
}

/** A line from a worker that is not a message of the protocol: a fault of the worker, named. */
export function protocolErrorText(process: string, nodeId: string, detail: string): string {
  return `${process} on node ${nodeId} broke the worker protocol: ${detail}; ${process} is stopped and replaced.`;
}

export function shortIgnoredNotice(batches: number, items: number): string {
  return (
    `${items} item(s) in ${batches} mini-batch(es) came back short (run() returned fewer elements than it was given); ` +
    'with error_threshold -1 short returns are not checked, so they count as successes.'
  );
}

/**
 * The leader's last line: the job is over, how it ended and how long it took, so a log read live
 * (the app's leader terminal, a tail -f) says when it is done.
 */
export function finishedText(s: RunSummary): string {
  const how = s.status === 'completed' && s.mini_batches.failed > 0 ? 'completed with failures' : s.status;
  return (
    `Job ${how} in ${s.duration_s.toFixed(1)} s: ${s.mini_batches.succeeded} of ${s.mini_batches.total} mini-batch(es) succeeded, ` +
    `${s.mini_batches.failed} failed; ${s.items.succeeded} item(s) succeeded, ${s.items.failed} failed.`
  );
}

/** A processNNN.txt line for an attempt that ended. */
export function attemptLine(r: AttemptRow): string {
  return (
    `${logTime(r.start_time)} mini-batch ${r.mini_batch_id} attempt ${r.attempt} ${r.status}: pid ${r.pid ?? '?'}, ip 127.0.0.1, ` +
    `items total ${r.items_total}, succeeded ${r.items_succeeded}, failed ${r.items_failed}, ` +
    `elapsed ${r.elapsed_s.toFixed(3)} s, process time ${r.process_time_s.toFixed(3)} s, run() time ${r.run_time_s.toFixed(3)} s\n`
  );
}

/** A job_progress_overview line. */
export function overviewLine(p: Progress, now: number, final: boolean): string {
  const processed = p.succeeded + p.failed;
  const eta =
    p.etaS === null
      ? 'Estimated remaining time unknown (still creating mini-batches).'
      : `Estimated remaining time ${hms(p.etaS)}.`;
  return (
    `${logTime(now)} ${p.planned} mini batches created${p.total === null ? ' so far' : ''}. ` +
    `Processed ${processed} of ${p.total ?? `${p.planned}+`} mini batches in ${hms(p.elapsedS)}. ${final ? 'Done.' : eta}\n`
  );
}

/** Warns when simulated nodes ask for more workers than the machine has cores. */
export function oversubscribedText(nodes: number, perNode: number, cores: number): string {
  return `node_count ${nodes} × ${perNode} process(es) per node = ${nodes * perNode} worker processes on this machine, which has ${cores} core(s): they will share them, and each runs slower (lower node_count or process_count_per_node).`;
}
