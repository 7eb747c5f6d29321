// The run folder and ParallelRunStep's log tree (reference/prs-behaviour.md), file for file.
// Paths are computed here and nowhere else, so the app, the CLI and the tests agree on them.

import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface RunPaths {
  runDir: string;
  runJson: string;
  outputsDir: string;
  logsDir: string;
  readme: string;
  jobResult: string;
  jobError: string;
  masterRole: string;
  processedCsv: string;
  sysErrorDir: string;
  journal: string;
  nodeDir(nodeId: string): string;
  mainTxt(nodeId: string): string;
  processSysTxt(nodeId: string, process: string): string;
  profile(nodeId: string, process: string): string;
  stdout(nodeId: string, process: string): string;
  stderr(nodeId: string, process: string): string;
  entryLogDir(nodeId: string): string;
  entryLog(nodeId: string, process: string): string;
  userErrorDir(nodeId: string): string;
  metricsDir(nodeId: string): string;
  perfDir(nodeId: string): string;
  progressOverview(stamp: string): string;
}

export function runPaths(runDir: string): RunPaths {
  const logs = path.join(runDir, 'logs');
  const sys = path.join(logs, 'sys');
  const user = path.join(logs, 'user');
  return {
    runDir,
    runJson: path.join(runDir, 'run.json'),
    outputsDir: path.join(runDir, 'outputs'),
    logsDir: logs,
    readme: path.join(logs, 'readme.txt'),
    jobResult: path.join(logs, 'job_result.txt'),
    jobError: path.join(logs, 'job_error.txt'),
    masterRole: path.join(sys, 'master_role.txt'),
    processedCsv: path.join(sys, 'job_report', 'processed_mini-batches.csv'),
    sysErrorDir: path.join(sys, 'error'),
    journal: path.join(runDir, 'journal.sqlite'),
    nodeDir: (n) => path.join(sys, 'node', n),
    mainTxt: (n) => path.join(sys, 'node', n, '_main.txt'),
    processSysTxt: (n, p) => path.join(sys, 'node', n, `${p}.txt`),
    profile: (n, p) => path.join(sys, 'node', n, `${p}.profile`),
    stdout: (n, p) => path.join(user, 'stdout', n, `${p}.stdout.txt`),
    stderr: (n, p) => path.join(user, 'stderr', n, `${p}.stderr.txt`),
    entryLogDir: (n) => path.join(user, 'entry_script_log', n),
    entryLog: (n, p) => path.join(user, 'entry_script_log', n, `${p}.log.txt`),
    userErrorDir: (n) => path.join(user, 'error', n),
    metricsDir: (n) => path.join(user, 'metrics', n),
    perfDir: (n) => path.join(logs, 'perf', n),
    progressOverview: (stamp) => path.join(logs, `job_progress_overview.${stamp}.txt`),
  };
}

export async function createLogTree(paths: RunPaths, nodeIds: string[]): Promise<void> {
  const dirs = [paths.outputsDir, path.dirname(paths.processedCsv), paths.sysErrorDir];
  for (const n of nodeIds) {
    dirs.push(
      paths.nodeDir(n),
      path.dirname(paths.stdout(n, 'x')),
      path.dirname(paths.stderr(n, 'x')),
      paths.entryLogDir(n),
      paths.userErrorDir(n),
      paths.perfDir(n),
    );
  }
  await Promise.all(dirs.map((d) => mkdir(d, { recursive: true })));
  await writeFile(paths.readme, README);
}

/** How long log lines gather before a write (the live view does not wait for the files). */
const FLUSH_MS = 50;

/**
 * An append-only text file whose writes never block the leader. Lines are gathered for a few
 * milliseconds and written together: a log line per mini-batch must not cost a system call each.
 */
export class LogFile {
  private readonly stream: WriteStream;
  private pending: string[] = [];
  private pendingChars = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(file: string) {
    this.stream = createWriteStream(file, { flags: 'a' });
    // A log file that cannot be written (a full disk) must not crash the host. The results do not
    // depend on it: the output and journal commits fail the run themselves (CommitLog.error).
    this.stream.on('error', () => undefined);
  }

