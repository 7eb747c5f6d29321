// What a run's end means for the state the hosts and the UI keep of it: the run reducer
// (runReducer.ts), which both fold their events with, calls these on 'finished'.

import type { AttemptRow } from './api';
import type { Progress, RunSummary } from './events';

/**
 * The progress a finished run shows: the summary's counts are the truth (a reused run sends no
 * progress at all), and the elapsed time covers the run's earlier sessions too when it was resumed.
 */
export function progressAtEnd(progress: Progress, summary: RunSummary, priorElapsedS = 0): Progress {
  const mb = summary.mini_batches;
  return {
    ...progress,
    planned: Math.max(progress.planned, mb.total),
    total: mb.total,
    succeeded: mb.succeeded,
    failed: mb.failed,
    running: 0,
    itemsSucceeded: summary.items.succeeded,
    itemsFailed: summary.items.failed,
    elapsedS: priorElapsedS + summary.duration_s,
    etaS: 0,
  };
}

/**
 * Attempts still marked running when the run ended never get a result (the leader stopped their
 * workers): they become 'stopped', saying why, instead of running forever. Changes rows in place;
 * returns whether any changed.
 */
export function stopUnfinished(attempts: AttemptRow[], summary: RunSummary, now = Date.now()): boolean {
  let changed = false;
  for (const a of attempts) {
    if (a.status !== 'running') continue;
    a.status = 'stopped';
    const how = { completed: 'ended', failed: 'failed', cancelled: 'was cancelled' }[summary.status];
    a.error = `not finished: the job ${how} while it ran, and the leader stopped ${a.process}`;
    if (a.startedAt !== undefined) a.elapsedS = (now - a.startedAt) / 1000;
    changed = true;
  }
  return changed;
}
