// The compact state of one run, folded from its events in the host, so that a client that opens the
// run late (a second tab, a reloaded page) gets the whole picture at once and then live events.

import type { AttemptRow, MetricsHistory, RunSnapshot } from '../common/api';
import { LEADER_TERMINAL } from '../common/api';
import type { Progress, RunEvent, RunStatus } from '../common/events';
import { progressAtEnd, stopUnfinished } from '../common/runEnd';

/** Recent output kept per terminal for late subscribers; the log files hold everything. */
export const TERMINAL_RING_CHARS = 64 * 1024;
/** Metric samples kept; beyond this every other old sample is dropped, so long runs stay drawable. */
export const MAX_METRIC_SAMPLES = 20_000;

export function emptyProgress(): Progress {
  return {
    planned: 0,
    total: null,
    succeeded: 0,
    failed: 0,
    running: 0,
    failedAttempts: 0,
    itemsSucceeded: 0,
    itemsFailed: 0,
    elapsedS: 0,
    etaS: null,
  };
}

export class RunState {
  readonly snapshot: RunSnapshot;
  private readonly attemptIndex = new Map<string, number>();
  /** Bytes of stdout seen per process, so an attempt row can point into the log at its start. */
  private readonly stdoutBytes = new Map<string, number>();

  constructor(runId: string, runDir: string, name: string) {
    this.snapshot = {
      runId,
      runDir,
      name,
      spec: null,
      status: 'running',
      live: true,
      progress: emptyProgress(),
      workers: [],
      attempts: [],
      findings: [],
      summary: null,
      startedAt: Date.now(),
      terminals: {},
      metrics: { node: [], processes: [] },
    };
  }

  /**
   * A resumed run starts from its folder as it was: earlier attempts stay listed, and its elapsed
   * time goes on from the earlier sessions' (the engine times the resume alone).
   */
  seedFromEarlier(earlier: RunSnapshot, resumes: number): void {
    const s = this.snapshot;
    s.startedAt = earlier.startedAt;
    s.resumed = { count: resumes, priorElapsedS: earlier.progress.elapsedS, sessionStartedAt: Date.now() };
    s.progress = { ...earlier.progress, etaS: null, elapsedS: earlier.progress.elapsedS };
    s.metrics = earlier.metrics;
    for (const a of earlier.attempts) {
      this.attemptIndex.set(`${a.miniBatchId}:${a.attempt}`, s.attempts.length);
      s.attempts.push(a);
    }
  }

  /**
   * Folds one event into the snapshot and returns it as clients should see it: a resumed run's
   * progress counts the earlier sessions' time too.
   */
  apply(event: RunEvent): RunEvent {
    const s = this.snapshot;
    const prior = s.resumed?.priorElapsedS ?? 0;
    if (event.type === 'progress' && prior > 0)
      event = { ...event, progress: { ...event.progress, elapsedS: prior + event.progress.elapsedS } };
    switch (event.type) {
      case 'run-started':
        s.spec = event.spec;
        s.name = event.spec.name;
        break;
      case 'plan':
        s.progress = {
          ...s.progress,
          planned: event.planned,
          total: event.done ? event.planned : s.progress.total,
        };
        break;
      case 'worker': {
        const i = s.workers.findIndex((w) => w.name === event.worker.name);
        if (i >= 0) s.workers[i] = event.worker;
        else s.workers.push(event.worker);
        break;
      }
      case 'attempt':
        this.applyAttempt(event);
        break;
      case 'progress':
        s.progress = event.progress;
        break;
      case 'output':
        if (event.stream === 'stdout') {
          this.stdoutBytes.set(
            event.process,
            (this.stdoutBytes.get(event.process) ?? 0) + byteLength(event.data),
          );
        }
        this.appendTerminal(
          event.process,
          event.stream === 'stderr' ? stderrColoured(event.data) : event.data,
        );
        break;
      case 'log':
        this.appendTerminal(LEADER_TERMINAL, leaderLine(event.level, event.message));
        break;
      case 'metrics':
        pushMetrics(s.metrics, event.node, event.processes);
        break;
      case 'finished':
        s.summary = event.summary;
        s.status = event.summary.status;
        s.findings = event.summary.findings;
        s.live = false;
        s.progress = progressAtEnd(s.progress, event.summary, prior);
        stopUnfinished(s.attempts, event.summary);
        break;
    }
    return event;
  }

  setStatus(status: RunStatus): void {
    this.snapshot.status = status;
  }

  private applyAttempt(event: Extract<RunEvent, { type: 'attempt' }>): void {
    const key = `${event.miniBatchId}:${event.attempt}`;
    const i = this.attemptIndex.get(key);
    if (i === undefined) {
      const row: AttemptRow = {
        miniBatchId: event.miniBatchId,
        attempt: event.attempt,
        process: event.process,
        nodeId: this.snapshot.workers.find((w) => w.name === event.process)?.nodeId ?? '0',
        status: event.status,
        error: event.error,
        startedAt: Date.now(),
        stdoutOffset: this.stdoutBytes.get(event.process) ?? 0,
      };
      this.attemptIndex.set(key, this.snapshot.attempts.length);
      this.snapshot.attempts.push(row);
    } else {
      const row = this.snapshot.attempts[i];
      row.status = event.status;
      if (event.error !== undefined) row.error = event.error;
      if (event.status !== 'running' && row.startedAt !== undefined)
        row.elapsedS = (Date.now() - row.startedAt) / 1000;
    }
  }

  private appendTerminal(term: string, data: string): void {
    const t = this.snapshot.terminals;
    let text = (t[term] ?? '') + data;
    // Trim in large steps so appending stays amortised O(1).
    if (text.length > 2 * TERMINAL_RING_CHARS) text = text.slice(text.length - TERMINAL_RING_CHARS);
    t[term] = text;
  }
}

export function pushMetrics(
  m: MetricsHistory,
  node: MetricsHistory['node'][number],
  processes: Array<Omit<MetricsHistory['processes'][number], 't'>>,
): void {
  m.node.push(node);
  for (const p of processes) m.processes.push({ ...p, t: node.t });
  if (m.node.length > MAX_METRIC_SAMPLES) {
    m.node = m.node.filter((_, i) => i % 2 === 0 || i >= m.node.length - 1000);
    const keep = new Set(m.node.map((n) => n.t));
    m.processes = m.processes.filter((p) => keep.has(p.t));
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

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
