// What the leader needs of a node: a set of worker slots somewhere (this machine, or an agent of
// a cluster) that take mini-batch attempts and report what became of them. The leader's scheduler,
// rules and reports see only this interface, so a pool on another machine (src/engine/cluster)
// plugs in where the local pool (./localPool.ts) does. Changes here are additive only.

import type { AttemptStatus, Finding, WorkerInfo } from '../../common/events';
import type { MiniBatch } from '../../common/minibatch';
import type { BatchResult, ErrorInfo } from '../../common/protocol';
import type { ExitInfo } from '../launcher';
import type { CpuUse } from '../monitor/treeCpu';

/** One attempt of one mini-batch, as the leader hands it to a node. */
export interface AttemptOrder {
  batch: MiniBatch;
  /** 1-based, job-wide: attempt numbers continue across nodes and resumes. */
  attempt: number;
}

/**
 * Where a pool's workers get their work: the leader's scheduler. A pool pulls (a worker with room
 * in its queue takes what it needs), so work never waits on a node that cannot run it.
 */
export interface WorkSource {
  /** The next attempt to run, or undefined when there is none now. */
  take(): AttemptOrder | undefined;
  /** How many attempts one worker should hold at once (one running, the rest ready). */
  depth(): number;
}

/** Why an attempt ended without a result from run(). */
export type LostAttemptStatus = Extract<AttemptStatus, 'timeout' | 'crashed'> | 'node-lost';

/**
 * What a pool tells the leader. `worker` is the worker's process name, unique in the job
 * (process000, process001, ... across every node: the run hands each pool one namer). A worker's
 * events begin with 'started' (the leader opens its log files then) and end with 'worker-exit'.
 */
export type PoolEvent =
  /** A worker process was started (its pid where known, its GPU): the node's supervision log. */
  | { type: 'started'; worker: WorkerInfo }
  /** A worker's state changed (started, init, idle, running, stopping, exited): for the UI. */
  | { type: 'worker'; worker: WorkerInfo }
  /** init() finished: the worker takes work from now on. */
  | { type: 'ready'; worker: string; initMs: number }
  /** init() raised: the worker stops; the leader's init rules decide on a replacement. */
  | { type: 'init-failed'; worker: string; error: ErrorInfo }
  /** A worker began an attempt (by its own clock where it reports one). */
  | { type: 'attempt-started'; worker: string; order: AttemptOrder; at: number }
  /** An attempt's run() is over run_invocation_timeout: its worker is being stopped. */
  | { type: 'timing-out'; worker: string; order: AttemptOrder }
  /** run() returned or raised for an attempt: the worker's own report. */
  | { type: 'result'; worker: string; order: AttemptOrder; result: BatchResult }
  /**
   * An attempt ended without a report: its run() exceeded run_invocation_timeout (the pool stopped
   * the worker), its worker died, or its node was lost.
   */
  | {
      type: 'attempt-failed';
      worker: string;
      order: AttemptOrder;
      status: LostAttemptStatus;
      error: ErrorInfo;
      startedAt: number;
      elapsedS: number;
      /** A timeout's CPU use, read at the kill; null where unknown. */
      cpu?: CpuUse | null;
      /** What the node knows of the cause (a memory curve before a -9): joins the job's findings. */
      finding?: Finding;
    }
  /** Attempts a worker held but never started: they go back to the scheduler unused. */
  | { type: 'returned'; worker: string; orders: AttemptOrder[] }
  /** A worker ended (after any 'attempt-failed' for what it was running). */
  | { type: 'worker-exit'; worker: string; exit: ExitInfo; stoppedFor?: 'timeout' | 'stop' }
  /**
   * A worker sent something that is not a message of the protocol (a line that is not JSON, an
   * unknown message): the pool stops it; what it was running fails as 'crashed'.
   */
  | { type: 'protocol-error'; worker: string; detail: string }
  /** The node itself is gone (a remote agent's heartbeat stopped): its workers are all ended. */
  | { type: 'node-lost'; reason: string };

export interface NodePool {
  /** The node id of the log tree and the journal: "0", "1", ... */
  readonly nodeId: string;
  /** Worker slots: how many workers the node runs at once (its process_count_per_node). */
  readonly capacity: number;
  on(listener: (event: PoolEvent) => void): void;
  /**
   * Starts the node's workers, one per slot. With holdInit their init() waits for releaseInit()
   * (the interpreter check runs meanwhile, so no user code runs before it passed).
   */
  start(work: WorkSource, options?: { holdInit?: boolean }): void;
  releaseInit(): void;
  /**
   * Starts one worker in place of one that ended; the leader's init rules decide when. A pool that
   * cannot (its node is lost, or stopping) does nothing.
   */
  replace(): void;
  /** More work is available: workers with room in their queues take it. */
  offer(): void;
  /** Workers not yet ready (starting or in init()), for the init rules. */
  starting(): Array<{ worker: string; since: number }>;
  /** Workers alive now (any state short of exited). */
  size(): number;
  /** The leader's clock ticks: the pool enforces run_invocation_timeout here. */
  tick(now: number): void;
  /** No more work will come: each worker finishes what it holds, runs shutdown() and exits. */
  drain(): void;
  /** The job ends now: workers are stopped (SIGTERM for a cancel, else SIGKILL). */
  stop(how: 'cancel' | 'kill'): void;
  /** Resolves once every worker of the node has exited and its logs are written. */
  closed(): Promise<void>;
}
