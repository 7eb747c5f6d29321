// The exit codes users see (contracts.md, "Exit codes"), named once: the CLI, the engine's
// summaries and the worker processes all take them from here.

export const EXIT = {
  completed: 0,
  /** A spec or usage error: nothing ran. */
  usage: 2,
  /** A worker that stops by itself (ParallelRunStep's 41). */
  workerSelfStop: 41,
  /** The job ran and failed. */
  failed: 42,
  cancelled: 130,
} as const;

export function exitCodeOf(status: 'completed' | 'failed' | 'cancelled' | 'running'): number {
  if (status === 'completed') return EXIT.completed;
  return status === 'cancelled' ? EXIT.cancelled : EXIT.failed;
}
