// The listener side of a WorkerProcess, once for its three kinds (a forked process, an Electron
// utility process, the leader's inline Python worker): messages go to every listener, and the exit
// is reported exactly once, after what the worker sent and printed before it went has been read.
// Without that wait the leader would charge a mini-batch whose result was still in a pipe, or
// close a log file before its last lines.

import type { Readable } from 'node:stream';
import type { WorkerMessage } from '../common/protocol';
import { linesFileProblem } from './spillFolder';

export type ExitReason = 'clean-exit' | 'crashed' | 'killed' | 'launch-failed';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  reason: ExitReason;
  /** ParallelRunStep's returncode: the exit code, or minus the signal number (-9 for SIGKILL). */
  returnCode: number;
  /** Launch failures carry the OS error. */
  error?: string;
  /**
   * It stopped on its own after its last result and ran nothing since (a cluster agent leaving):
   * every mini-batch still queued for it goes back without using an attempt.
   */
  handedBack?: boolean;
}

// Bounded, since a descendant that inherited a pipe or a connection could keep it open.
const DRAIN_MS = 1000;

/** Resolves once the stream has ended or closed (at once when there is none, or it already has). */
export function streamDone(stream: Readable | NodeJS.ReadableStream | null | undefined): Promise<void> {
  const s = stream as Readable | null | undefined;
  if (!s || s.readableEnded || s.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    s.once('end', resolve);
    s.once('close', resolve);
  });
}

export class WorkerEvents {
  private reported = false;

  /**
   * `spillDir`: the only folder whose lines files (src/engine/spillFolder.ts) this worker's results
   * may name; a result naming any other, or one without a folder, is the worker's protocol error.
   */
  constructor(private readonly spillDir?: string) {}
  private readonly messageListeners: Array<(message: WorkerMessage) => void> = [];
  private readonly exitListeners: Array<(info: ExitInfo) => void> = [];
  private readonly protocolListeners: Array<(detail: string) => void> = [];

  /** The exit has been reported: nothing more is delivered. */
  get ended(): boolean {
    return this.reported;
  }

  onMessage(listener: (message: WorkerMessage) => void): void {
    this.messageListeners.push(listener);
  }

  onExit(listener: (info: ExitInfo) => void): void {
    this.exitListeners.push(listener);
  }

  readonly deliver = (message: WorkerMessage): void => {
    if (this.reported) return;
    const problem = linesFileProblem(message, this.spillDir);
    if (problem) return this.badLine(problem);
    for (const listener of this.messageListeners) listener(message);
  };

  /** What the worker sent is not a message of the protocol (a line that is not JSON): the pool stops it. */
  onProtocolError(listener: (detail: string) => void): void {
    this.protocolListeners.push(listener);
  }

  readonly badLine = (detail: string): void => {
    if (this.reported) return;
    for (const listener of this.protocolListeners) listener(detail);
  };

  /**
   * The process is gone: reports its exit once everything in `drains` has settled, or after
   * DRAIN_MS. `info` is asked for then (a kill asked for meanwhile counts), and `release` runs
   * between the two (what it frees may be what `info` reads).
   */
  exitAfter(drains: Array<Promise<unknown> | undefined>, info: () => ExitInfo, release?: () => void): void {
    const drained = Promise.race([
      Promise.all(drains),
      new Promise((resolve) => setTimeout(resolve, DRAIN_MS).unref()),
    ]);
    void drained.then(() => {
      const exit = info();
      release?.();
      this.finish(exit);
    });
  }

  /** Reports the exit now (a second report is ignored). */
  finish(info: ExitInfo): void {
    if (this.reported) return;
    this.reported = true;
    for (const listener of this.exitListeners) listener(info);
  }

  /** The process never started: reported on the next turn, once a listener can hear it. */
  launchFailed(error: string): void {
    setImmediate(() =>
      this.finish({ code: null, signal: null, reason: 'launch-failed', returnCode: 1, error }),
    );
  }
}
