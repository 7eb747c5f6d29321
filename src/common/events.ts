// What a run tells the world while it happens: one typed event stream per run. The CLI draws its
// progress bar from it, the hosts forward it to the UI, and tests assert on it.

import type { JobSpec } from './spec';

export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled';
export type WorkerState = 'starting' | 'init' | 'idle' | 'running' | 'stopping' | 'exited';
export type AttemptStatus = 'succeeded' | 'failed' | 'timeout' | 'crashed';

export interface WorkerInfo {
  name: string;
  nodeId: string;
  pid?: number;
  /** The GPU index handed over as CUDA_VISIBLE_DEVICES, or null for none. */
  gpu: number | null;
  state: WorkerState;
  /** The mini-batch being run, when state is 'running'. */
  batchId?: number;
  batchesDone: number;
  /** Set once exited: the code, negative for a signal, as ParallelRunStep's _main.txt writes it. */
  returnCode?: number;
  /** Set once exited when the leader stopped it: a mini-batch's timeout, or the job ending. */
  stoppedFor?: 'timeout' | 'stop';
}

export interface Progress {
  /** Mini-batches planned so far; `planned === total` once planning finished. */
  planned: number;
  total: number | null;
  succeeded: number;
  /** Mini-batches that used all their attempts. */
  failed: number;
  running: number;
  /** Failed attempts that will be retried or were retried. */
  failedAttempts: number;
  itemsSucceeded: number;
  itemsFailed: number;
  elapsedS: number;
  /** Estimated seconds left, null until there is a basis for one. */
  etaS: number | null;
}

/** A structured explanation of something that went wrong, with where to look and what to do. */
export interface Finding {
  kind:
    | 'threshold'
    | 'exception'
    | 'timeout'
    | 'crash'
    | 'oom'
    | 'init-failure'
    | 'return-value'
    | 'environment'
    | 'no-progress'
    | 'system';
  title: string;
  detail: string;
  remedy: string;
  miniBatchId?: number;
  process?: string;
  /** Path relative to the run folder. */
  logFile?: string;
  traceback?: string;
  count?: number;
}

export interface RunSummary {
  status: Exclude<RunStatus, 'running'>;
  exit_code: number;
  run_dir: string;
  output_file: string | null;
  mini_batches: { total: number; succeeded: number; failed: number };
  items: { succeeded: number; failed: number };
  duration_s: number;
  /** First cause of failure, in one sentence (job_result.txt's headline). */
  reason?: string;
  findings: Finding[];
  /** Remarks on a run that are not failures (short returns taken as successes). */
  notices?: string[];
  /** True when this run reused an earlier completed run's outputs (allow_reuse). */
  reused_from?: string;
  /** What the entry script logged (mlflow.log_metric, Run.log, ...), when it logged anything. */
  logged_metrics?: LoggedMetrics;
}

/** A metric logged once is its value; one logged more often, every value in order. A param, tag or property: its last value. */
export interface LoggedMetrics {
  metrics: Record<string, unknown>;
  params: Record<string, unknown>;
  tags: Record<string, unknown>;
  properties: Record<string, unknown>;
}

export interface GpuSample {
  index: number;
  utilPercent: number;
  memUsedBytes: number;
  memTotalBytes: number;
}

export interface NodeSample {
  /** Epoch ms. */
  t: number;
  /** Whole node, 0-100. */
  cpuPercent: number;
  memUsedBytes: number;
  memTotalBytes: number;
  /** The filesystem holding the run folder. */
  diskUsedBytes: number;
  diskTotalBytes: number;
  gpus: GpuSample[];
}

export interface ProcessSample {
  /** processNNN, or "leader". */
  process: string;
  pid: number;
  /** Of one core (can exceed 100 with threads); includes the descendants it started. */
  cpuPercent: number;
  /** Resident memory of the process and its descendants. */
  rssBytes: number;
}

/** live: its heartbeat comes; lost: it stopped (its work moved on); rejoined: its agent came back after a loss; left: done. */
export type NodeState = 'live' | 'lost' | 'rejoined' | 'left';

/** One node of a run: a simulated node of this machine, or the cluster agent that fills the node id. */
export interface RunNode {
  /** The node id of the log tree and the workers ("0", "1", ...). */
  id: string;
  /** The agent's name on a cluster; `node <id>` for a node of this machine. */
  name: string;
  host: string;
  /** Worker processes it runs at most. */
  processes: number;
  gpus: number[];
  state: NodeState;
  /** Epoch ms of its last heartbeat (a simulated node's last resource sample). */
  beatAt: number;
  /** True for a cluster agent. */
  agent?: boolean;
}

export type RunEvent =
  | { type: 'run-started'; runId: string; runDir: string; spec: JobSpec; processCount: number }
  | { type: 'plan'; planned: number; done: boolean }
  | { type: 'worker'; worker: WorkerInfo }
  /** A node joined, beat, was lost, rejoined or left: the whole entry each time. */
  | { type: 'node'; node: RunNode }
  | {
      type: 'attempt';
      miniBatchId: number;
      attempt: number;
      process: string;
      status: 'running' | AttemptStatus;
      error?: string;
      /** On 'running': bytes of the process's stdout before this attempt (the host sets it: it sees the output). */
      stdoutOffset?: number;
    }
  | { type: 'progress'; progress: Progress }
  /** Terminal bytes of one process, merged at the source on a short timer. */
  | { type: 'output'; process: string; stream: 'stdout' | 'stderr'; data: string }
  /** A line of the leader's own log (logs/sys/master_role.txt). */
  | { type: 'log'; level: 'INFO' | 'WARNING' | 'ERROR' | 'DEBUG'; message: string }
  /** About once a second while the run is active. */
  | { type: 'metrics'; nodeId?: string; node: NodeSample; processes: ProcessSample[] }
  | { type: 'finished'; summary: RunSummary };
