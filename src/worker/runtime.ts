// What a worker process hosts: one user runtime for its whole life. The Node runtime runs the
// script in-process; the Python runtime drives an interpreter. Both answer in these terms.

import type { MiniBatch } from '../common/minibatch';
import type { ErrorInfo } from '../common/protocol';

export type BatchOutcome =
  | {
      ok: true;
      itemsTotal: number;
      itemsSucceeded: number;
      lines?: string[];
      runMs: number;
      /** CPU ms, when the runtime measures it itself (a separate interpreter process). */
      cpuMs?: number;
      warning?: string;
    }
  | { ok: false; itemsTotal: number; error: ErrorInfo; runMs: number; cpuMs?: number };

/** Thrown by init() when the user's init() (or loading the script) fails. */
export class RuntimeError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
  }
}

export interface Runtime {
  init(): Promise<void>;
  run(batch: MiniBatch): Promise<BatchOutcome>;
  shutdown(): Promise<void>;
}
