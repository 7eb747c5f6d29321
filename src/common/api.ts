// The shapes the app's contract (contract.ts) carries: what its requests return and its events hold.
// They stay TypeScript types, not schemas: the host's own code makes them, and contract.ts wraps
// them as loose result schemas (z.custom) instead of writing each a second time.

import type {
  Finding,
  NodeSample,
  ProcessSample,
  Progress,
  RunNode,
  RunStatus,
  RunSummary,
  WorkerInfo,
} from './events';
import type { BatchInputs } from './batchInputs';
import type { JobSpec } from './spec';

/**
 * How long a run started on a cluster waits for node_count agents to take its nodes (the default of
 * prs run --cluster-wait): the app says so while it waits.
 */
export const CLUSTER_WAIT_S = 60;

/** A runnable sample: a subfolder of examples/ holding a job.yaml (or job.json). */
export interface ExampleInfo {
  name: string;
  specPath: string;
  /** The first comment lines of the spec, if any. */
  description: string;
  /** A batch deployment's data to score (its example.json's `input`): startRun gets it as `input`. */
  input?: string;
}

export type ValidateResult =
  { ok: true; spec: JobSpec; warnings: string[] } | { ok: false; problems: string[] };

/** One attempt of one mini-batch: a row of processed_mini-batches.csv, or its live equivalent. */
export interface AttemptRow {
  miniBatchId: number;
  attempt: number;
  process: string;
  nodeId: string;
  /** 'stopped': it was still running when the job ended (failed or cancelled) and has no result. */
  status: 'running' | 'succeeded' | 'failed' | 'timeout' | 'crashed' | 'stopped';
  error?: string;
  /** Epoch ms. */
  startedAt?: number;
  elapsedS?: number;
  processTimeS?: number;
  runTimeS?: number;
  itemsTotal?: number;
  itemsSucceeded?: number;
  itemsFailed?: number;
  /** Bytes of the process's stdout log written before this attempt began (live runs only). */
  stdoutOffset?: number;
}

/** The whole state of a run, enough to draw the run view from nothing (a late tab, a reopened run). */
export interface RunSnapshot {
  runId: string;
  runDir: string;
  name: string;
  spec: JobSpec | null;
  status: RunStatus;
  /** True while this host is running it (cancel, live output). */
  live: boolean;
  progress: Progress;
  workers: WorkerInfo[];
  /** The run's nodes by id; a run folder's lists the node folders it has. */
  nodes: RunNode[];
  attempts: AttemptRow[];
  findings: Finding[];
  summary: RunSummary | null;
  /** Epoch ms: when the run first started (a resumed run keeps its first start). */
  startedAt: number;
  /**
   * A resumed run: how long its earlier sessions ran and when this one began (epoch ms), so that
   * elapsed time and throughput cover the run's whole life, not the resume alone.
   */
  resumed?: { count: number; priorElapsedS: number; sessionStartedAt: number };
  /** Recent terminal output per terminal id (a process name, or LEADER_TERMINAL); the ring is bounded. */
  terminals: Record<string, string>;
  metrics: MetricsHistory;
}

/** A cluster's agent as `prs cluster status` lists it (its registry entry). */
export interface ClusterAgent {
  name: string;
  host: string;
  processes: number;
  gpus: number[];
  /** Epoch ms of its last heartbeat. */
  beatAt: number;
  running: number;
  leaving?: boolean;
}

export interface ClusterStatus {
  /** The cluster's URL with its password masked. */
  url: string;
  nodes: ClusterAgent[];
}

export interface MetricsHistory {
  /** One machine's samples: those of `machineNode` where a run has several nodes. */
  node: NodeSample[];
  /** Per-process samples (every node's), each stamped with a time of `node`, so they line up with it. */
  processes: Array<ProcessSample & { t: number }>;
  /** The node whose machine `node` shows: the first to report. */
  machineNode?: string;
}

export interface RunListItem {
  runId: string;
  runDir: string;
  name: string;
  status: RunStatus;
  live: boolean;
  /** Epoch ms. */
  startedAt: number;
  durationS: number | null;
  miniBatches: { total: number; succeeded: number; failed: number } | null;
}

export interface LogChunk {
  /** Path relative to the run folder. */
  path: string;
  start: number;
  end: number;
  size: number;
  data: string;
}

/** A file or folder of a run's logs/ (a symbolic link is listed, never followed). */
export interface LogTreeEntry {
  /** Relative to the run folder: 'logs/sys/master_role.txt'. */
  path: string;
  kind: 'file' | 'dir' | 'link';
  size: number;
  mtimeMs: number;
}

