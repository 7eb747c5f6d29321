// What a worker process hosts: one user runtime for its whole life. The Node runtime runs the
// script in-process; the Python runtime drives an interpreter. Both answer in these terms.

import type { MiniBatch } from '../common/minibatch';
import { EXIT } from '../common/exitCodes';
import type { ErrorInfo } from '../common/protocol';

export type BatchOutcome =
  | {
      ok: true;
      itemsTotal: number;
      itemsSucceeded: number;
      lines?: string[];
      /** The lines in a file instead (a big return: see src/runtime/spillLines.ts). */
      linesFile?: string;
      runMs: number;
      /** CPU ms, when the runtime measures it itself (a separate interpreter process). */
      cpuMs?: number;
      warning?: string;
    }
  | { ok: false; itemsTotal: number; error: ErrorInfo; runMs: number; cpuMs?: number };

/** What a worker that stops by itself exits with, as ParallelRunStep's do (never a clean 0). */
export const EXIT_SELF_STOP = EXIT.workerSelfStop;

/** Thrown by init() when the user's init() (or loading the script) fails. */
export class RuntimeError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
  }
}

export interface Runtime {
  init(): Promise<void>;
  run(batch: MiniBatch): Promise<BatchOutcome>;
  /**
   * A runtime that runs mini-batches in a process of its own may take them in bulk instead of
   * through run(): it runs them in order and reports each result to the leader itself, before the
   * next one starts (so a crash is charged to the right mini-batch).
   */
  submit?(batches: MiniBatch[]): void;
  shutdown(): Promise<void>;
}
