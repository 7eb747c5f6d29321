// The one typed contract between the leader and a worker process. Both sides import these types;
// messages travel over the launcher's message channel (child_process IPC or a utilityProcess port).

import type { MiniBatch } from './minibatch';
import type { LoggingLevel, OutputAction, Runtime } from './spec';

export interface ErrorInfo {
  /** Exception class name, or a contract name such as "ReturnValueError". */
  type: string;
  message: string;
  /** Full traceback / stack, as the runtime prints it. */
  traceback?: string;
}

/** Everything a worker needs to host the user's runtime; sent once, first. */
export interface WorkerConfig {
  runtime: Runtime;
  entryScript: string;
  sourceDirectory: string;
  /** Resolved interpreter executable for the Python runtime. */
  python?: string;
  args: string[];
  nodeId: string;
  processName: string;
  loggingLevel: LoggingLevel;
  outputAction: OutputAction;
  /** EntryScript.log_dir: logs/user/entry_script_log/<node>/ */
  logDir: string;
  /** The EntryScript logger's file. */
  entryLogFile: string;
  /** logs/user/error/<node>/<process>.txt: failed subprocesses of the entry script (Python). */
  errorLogFile?: string;
  /** EntryScript.output_dir: the run's outputs/ folder. */
  outputDir: string;
  /** logs/user/metrics/<node>/<process>.jsonl: what the script logs (mlflow, Run.log), gathered into run.json. */
  metricsFile?: string;
  /** Where a profile is written when profiling is on. */
  profileFile?: string;
  profilingModule?: string;
  models: Record<string, string>;
  /** Write a DataFrame's header line before its rows (--append_row_dataframe_header True). */
  dataframeHeader: boolean;
  /** Mini-batches are tables: the Python runtime imports pandas while it waits for init (issue 15). */
  tabular?: boolean;
}

export type LeaderMessage =
  | { t: 'init'; config: WorkerConfig }
  /**
   * Mini-batches to queue. They may arrive while another runs: the worker keeps a small queue so a
   * round trip to the leader never leaves it idle, and runs them one at a time, in order.
   */
  | {
      t: 'run';
      batches: MiniBatch[];
      /** Each batch's attempt number (job-wide): a cluster names its BullMQ job by it; workers ignore it. */
      attempts?: number[];
    }
  /** Finish the current mini-batch, run shutdown(), exit 0. */
  | { t: 'stop' };

export interface BatchTimes {
  /** Wall-clock ms from the start of run() handling to its end, including reading the input. */
  elapsedMs: number;
  /** CPU ms used by the process (user + system) during the mini-batch. */
  cpuMs: number;
  /** Wall-clock ms inside the user's run() alone. */
  runMs: number;
  /** Epoch ms when the worker began the mini-batch. */
  startedAt: number;
}

export interface BatchDone {
  status: 'done';
  id: number;
  itemsTotal: number;
  /** Elements run() returned: one success each, capped at itemsTotal. */
  itemsSucceeded: number;
  /**
   * append_row: the output text, its elements joined by newlines: one line per returned element (a
   * DataFrame header first, when asked), except that the Python runtime sends a DataFrame's rows as
   * one element holding them all (cheaper on both sides).
   */
  lines?: string[];
  /**
   * In place of `lines` when they are large (see src/runtime/spillLines.ts): a file in the worker's
   * spill folder (PRS_SPILL_DIR) holding them as the output takes them, each line newline-ended.
   * The leader copies it into the output a chunk at a time and deletes it, so a big return never
   * becomes a string in the leader's memory.
   */
  linesFile?: string;
  times: BatchTimes;
  /** A non-fatal remark, e.g. more elements returned than inputs. */
  warning?: string;
}

export interface BatchFailed {
  status: 'failed';
  id: number;
  itemsTotal: number;
  error: ErrorInfo;
  times: BatchTimes;
}

export type BatchResult = BatchDone | BatchFailed;

export type WorkerMessage =
  | { t: 'ready'; pid: number; initMs: number }
  | { t: 'init-failed'; error: ErrorInfo }
  /** Finished mini-batches in the order they ran; several per message when they finish fast. */
  | { t: 'results'; results: BatchResult[] };