/** What the log tree says of one mini-batch: per attempt, its inputs and its process log lines. */
export interface MiniBatchLogs {
  miniBatchId: number;
  attempts: Array<{
    attempt: number;
    process: string;
    nodeId: string;
    /** The process log (logs/sys/node/<node>/<process>.txt) that has its lines. */
    logPath: string;
    /** null: not recorded (a run from before the process logs recorded inputs). */
    inputs: BatchInputs | null;
    lines: Array<{ line: number; offset: number; text: string }>;
  }>;
}

export interface OutputPage {
  path: string;
  /** Byte offset of the first line returned and of the line after the last one. */
  start: number;
  next: number;
  size: number;
  lines: string[];
  /** Line number (0-based) of the first line, when the sparse line index knows it. */
  firstLine?: number | null;
  /** Lines in the file, once the index has seen all of it; null before. */
  totalLines?: number | null;
}

/** One line a search found. */
export interface SearchMatch {
  line: number;
  offset: number;
  text: string;
}

export type ExportWhat = 'output-csv' | 'output-jsonl' | 'output-parquet' | 'logs-zip' | 'run-zip';

/** A folder listing of the server's own file browser (the browser host has no native dialog). */
export interface DirListing {
  path: string;
  parent: string | null;
  entries: Array<{ name: string; kind: 'file' | 'dir'; size: number }>;
}

/** What the wizard learns from an entry script's text. */
export interface ScriptInfo {
  path: string;
  exists: boolean;
  runtime: 'python' | 'node' | null;
  defines: { init: boolean; run: boolean; shutdown: boolean };
}

/** The live counts of the wizard's inputs and partitioning steps. */
export interface InputsInfo {
  files: number;
  bytes: number;
  /** True when counting stopped at the limit or the time budget: the figures are lower bounds. */
  partial: boolean;
  miniBatches: number | null;
  miniBatchesPartial: boolean;
  /** Tabular: the first file's columns and first rows. */
  columns: string[];
  rows: unknown[][];
  problem: string | null;
}

export interface InterpreterInfo {
  path: string;
  label: string;
  version: string | null;
  pandas: boolean;
  /** Each module the entry script imports and where this interpreter would find it. */
  modules: ModuleCheck[];
  error: string | null;
}

/** A module an entry script imports: in the job's folders, installed, the app's compatibility package, or missing. */
export interface ModuleCheck {
  name: string;
  found: 'source' | 'installed' | 'bundled' | 'missing';
  /** Imported only inside a `try:` block: the script does without it. */
  optional?: boolean;
}

/** An entry script (absolute) whose imports an interpreter check looks up, and its source_directory (absolute). */
export interface ScriptToCheck {
  path: string;
  sourceDir: string;
}

/** A spec file read for the wizard: as written (relative paths kept), or mapped from Azure ML v2. */
export interface SpecFileContent {
  path: string;
  spec: Record<string, unknown>;
  source: 'spec' | 'azureml-v2';
  warnings: string[];
  problems: string[];
}

/** One node of a pipeline run, as its pipeline.json has it (paths absolute). */
export interface PipelineNodeInfo {
  name: string;
  type: 'command' | 'parallel';
  status: 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';
  /** Nodes whose outputs this one reads. */
  dependsOn: string[];
  /** The node's folder: a parallel node's is a run folder the run view opens. */
  runDir: string;
  /** Epoch ms. */
  startedAt: number | null;
  durationS: number | null;
  reason: string | null;
  logFile: string | null;
  miniBatches: { total: number; succeeded: number; failed: number } | null;
}

/** A v2 pipeline run: its graph and each node's state, read from its folder. */
export interface PipelineSnapshot {
  runDir: string;
  name: string;
  status: RunStatus;
  /** Epoch ms. */
  startedAt: number;
  durationS: number | null;
  reason: string | null;
  notices: string[];
  /** In the order the pipeline file writes them. */
  nodes: PipelineNodeInfo[];
}

/** A history row: the history index joined with what this host is running now. */
export interface HistoryItem extends RunListItem {
  /** A v2 pipeline's run (opened in the pipeline view), not one job's. */
  pipeline?: boolean;
  specPath: string | null;
  items: { succeeded: number; failed: number } | null;
  folder: 'present' | 'missing';
  resumes: number;
  /** Recorded as running by a process that is gone (killed, crashed): resumable. */
  interrupted: boolean;
}

export interface DeviceInfo {
  cpus: number;
  cpuModel: string;
  memTotalBytes: number;
  gpus: Array<{ index: number; name: string; memTotalBytes: number }>;
}

/** The leader's own log shows as a terminal with this id. */
export const LEADER_TERMINAL = 'leader';

export interface DialogOptions {
  title?: string;
  /** Pick a folder rather than a file (open only). */
  directory?: boolean;
  defaultPath?: string;
  filters?: Array<{ name: string; extensions: string[] }>;
}
