// The app's one contract (Hyper-style): every request the UI can make, with its params and result,
// and every event a host pushes. The renderer, the WebSocket host (src/server/web) and the Electron
// IPC (src/main, src/preload) are all typed from this file, so a change here is checked everywhere.

import type {
  Finding,
  NodeSample,
  ProcessSample,
  Progress,
  RunEvent,
  RunStatus,
  RunSummary,
  WorkerInfo,
} from './events';
import type { JobSpec } from './spec';

/** A runnable sample: a subfolder of examples/ holding a job.yaml (or job.json). */
export interface ExampleInfo {
  name: string;
  specPath: string;
  /** The first comment lines of the spec, if any. */
  description: string;
}

export type ValidateResult =
  { ok: true; spec: JobSpec; warnings: string[] } | { ok: false; problems: string[] };

/** One attempt of one mini-batch: a row of processed_mini-batches.csv, or its live equivalent. */
export interface AttemptRow {
  miniBatchId: number;
  attempt: number;
  process: string;
  nodeId: string;
  status: 'running' | 'succeeded' | 'failed' | 'timeout' | 'crashed';
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
  attempts: AttemptRow[];
  findings: Finding[];
  summary: RunSummary | null;
  /** Epoch ms. */
  startedAt: number;
  /** Recent terminal output per terminal id (a process name, or LEADER_TERMINAL); the ring is bounded. */
  terminals: Record<string, string>;
  metrics: MetricsHistory;
}

