// ParallelRunStep's rules (reference/prs-behaviour.md, "Runtime behaviour"), each a pure check of
// the leader's state at a moment: it returns a verdict, or null when the rule has nothing to say.
// The leader consults them; test/leader/policies.test.ts checks each alone, in milliseconds.

import type { Finding } from '../../common/events';
import type { JobSpec } from '../../common/spec';
import * as text from './reports';

/** The job ends now, failed, with this reason (and a finding that explains it). */
export interface FailVerdict {
  action: 'fail';
  reason: string;
  finding?: Finding;
  /** The finding explains rather than names the cause (the reason does): it follows the others. */
  findingLast?: true;
}

/** A node starts no more workers (its init() failures used its budget); the job goes on. */
export interface StopStartingVerdict {
  action: 'stop-starting';
  nodeId: string;
  message: string;
}

export type Verdict = FailVerdict | StopStartingVerdict;

export interface NodeInitState {
  nodeId: string;
  /** Its worker slots: process_count_per_node here; an agent's own count on a cluster. */
  capacity: number;
  /** init() failures on this node so far. */
  initFailures: number;
  /** Workers of the node still starting or in init(). */
  inInit: number;
  /** Whether the node already stopped starting workers. */
  stoppedStarting: boolean;
}

export interface InitState {
  nodes: NodeInitState[];
  /** When the job started (ms). */
  startedAt: number;
}

/** init() failures across every node. */
export function totalInitFailures(state: InitState): number {
  return state.nodes.reduce((sum, n) => sum + n.initFailures, 0);
}

/**
 * For the job: fail once it has run more than 2 minutes and seen 2 × node_count ×
 * process_count_per_node init() failures.
 */
export const jobInitRule = {
  check(state: InitState, now: number): FailVerdict | null {
    const failures = totalInitFailures(state);
    // 2 × node_count × process_count_per_node: twice the job's worker slots.
    const limit = 2 * state.nodes.reduce((sum, n) => sum + n.capacity, 0);
    if (now - state.startedAt <= 120_000 || failures < limit) return null;
    return { action: 'fail', reason: text.jobInitFailed(failures, limit) };
  },
};

/** On one node: stop starting workers after 3 × process_count_per_node init() failures. */
export const nodeInitRule = {
  check(node: NodeInitState): StopStartingVerdict | null {
    const limit = 3 * node.capacity;
    if (node.stoppedStarting || node.initFailures < limit) return null;
    return { action: 'stop-starting', nodeId: node.nodeId, message: text.nodeStopsStarting(node, limit) };
  },
  /**
   * The rule counts processes, not just failures: never start one that could take the node's count
   * past 3 × process_count_per_node while others are still in init().
   */
  mayStart(node: NodeInitState): boolean {
    if (node.stoppedStarting) return false;
    return node.initFailures === 0 || node.initFailures + node.inInit < 3 * node.capacity;
  },
};

export interface StartingWorker {
  /** When it was started (ms). */
  since: number;
}

/** Fail for lack of progress when every worker is stuck in init() beyond 3 × run_invocation_timeout + 30 s. */
export const initStuckRule = {
  check(
    state: { alive: number; starting: StartingWorker[]; runInvocationTimeoutS: number },
    now: number,
  ): FailVerdict | null {
    const limitMs = (3 * state.runInvocationTimeoutS + 30) * 1000;
    if (state.alive === 0 || state.starting.length < state.alive) return null;
    if (state.starting.some((w) => now - w.since <= limitMs)) return null;
    return {
      action: 'fail',
      reason: text.INIT_STUCK_REASON,
      finding: text.initStuckFinding(state.runInvocationTimeoutS),
      findingLast: true,
    };
  },
};

export interface ThresholdState {
  failedBatches: number;
  failedItems: number;
  planned: number;
  planDone: boolean;
}

/** error_threshold, allowed_failed_count and (once the plan is complete) allowed_failed_percent. */
export const thresholdRule = {
  check(spec: JobSpec, s: ThresholdState): string | null {
    if (spec.error_threshold >= 0 && s.failedItems > spec.error_threshold)
      return `error_threshold exceeded: ${s.failedItems} failed item(s), more than the ${spec.error_threshold} allowed.`;
    if (spec.allowed_failed_count >= 0 && s.failedBatches > spec.allowed_failed_count)
      return `allowed_failed_count exceeded: ${s.failedBatches} failed mini-batch(es), more than the ${spec.allowed_failed_count} allowed.`;
    if (s.planDone && spec.allowed_failed_percent < 100 && s.planned > 0) {
      const percent = (s.failedBatches / s.planned) * 100;
      if (percent > spec.allowed_failed_percent)
        return `allowed_failed_percent exceeded: ${s.failedBatches} of ${s.planned} mini-batches failed (${percent.toFixed(1)}%), more than the ${spec.allowed_failed_percent}% allowed.`;
    }
    return null;
  },
};

/** ParallelRunStep's default --first_task_creation_timeout. */
export const FIRST_TASK_TIMEOUT_S = 600;

/** --first_task_creation_timeout: the plan must create its first mini-batch in time. */
export const firstTaskRule = {
  check(
    state: { timeoutMs: number | null; planned: number; planDone: boolean; planStartedAt: number | null },
    now: number,
  ): FailVerdict | null {
    const { timeoutMs, planStartedAt } = state;
    if (timeoutMs === null || state.planned > 0 || state.planDone || planStartedAt === null) return null;
    if (now - planStartedAt <= timeoutMs) return null;
    const s = timeoutMs / 1000;
    return {
      action: 'fail',
      reason: `No mini-batch was created within --first_task_creation_timeout (${s} s).`,
      finding: text.firstTaskFinding(s, FIRST_TASK_TIMEOUT_S),
    };
  },
};

/** --progress_update_timeout: while mini-batches run, one must finish in time. */
export const progressRule = {
  check(
    state: { timeoutMs: number | null; running: number; lastProgressAt: number | null },
    now: number,
  ): FailVerdict | null {
    const { timeoutMs, lastProgressAt } = state;
    if (timeoutMs === null || state.running === 0 || lastProgressAt === null) return null;
    if (now - lastProgressAt <= timeoutMs) return null;
    const s = timeoutMs / 1000;
    return {
      action: 'fail',
      reason: `No progress within --progress_update_timeout (${s} s).`,
      finding: text.progressFinding(s, state.running),
    };
  },
};

/**
 * Simulated nodes share this machine's cores: more workers than cores is said once at the start
 * (a single node's process_count_per_node is the user's own choice, and `auto` fits the machine).
 */
export const oversubscriptionRule = {
  check(state: { nodes: number; processCountPerNode: number; cores: number }): string | null {
    const { nodes, processCountPerNode, cores } = state;
    if (nodes < 2 || nodes * processCountPerNode <= cores) return null;
    return text.oversubscribedText(nodes, processCountPerNode, cores);
  },
};

/** run_invocation_timeout: a run() that began at startedAt is over its time. */
export const invocationTimeoutRule = {
  check(startedAt: number | undefined, timeoutMs: number, now: number): boolean {
    return startedAt !== undefined && now - startedAt > timeoutMs;
  },
};
