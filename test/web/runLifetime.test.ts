// A resumed run's whole life: earlier sessions measured from their attempts, the last from the
// engine's summary (or its attempts when the run was interrupted).

import { describe, expect, it } from 'vitest';
import type { AttemptRow } from '../../src/common/api';
import { runLifetime } from '../../src/host/runLifetime';

const attempt = (startedAt: number, elapsedS: number): AttemptRow => ({
  miniBatchId: 0,
  attempt: 1,
  process: 'process000',
  nodeId: '0',
  status: 'succeeded',
  startedAt,
  elapsedS,
});

describe('runLifetime', () => {
  it('is the summary duration for a run never resumed', () => {
    expect(runLifetime(1000, [], 7.5, [attempt(2000, 1)])).toEqual({
      totalS: 7.5,
      priorS: 0,
      sessionStarts: [1000],
    });
  });

  it('adds each earlier session, from its start to the end of its last attempt', () => {
    // Session 1: 0..10 s (last attempt ends at 10 s); session 2 from 100 s: 0..5 s; session 3: 2 s.
    const attempts = [attempt(1_000, 2), attempt(8_000, 2), attempt(101_000, 4)];
    const life = runLifetime(0, [100_000, 200_000], 2, attempts);
    expect(life.priorS).toBeCloseTo(15);
    expect(life.totalS).toBeCloseTo(17);
  });

  it('measures an interrupted last session (no summary) from its attempts', () => {
    const life = runLifetime(0, [50_000], null, [attempt(1_000, 3), attempt(52_000, 1)]);
    expect(life.priorS).toBeCloseTo(4);
    expect(life.totalS).toBeCloseTo(7);
  });
});