export interface MetricsHistory {
  node: NodeSample[];
  /** Per-process samples, each stamped with the node sample's time. */
  processes: Array<ProcessSample & { t: number }>;
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

export interface OutputPage {
  path: string;
  /** Byte offset of the first line returned and of the line after the last one. */
  start: number;
  next: number;
  size: number;
  lines: string[];
}

export interface DeviceInfo {
  cpus: number;
  cpuModel: string;
  memTotalBytes: number;
  gpus: Array<{ index: number; name: string; memTotalBytes: number }>;
}

/** The leader's own log shows as a terminal with this id. */
export const LEADER_TERMINAL = 'leader';

/** Request name -> params and result. Every host implements exactly these. */
export interface ApiRequests {
  listExamples: { params: Record<string, never>; result: ExampleInfo[] };
  validateSpec: { params: { specPath: string }; result: ValidateResult };
  startRun: { params: { specPath: string }; result: { runId: string; runDir: string } };
  cancelRun: { params: { runId: string }; result: { cancelled: boolean } };
  resumeRun: { params: { runDir: string; retryFailed?: boolean }; result: { runId: string; runDir: string } };
  listRuns: { params: Record<string, never>; result: RunListItem[] };
  /** A live run by id, or a finished run by folder. Subscribes this client to the run's events. */
  openRun: { params: { runId?: string; runDir?: string }; result: RunSnapshot };
  closeRun: { params: { runId: string }; result: Record<string, never> };
  readLog: { params: { runDir: string; path: string; start?: number; end?: number }; result: LogChunk };
  readOutputPage: { params: { runDir: string; start?: number; maxLines?: number }; result: OutputPage };
  devices: { params: Record<string, never>; result: DeviceInfo };
  history: { params: Record<string, never>; result: RunListItem[] };
  /** A shell in a worker's environment (its variables, interpreter on PATH, working directory). */
  openShell: {
    params: { runId: string; process: string; cols: number; rows: number };
    result: { shellId: string };
  };
  shellInput: { params: { shellId: string; data: string }; result: Record<string, never> };
  shellResize: { params: { shellId: string; cols: number; rows: number }; result: Record<string, never> };
  closeShell: { params: { shellId: string }; result: Record<string, never> };
}

export type ApiMethod = keyof ApiRequests;
export type ApiParams<M extends ApiMethod> = ApiRequests[M]['params'];
export type ApiResult<M extends ApiMethod> = ApiRequests[M]['result'];

/** Events a host pushes. Terminal bytes travel apart from run state so they never enter UI state. */
export type AppEvent =
  /** Run events in order, batched, less 'output' and 'log' (those arrive as 'term-output'). */
  | { type: 'run-events'; runId: string; events: Array<Exclude<RunEvent, { type: 'output' }>> }
  /** Terminal bytes; stderr arrives coloured with SGR codes. Acknowledge with `ackTerminal`. */
  | { type: 'term-output'; runId: string; term: string; data: string }
  /** The UI view dropped output above the high watermark; the log file has it all. */
  | { type: 'term-dropped'; runId: string; term: string; droppedBytes: number }
  | { type: 'runs-changed' }
  | { type: 'shell-output'; shellId: string; data: string }
  | { type: 'shell-exit'; shellId: string; code: number | null };

/** Flow control: what the renderer reports as drawn, per terminal. */
export interface TerminalAck {
  runId: string;
  term: string;
  chars: number;
}

export const FLOW = {
  /** Stop sending a terminal's output to a client above this many unacknowledged characters. */
  highWatermark: 100_000,
  /** Resume once the client has caught up below this. */
  lowWatermark: 20_000,
  /** Merge output for this long before sending. */
  mergeMs: 10,
  /** At most this many characters per message. */
  maxMessageChars: 128 * 1024,
} as const;

/** The calls a host answers, in one place so both transports share the implementation. */
export type ApiHandlers = { [M in ApiMethod]: (params: ApiParams<M>) => Promise<ApiResult<M>> };

/** WebSocket frames (JSON text). */
export type ClientFrame =
  { kind: 'req'; id: number; method: ApiMethod; params: unknown } | { kind: 'ack'; ack: TerminalAck };
export type ServerFrame =
  | { kind: 'res'; id: number; ok: true; result: unknown }
  | { kind: 'res'; id: number; ok: false; error: string }
  | { kind: 'event'; event: AppEvent };

/** What the Electron preload exposes as `window.prs`: named calls only, no generic invoke. */
export interface PrsBridge {
  examples: { list(): Promise<ExampleInfo[]> };
  specs: { validate(specPath: string): Promise<ValidateResult> };
  runs: {
    start(specPath: string): Promise<ApiResult<'startRun'>>;
    cancel(runId: string): Promise<ApiResult<'cancelRun'>>;
    resume(runDir: string, retryFailed?: boolean): Promise<ApiResult<'resumeRun'>>;
    list(): Promise<RunListItem[]>;
    open(ref: { runId?: string; runDir?: string }): Promise<RunSnapshot>;
    close(runId: string): Promise<ApiResult<'closeRun'>>;
    history(): Promise<RunListItem[]>;
  };
  logs: {
    read(runDir: string, path: string, start?: number, end?: number): Promise<LogChunk>;
    outputPage(runDir: string, start?: number, maxLines?: number): Promise<OutputPage>;
  };
  devices: { list(): Promise<DeviceInfo> };
  shell: {
    open(runId: string, process: string, cols: number, rows: number): Promise<{ shellId: string }>;
    input(shellId: string, data: string): Promise<ApiResult<'shellInput'>>;
    resize(shellId: string, cols: number, rows: number): Promise<ApiResult<'shellResize'>>;
    close(shellId: string): Promise<ApiResult<'closeShell'>>;
  };
  terminals: { ack(ack: TerminalAck): void };
  /** Returns an unsubscribe function. */
  onEvent(listener: (event: AppEvent) => void): () => void;
}

/** The IPC channel of each request (Electron): one fixed name per call, checked by main. */
export const IPC_CHANNELS: { [M in ApiMethod]: `prs:${M}` } = {
  listExamples: 'prs:listExamples',
  validateSpec: 'prs:validateSpec',
  startRun: 'prs:startRun',
  cancelRun: 'prs:cancelRun',
  resumeRun: 'prs:resumeRun',
  listRuns: 'prs:listRuns',
  openRun: 'prs:openRun',
  closeRun: 'prs:closeRun',
  readLog: 'prs:readLog',
  readOutputPage: 'prs:readOutputPage',
  devices: 'prs:devices',
  history: 'prs:history',
  openShell: 'prs:openShell',
  shellInput: 'prs:shellInput',
  shellResize: 'prs:shellResize',
  closeShell: 'prs:closeShell',
};
export const IPC_EVENT_CHANNEL = 'prs:event';
export const IPC_ACK_CHANNEL = 'prs:ack';

/** Seconds as "1:02:03" / "2:03". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return (h > 0 ? `${h}:` : '') + `${mm}:${String(sec).padStart(2, '0')}`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}
