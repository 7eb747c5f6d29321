// The one reducer of a run's events. The host folds them for clients that open a run late, the
// renderer folds them for the run on screen; both call reduceRun, so the two pictures cannot drift
// (they did: metrics were thinned in the host only, live attempt rows in the app had no
// stdoutOffset, and workers were in arrival order in one and by name in the other).
//
// Terminal bytes are not part of it: the host keeps a ring of them, the renderer writes them to
// xterm directly, and neither belongs in state.

import type { AttemptRow, MetricsHistory, RunSnapshot } from './api';
import type { Progress, RunEvent } from './events';
import { progressAtEnd, stopUnfinished } from './runEnd';

/** Metric samples kept; beyond this every other old sample is dropped, so long runs stay drawable. */
export const MAX_METRIC_SAMPLES = 20_000;
/** The newest samples, kept whole when older ones are thinned. */
const RECENT_METRIC_SAMPLES = 1000;

/** The events both sides fold: output is terminal bytes, handled beside the state. */
export type FoldedEvent = Exclude<RunEvent, { type: 'output' }>;

export type RunInfo = Omit<RunSnapshot, 'terminals' | 'metrics' | 'attempts'>;

/**
 * A run as folded from its events. `run` is replaced whenever it changes, never mutated. The
 * attempts and metrics tables are the exception: they grow in place and their version says when,
 * because a run has up to 100,000 attempt rows and copying them per event is what must not happen.
 */
export interface RunFold {
  run: RunInfo;
  attempts: AttemptRow[];
  /** `${miniBatchId}:${attempt}` → index in attempts. */
  attemptIndex: Map<string, number>;
  attemptsVersion: number;
  metrics: MetricsHistory;
  metricsVersion: number;
}

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

/** A fold that starts from a snapshot (the host's, or one read from a run folder). */
export function foldFromSnapshot(snapshot: Omit<RunSnapshot, 'terminals'>): RunFold {
  const { attempts, metrics, ...run } = snapshot;
  const attemptIndex = new Map<string, number>();
  attempts.forEach((a, i) => attemptIndex.set(attemptKey(a.miniBatchId, a.attempt), i));
  return {
    run: { ...run, workers: byName(run.workers), nodes: byId(run.nodes) },
    attempts,
    attemptIndex,
    attemptsVersion: 0,
    metrics,
    metricsVersion: 0,
  };
}

/**
 * Folds one event. `now` (epoch ms) times attempt rows. An attempt event may carry the process's
 * stdout offset (the host stamps it: only the host sees output); a new row takes it.
 */
export function reduceRun(fold: RunFold, event: FoldedEvent, now: number): RunFold {
  const run = fold.run;
  switch (event.type) {
    case 'run-started':
      return { ...fold, run: { ...run, spec: event.spec, name: event.spec.name } };
    case 'plan':
      return {
        ...fold,
        run: {
          ...run,
          progress: {
            ...run.progress,
            planned: event.planned,
            total: event.done ? event.planned : run.progress.total,
          },
        },
      };
    case 'progress':
      return { ...fold, run: { ...run, progress: event.progress } };
    case 'worker':
      return {
        ...fold,
        run: {
          ...run,
          workers: byName([...run.workers.filter((w) => w.name !== event.worker.name), event.worker]),
        },
      };
    case 'node':
      return {
        ...fold,
        run: { ...run, nodes: byId([...run.nodes.filter((n) => n.id !== event.node.id), event.node]) },
      };
    case 'attempt':
      applyAttempt(fold, event, now);
      return { ...fold, attemptsVersion: fold.attemptsVersion + 1 };
    case 'metrics':
      pushMetrics(fold.metrics, event.node, event.processes, event.nodeId);
      return { ...fold, metricsVersion: fold.metricsVersion + 1 };
    case 'finished': {
      const next: RunFold = {
        ...fold,
        run: {
          ...run,
          // A node still live at the end is done; a lost one stays lost.
          nodes: run.nodes.map((n) => (n.state === 'lost' ? n : { ...n, state: 'left' })),
          summary: event.summary,
          status: event.summary.status,
          findings: event.summary.findings,
          live: false,
          progress: progressAtEnd(run.progress, event.summary, run.resumed?.priorElapsedS ?? 0),
        },
      };
      if (stopUnfinished(fold.attempts, event.summary, now)) next.attemptsVersion++;
      return next;
    }
    case 'log':
      return fold;
  }
}

/**
 * Appends one metrics sample, thinning old ones past MAX_METRIC_SAMPLES. Changes `m` in place.
 * With several nodes the machine graph is one machine's, the first node's to report (their
 * machines differ on a cluster: interleaving them made one line jump between them); another node's
 * processes join it at its latest time, so every process lines up and thins with one series.
 */
export function pushMetrics(
  m: MetricsHistory,
  node: MetricsHistory['node'][number],
  processes: Array<Omit<MetricsHistory['processes'][number], 't'>>,
  nodeId = '0',
): void {
  m.machineNode ??= nodeId;
  let t = node.t;
  if (nodeId === m.machineNode) m.node.push(node);
  else {
    const latest = m.node.at(-1);
    if (!latest) return;
    t = latest.t;
  }
  for (const p of processes) m.processes.push({ ...p, t });
  if (m.node.length > MAX_METRIC_SAMPLES) {
    m.node = m.node.filter((_, i) => i % 2 === 0 || i >= m.node.length - RECENT_METRIC_SAMPLES);
    const keep = new Set(m.node.map((n) => n.t));
    m.processes = m.processes.filter((p) => keep.has(p.t));
  }
}

/** Bytes `s` takes as UTF-8, counted without encoding it (this runs for every output chunk). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function applyAttempt(fold: RunFold, e: Extract<FoldedEvent, { type: 'attempt' }>, now: number): void {
  const key = attemptKey(e.miniBatchId, e.attempt);
  const i = fold.attemptIndex.get(key);
  if (i === undefined) {
    fold.attemptIndex.set(key, fold.attempts.length);
    fold.attempts.push({
      miniBatchId: e.miniBatchId,
      attempt: e.attempt,
      process: e.process,
      nodeId: fold.run.workers.find((w) => w.name === e.process)?.nodeId ?? '0',
      status: e.status,
      error: e.error,
      startedAt: now,
      ...(e.stdoutOffset !== undefined ? { stdoutOffset: e.stdoutOffset } : {}),
    });
    return;
  }
  const row = fold.attempts[i];
  row.status = e.status;
  if (e.error !== undefined) row.error = e.error;
  if (e.status !== 'running' && row.startedAt !== undefined) row.elapsedS = (now - row.startedAt) / 1000;
}

function attemptKey(miniBatchId: number, attempt: number): string {
  return `${miniBatchId}:${attempt}`;
}

/** Workers in name order (process000, process001, ...), however their events arrived. */
function byName<T extends { name: string }>(workers: T[]): T[] {
  return [...workers].sort((a, b) => a.name.localeCompare(b.name));
}

/** Nodes in id order ("0", "1", ..., "10"), however their events arrived. */
function byId<T extends { id: string }>(nodes: T[]): T[] {
  return [...nodes].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
}
