// The compact state of one run, folded from its events in the host, so that a client that opens the
// run late (a second tab, a reloaded page) gets the whole picture at once and then live events.

import type { RunSnapshot } from '../common/api';
import { LEADER_TERMINAL } from '../common/api';
import type { JobSpec } from '../common/spec';
import type { Finding, RunEvent } from '../common/events';
import { emptyProgress, foldFromSnapshot, reduceRun, utf8Length, type RunFold } from '../common/runReducer';

export { emptyProgress, MAX_METRIC_SAMPLES, pushMetrics } from '../common/runReducer';

/** Recent output kept per terminal for late subscribers; the log files hold everything. */
export const TERMINAL_RING_CHARS = 64 * 1024;

export class RunState {
  private fold: RunFold;
  private readonly terminals: Record<string, string> = {};
  /** Bytes of stdout seen per process, so an attempt row can point into the log at its start. */
  private readonly stdoutBytes = new Map<string, number>();

  constructor(runId: string, runDir: string, name: string, spec: JobSpec | null = null) {
    this.fold = foldFromSnapshot({
      runId,
      runDir,
      name,
      spec,
      status: 'running',
      live: true,
      progress: emptyProgress(),
      workers: [],
      nodes: [],
      attempts: [],
      findings: [],
      summary: null,
      startedAt: Date.now(),
      metrics: { node: [], processes: [] },
    });
  }

  /** The run as a late client should see it; the terminals are the live rings (see sendableSnapshot). */
  get snapshot(): RunSnapshot {
    const { run, attempts, metrics } = this.fold;
    return { ...run, attempts, metrics, terminals: this.terminals };
  }

  /**
   * A resumed run starts from its folder as it was: earlier attempts stay listed, and its elapsed
   * time goes on from the earlier sessions' (the engine times the resume alone).
   */
  seedFromEarlier(earlier: RunSnapshot, resumes: number): void {
    const run = this.fold.run;
    this.fold = foldFromSnapshot({
      ...run,
      startedAt: earlier.startedAt,
      resumed: { count: resumes, priorElapsedS: earlier.progress.elapsedS, sessionStartedAt: Date.now() },
      progress: { ...earlier.progress, etaS: null },
      attempts: [...earlier.attempts],
      metrics: earlier.metrics,
    });
  }

  /**
   * Folds one event into the snapshot and returns it as clients should see it: a resumed run's
   * progress counts the earlier sessions' time too, and an attempt says where its stdout begins.
   */
  apply(event: RunEvent): RunEvent {
    const prior = this.fold.run.resumed?.priorElapsedS ?? 0;
    if (event.type === 'progress' && prior > 0)
      event = { ...event, progress: { ...event.progress, elapsedS: prior + event.progress.elapsedS } };
    if (event.type === 'output') {
      if (event.stream === 'stdout')
        this.stdoutBytes.set(
          event.process,
          (this.stdoutBytes.get(event.process) ?? 0) + utf8Length(event.data),
        );
      this.appendTerminal(event.process, event.stream === 'stderr' ? stderrColoured(event.data) : event.data);
      return event;
    }
    // An attempt begins with 'running' (leader.ts's begin): that is where its stdout begins.
    if (event.type === 'attempt' && event.status === 'running')
      event = { ...event, stdoutOffset: this.stdoutBytes.get(event.process) ?? 0 };
    else if (event.type === 'log')
      this.appendTerminal(LEADER_TERMINAL, leaderLine(event.level, event.message));
    this.fold = reduceRun(this.fold, event, Date.now());
    return event;
  }

  /** The engine failed outright (not a failed job): the run shows as failed, with the cause. */
  failOutright(finding: Finding): void {
    if (!this.fold.run.live) return;
    this.fold = {
      ...this.fold,
      run: { ...this.fold.run, live: false, status: 'failed', findings: [finding] },
    };
  }

  private appendTerminal(term: string, data: string): void {
    const t = this.terminals;
    let text = (t[term] ?? '') + data;
    // Trim in large steps so appending stays amortised O(1).
    if (text.length > 2 * TERMINAL_RING_CHARS) text = text.slice(text.length - TERMINAL_RING_CHARS);
    t[term] = text;
  }
}

/** Trim a snapshot's terminals to the ring size before sending. */
export function sendableSnapshot(s: RunSnapshot): RunSnapshot {
  const terminals: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.terminals)) terminals[k] = v.slice(-TERMINAL_RING_CHARS);
  return { ...s, terminals };
}

export function stderrColoured(data: string): string {
  return `\x1b[31m${data}\x1b[39m`;
}

export function leaderLine(level: string, message: string): string {
  const colour = level === 'ERROR' ? '\x1b[31m' : level === 'WARNING' ? '\x1b[33m' : '\x1b[2m';
  return `${colour}${level.padEnd(7)}\x1b[0m ${message}\r\n`;
}
