// Each rule of policies.ts alone: a state and a moment in, a verdict or nothing out.

import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../../src/common/spec';
import {
  firstTaskRule,
  initStuckRule,
  invocationTimeoutRule,
  jobInitRule,
  nodeInitRule,
  oversubscriptionRule,
  progressRule,
  thresholdRule,
} from '../../src/engine/leader/policies';

const node = (initFailures: number, inInit = 0, stoppedStarting = false, capacity = 2) => ({
  nodeId: '0',
  capacity,
  initFailures,
  inInit,
  stoppedStarting,
});

describe('init() rules', () => {
  it('per node: 3 × process_count_per_node failures stop starts there, once', () => {
    expect(nodeInitRule.check(node(5))).toBeNull();
    expect(nodeInitRule.check(node(6))).toMatchObject({ action: 'stop-starting', nodeId: '0' });
    expect(nodeInitRule.check(node(7, 0, true))).toBeNull();
  });

  it('per node: no start that could take the count past the limit while others are in init()', () => {
    expect(nodeInitRule.mayStart(node(0, 5))).toBe(true);
    expect(nodeInitRule.mayStart(node(4, 1))).toBe(true);
    expect(nodeInitRule.mayStart(node(4, 2))).toBe(false);
    expect(nodeInitRule.mayStart(node(1, 0, true))).toBe(false);
  });

  it('for the job: 2 × node_count × process_count_per_node failures, only after 2 minutes', () => {
    const state = (failures: number[]) => ({
      nodes: failures.map((f, i) => ({ ...node(f), nodeId: String(i) })),
      startedAt: 0,
    });
    // 3 nodes × 2 processes: the limit is 12.
    expect(jobInitRule.check(state([4, 4, 4]), 120_000)).toBeNull();
    expect(jobInitRule.check(state([4, 4, 3]), 121_000)).toBeNull();
    expect(jobInitRule.check(state([4, 4, 4]), 121_000)?.reason).toBe(
      'init() failed 12 times and the job has run for over 2 minutes (limit: 2 × node_count × process_count_per_node = 12).',
    );
  });

  it('nodes of different sizes (cluster agents): each node its own budget, the job twice their slots', () => {
    expect(nodeInitRule.check(node(3, 0, false, 1))).toMatchObject({ nodeId: '0' });
    expect(nodeInitRule.check(node(3, 0, false, 4))).toBeNull();
    const nodes = [
      { ...node(5, 0, false, 1), nodeId: '0' },
      { ...node(4, 0, false, 4), nodeId: '1' },
    ];
    expect(jobInitRule.check({ nodes, startedAt: 0 }, 121_000)).toBeNull();
    expect(
      jobInitRule.check({ nodes: [nodes[0]!, { ...nodes[1]!, initFailures: 5 }], startedAt: 0 }, 121_000),
    ).not.toBeNull();
  });

  it('stuck: every live worker in init() past 3 × run_invocation_timeout + 30 s', () => {
    const s = (since: number[], alive = since.length) => ({
      alive,
      starting: since.map((x) => ({ since: x })),
      runInvocationTimeoutS: 10,
    });
    expect(initStuckRule.check(s([0, 0]), 60_000)).toBeNull();
    expect(initStuckRule.check(s([0, 0]), 60_001)?.finding?.title).toBe('Every worker is stuck in init()');
    expect(initStuckRule.check(s([0, 30_000]), 60_001)).toBeNull();
    expect(initStuckRule.check(s([0], 2), 60_001)).toBeNull();
    expect(initStuckRule.check(s([], 0), 60_001)).toBeNull();
  });
});

describe('thresholds', () => {
  const spec = (over: Partial<JobSpec>) =>
    ({ error_threshold: -1, allowed_failed_count: -1, allowed_failed_percent: 100, ...over }) as JobSpec;
  const state = { failedBatches: 1, failedItems: 3, planned: 5, planDone: true };

  it('each says which threshold and by how much; -1 and 100 turn them off', () => {
    expect(thresholdRule.check(spec({}), state)).toBeNull();
    expect(thresholdRule.check(spec({ error_threshold: 3 }), state)).toBeNull();
    expect(thresholdRule.check(spec({ error_threshold: 2 }), state)).toBe(
      'error_threshold exceeded: 3 failed item(s), more than the 2 allowed.',
    );
    expect(thresholdRule.check(spec({ allowed_failed_count: 0 }), state)).toBe(
      'allowed_failed_count exceeded: 1 failed mini-batch(es), more than the 0 allowed.',
    );
    expect(thresholdRule.check(spec({ allowed_failed_percent: 20 }), state)).toBeNull();
    expect(thresholdRule.check(spec({ allowed_failed_percent: 19 }), state)).toBe(
      'allowed_failed_percent exceeded: 1 of 5 mini-batches failed (20.0%), more than the 19% allowed.',
    );
    // A percentage of a plan not yet complete says nothing.
    expect(
      thresholdRule.check(spec({ allowed_failed_percent: 19 }), { ...state, planDone: false }),
    ).toBeNull();
  });
});

describe('timeouts', () => {
  it('first task: only while nothing was created and the plan is not done', () => {
    const s = { timeoutMs: 5000, planned: 0, planDone: false, planStartedAt: 0 };
    expect(firstTaskRule.check(s, 5000)).toBeNull();
    expect(firstTaskRule.check(s, 5001)?.reason).toBe(
      'No mini-batch was created within --first_task_creation_timeout (5 s).',
    );
    expect(firstTaskRule.check({ ...s, planned: 1 }, 9999)).toBeNull();
    expect(firstTaskRule.check({ ...s, timeoutMs: null }, 9999)).toBeNull();
  });

  it('progress: only while mini-batches run, counted from the last that finished', () => {
    const s = { timeoutMs: 20_000, running: 2, lastProgressAt: 1000 };
    expect(progressRule.check(s, 21_000)).toBeNull();
    expect(progressRule.check(s, 21_001)?.reason).toBe(
      'No progress within --progress_update_timeout (20 s).',
    );
    expect(progressRule.check({ ...s, running: 0 }, 99_000)).toBeNull();
  });

  it('run_invocation_timeout: over its time, not at it', () => {
    expect(invocationTimeoutRule.check(0, 1000, 1000)).toBe(false);
    expect(invocationTimeoutRule.check(0, 1000, 1001)).toBe(true);
    expect(invocationTimeoutRule.check(undefined, 1000, 9999)).toBe(false);
  });
});

describe('simulated nodes on this machine', () => {
  it('more workers than cores is said, for several nodes only', () => {
    expect(oversubscriptionRule.check({ nodes: 2, processCountPerNode: 2, cores: 4 })).toBeNull();
    expect(oversubscriptionRule.check({ nodes: 2, processCountPerNode: 3, cores: 4 })).toBe(
      'node_count 2 × 3 process(es) per node = 6 worker processes on this machine, which has 4 core(s): they will share them, and each runs slower (lower node_count or process_count_per_node).',
    );
    expect(oversubscriptionRule.check({ nodes: 1, processCountPerNode: 8, cores: 4 })).toBeNull();
  });
});