  write(text: string): void {
    this.pending.push(text);
    this.pendingChars += text.length;
    if (this.pendingChars >= 64 * 1024) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    this.stream.write(this.pending.join(''));
    this.pending = [];
    this.pendingChars = 0;
  }

  close(): Promise<void> {
    this.flush();
    return new Promise((resolve) => this.stream.end(resolve));
  }
}

/**
 * A formatter of epoch ms whose text up to the milliseconds depends on the second only: that part is
 * made once a second (two log lines and a CSV row per mini-batch ask, thousands a second).
 */
function bySecond(head: (second: Date) => string, tail = ''): (ms: number) => string {
  let cachedSecond = NaN;
  let cachedHead = '';
  return (ms) => {
    const whole = Math.floor(ms);
    const second = Math.floor(whole / 1000);
    if (second !== cachedSecond) {
      cachedHead = head(new Date(second * 1000));
      cachedSecond = second;
    }
    const milli = whole - second * 1000;
    return cachedHead + (milli < 10 ? '00' : milli < 100 ? '0' : '') + milli + tail;
  };
}

const pad2 = (n: number) => String(n).padStart(2, '0');

const localLogTime = bySecond(
  (d) =>
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())},`,
);

/** "2026-11-25 18:02:03,123", the timestamp format of ParallelRunStep's logs. */
export function logTime(ms: number = Date.now()): string {
  return localLogTime(ms);
}

/** new Date(ms).toISOString(), as processed_mini-batches.csv writes its start times. */
export const isoTime = bySecond((d) => d.toISOString().slice(0, -4), 'Z');

/** H:MM:SS, as in "Processed 4117 of 20000 mini batches in 5:02:14." */
export function hms(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export const PROCESSED_CSV_COLUMNS = [
  'mini_batch_id',
  'attempt',
  'status',
  'node_id',
  'process_name',
  'pid',
  'items_total',
  'items_succeeded',
  'items_failed',
  'start_time',
  'elapsed_s',
  'process_time_s',
  'run_time_s',
  'error',
] as const;

const README = `This folder is the log tree of one Parallel Run Studio run, laid out as Azure ML ParallelRunStep lays out its own.

job_result.txt                         The result. On failure: the first cause, the mini-batch, and the log file to open.
job_error.txt                          Errors raised by the entry script, grouped by type, with counts and one full traceback each.
job_progress_overview.<timestamp>.txt  Mini-batches created and processed, with the estimated remaining time. A new file each day.
sys/master_role.txt                    The leader's view: planning, scheduling, retries, thresholds, the result.
sys/data_endpoint.txt                  A cluster run: each request agents made to the leader's data endpoint (never its token).
sys/job_report/processed_mini-batches.csv  One row per mini-batch attempt: status, process, items, times, error.
sys/node/<node_id>/_main.txt           Process supervision on the node: starts, exits ("process001 exits with returncode -9"), replacements.
sys/node/<node_id>/<process>.txt       Per mini-batch attempt the process ran: when it starts, its inputs (files, or a table's byte ranges);
                                       when it ends, PID, items, start, elapsed, process (CPU) and run() time.
sys/node/<node_id>/<process>.profile   A profile (pstats), when profiling_module is set.
sys/error/                             Exceptions of Parallel Run Studio itself.
user/stdout/<node_id>/<process>.stdout.txt   What the entry script printed to stdout (plain text).
user/stderr/<node_id>/<process>.stderr.txt   What it printed to stderr, tracebacks included.
user/entry_script_log/<node_id>/<process>.log.txt   The EntryScript logger's (ctx.logger's) output.
user/error/<node_id>/                  Errors of subprocesses the entry script started.
user/metrics/<node_id>/<process>.jsonl What the entry script logged (mlflow.log_metric, Run.log, ...); run.json gathers it.
perf/<node_id>/                        Resource usage: node_resource_usage.csv, processes_resource_usage.csv, node_disk_usage.csv,
                                       os/<YYYYMMDDHH>/processes_<MM> process listings, samples.jsonl (the app's graphs).

A process name (process000, process001, ...) is used once: a worker that exits is replaced by the next number.
`;
