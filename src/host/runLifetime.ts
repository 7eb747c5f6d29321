// How long a run ran over its whole life. A resumed run has sessions (its first start, then each
// resume); the engine's summary times only the last one, so the earlier ones are measured from
// their attempts: from the session's start to the end of its last attempt.

import type { AttemptRow } from '../common/api';

export interface Lifetime {
  /** Seconds over every session. */
  totalS: number;
  /** Seconds before the last session. */
  priorS: number;
  /** Epoch ms of each session's start, first start first. */
  sessionStarts: number[];
}

export function runLifetime(
  startedAt: number,
  resumesAt: number[],
  lastSessionS: number | null,
  attempts: AttemptRow[],
): Lifetime {
  const starts = [startedAt, ...resumesAt.filter((t) => Number.isFinite(t))].sort((a, b) => a - b);
  const measured = (from: number, to: number): number => {
    let end = from;
    for (const a of attempts) {
      if (a.startedAt === undefined || a.startedAt < from || a.startedAt >= to) continue;
      end = Math.max(end, a.startedAt + (a.elapsedS ?? 0) * 1000);
    }
    return (end - from) / 1000;
  };
  let priorS = 0;
  for (let i = 0; i < starts.length - 1; i++) priorS += measured(starts[i]!, starts[i + 1]!);
  const last = lastSessionS ?? measured(starts[starts.length - 1]!, Infinity);
  return { totalS: priorS + last, priorS, sessionStarts: starts };
}
