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
import type { BatchInputs } from './batchInputs';
import type { JobSpec } from './spec';

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

/** Request name -> params and result. Every host implements exactly these. */
export interface ApiRequests {
  listExamples: { params: Record<string, never>; result: ExampleInfo[] };
  validateSpec: { params: { specPath: string }; result: ValidateResult };
  /**
   * A v2 pipeline file starts a pipeline run (`pipeline: true`: open it with openPipeline); a batch
   * deployment file runs with `input`, the file or folder it scores (`prs run --input`).
   */
  startRun: {
    params: { specPath: string; input?: string };
    result: { runId: string; runDir: string; pipeline?: boolean };
  };
  cancelRun: { params: { runId: string }; result: { cancelled: boolean } };
  resumeRun: {
    params: { runDir: string; retryFailed?: boolean };
    result: { runId: string; runDir: string; pipeline?: boolean };
  };
  listRuns: { params: Record<string, never>; result: RunListItem[] };
  /** A live run by id, or a finished run by folder. Subscribes this client to the run's events. */
  openRun: { params: { runId?: string; runDir?: string }; result: RunSnapshot };
  closeRun: { params: { runId: string }; result: Record<string, never> };
  /** A byte range of a file of the run folder; `waitMs` waits for a log read at its end to grow. */
  readLog: {
    params: { runDir: string; path: string; start?: number; end?: number; waitMs?: number };
    result: LogChunk;
  };
  /** The tree of the run's logs/ folder. */
  listLogs: { params: { runDir: string }; result: { entries: LogTreeEntry[]; truncated: boolean } };
  /** One mini-batch in the log tree: its inputs and lines, per attempt. */
  miniBatchLogs: { params: { runDir: string; miniBatchId: number }; result: MiniBatchLogs };
  openPipeline: { params: { runDir: string }; result: PipelineSnapshot };
  /** A page of the append_row file from a byte offset, or from a line number (sparse line index). */
  readOutputPage: {
    params: { runDir: string; start?: number; line?: number; maxLines?: number };
    result: OutputPage;
  };
  devices: { params: Record<string, never>; result: DeviceInfo };
  history: { params: Record<string, never>; result: HistoryItem[] };
  /** Streams over the append_row file; progress and matches arrive as 'search-progress' events. */
  searchOutput: {
    params: { runDir: string; query: string; regex?: boolean; caseSensitive?: boolean; limit?: number };
    result: { searchId: string };
  };
  cancelSearch: { params: { searchId: string }; result: { cancelled: boolean } };
  /** Writes an export to a file the user chose (Electron's save dialog); the web host also streams it. */
  exportRun: {
    params: { runDir: string; what: ExportWhat; dest: string; overwrite?: boolean };
    result: { path: string; bytes: number } | { exists: true };
  };
  /**
   * The web host's downloads: a single-use URL, valid for a minute, that a plain link can follow (a
   * link carries no Authorization header, and the host's secret never travels in a cookie or URL).
   */
  exportTicket: { params: { runDir: string; what: ExportWhat }; result: { url: string } };
  /** Runs a past run's job again; with `reuse`, an unchanged job reuses its last results (allow_reuse). */
  rerun: {
    params: { runDir: string; reuse?: boolean };
    result: { runId: string; runDir: string; pipeline?: boolean };
  };
  deleteRun: { params: { runDir: string }; result: { deleted: boolean } };
  listDir: { params: { path?: string }; result: DirListing };
  inspectScript: { params: { path: string }; result: ScriptInfo };
  inspectInputs: {
    params: { spec: Record<string, unknown>; specDir: string };
    result: InputsInfo;
  };
  /** With `script`, each interpreter checked also looks up the modules that script imports. */
  interpreters: { params: { sourceDir?: string; script?: ScriptToCheck }; result: InterpreterInfo[] };
  checkInterpreter: {
    params: { python: string; specDir: string; script?: ScriptToCheck };
    result: InterpreterInfo;
  };
  /** Validates a draft exactly as `prs validate` would, disk checks included. */
  validateDraft: {
    params: { spec: Record<string, unknown>; specDir: string };
    result: ValidateResult;
  };
  /**
   * Writes a spec file (YAML, or JSON by extension); refuses to overwrite unless told to. YAML is
   * written over the file there, or else over `template` (the spec a Save as… started from).
   */
  saveSpec: {
    params: {
      path: string;
      spec: Record<string, unknown>;
      overwrite?: boolean;
      azureMlV2?: boolean;
      template?: string;
    };
    result: { saved: true; path: string; warnings: string[] } | { saved: false; exists: true };
  };
  readSpecFile: { params: { path: string }; result: SpecFileContent };
  /** The spec as an Azure ML v2 parallel job YAML (text and warnings), without writing it. */
  toAzureMlV2: {
    params: { spec: Record<string, unknown>; specDir: string };
    result: { yaml: string; warnings: string[] };
  };
  /** The spec as the YAML the wizard would save (over the YAML file at `path`, when there is one). */
  specYaml: { params: { spec: Record<string, unknown>; path?: string }; result: { yaml: string } };
  /**
   * A shell in a worker's environment (its variables, interpreter on PATH, working directory). For a
   * run this host no longer runs (finished, failed, opened from history) `runDir` says which.
   */
  openShell: {
    params: { runId: string; process: string; cols: number; rows: number; runDir?: string };
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
  | { type: 'shell-exit'; shellId: string; code: number | null }
  | {
      type: 'search-progress';
      searchId: string;
      scannedBytes: number;
      size: number;
      matches: SearchMatch[];
      done: boolean;
      cancelled?: boolean;
      error?: string;
      totalMatches: number;
    };

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

/**
 * The web host's WebSocket subprotocol. A page cannot set headers on a WebSocket, so a tab offers
 * its token as a second protocol value, `prs-token.<token>`; the host answers with WS_PROTOCOL only.
 */
export const WS_PROTOCOL = 'prs';
export const WS_TOKEN_PREFIX = 'prs-token.';

/** WebSocket frames (JSON text). */
export type ClientFrame =
  { kind: 'req'; id: number; method: ApiMethod; params: unknown } | { kind: 'ack'; ack: TerminalAck };
/** An error as it crosses the wire: its name ('BadRequest' for the caller's mistake) and message. */
export interface WireError {
  name: string;
  message: string;
}
/** A frame that could not be read has no id to answer to: its error reply carries id null. */
export type ServerFrame =
  | { kind: 'res'; id: number; ok: true; result: unknown }
  | { kind: 'res'; id: number | null; ok: false; error: WireError }
  | { kind: 'event'; event: AppEvent };

/** What the Electron preload exposes as `window.prs`: named calls only, no generic invoke. */
export interface PrsBridge {
  examples: { list(): Promise<ExampleInfo[]> };
  specs: { validate(specPath: string): Promise<ValidateResult> };
  runs: {
    start(specPath: string, input?: string): Promise<ApiResult<'startRun'>>;
    cancel(runId: string): Promise<ApiResult<'cancelRun'>>;
    resume(runDir: string, retryFailed?: boolean): Promise<ApiResult<'resumeRun'>>;
    list(): Promise<RunListItem[]>;
    open(ref: { runId?: string; runDir?: string }): Promise<RunSnapshot>;
    close(runId: string): Promise<ApiResult<'closeRun'>>;
    history(): Promise<HistoryItem[]>;
    openPipeline(runDir: string): Promise<PipelineSnapshot>;
  };
  logs: {
    read(runDir: string, path: string, start?: number, end?: number, waitMs?: number): Promise<LogChunk>;
    tree(runDir: string): Promise<ApiResult<'listLogs'>>;
    miniBatch(runDir: string, miniBatchId: number): Promise<MiniBatchLogs>;
    outputPage(runDir: string, start?: number, maxLines?: number, line?: number): Promise<OutputPage>;
  };
  output: {
    search(p: ApiParams<'searchOutput'>): Promise<ApiResult<'searchOutput'>>;
    cancelSearch(searchId: string): Promise<ApiResult<'cancelSearch'>>;
    export(p: ApiParams<'exportRun'>): Promise<ApiResult<'exportRun'>>;
  };
  history: {
    rerun(runDir: string, reuse?: boolean): Promise<ApiResult<'rerun'>>;
    remove(runDir: string): Promise<ApiResult<'deleteRun'>>;
  };
  files: { list(path?: string): Promise<DirListing> };
  wizard: {
    inspectScript(path: string): Promise<ScriptInfo>;
    inspectInputs(p: ApiParams<'inspectInputs'>): Promise<InputsInfo>;
    interpreters(p: ApiParams<'interpreters'>): Promise<InterpreterInfo[]>;
    checkInterpreter(p: ApiParams<'checkInterpreter'>): Promise<InterpreterInfo>;
    validateDraft(p: ApiParams<'validateDraft'>): Promise<ValidateResult>;
    saveSpec(p: ApiParams<'saveSpec'>): Promise<ApiResult<'saveSpec'>>;
    readSpecFile(path: string): Promise<SpecFileContent>;
    toAzureMlV2(p: ApiParams<'toAzureMlV2'>): Promise<ApiResult<'toAzureMlV2'>>;
    specYaml(p: ApiParams<'specYaml'>): Promise<ApiResult<'specYaml'>>;
  };
  /** Native file dialogs (Electron only): a chosen path, or null when cancelled. */
  dialogs: {
    open(options: DialogOptions): Promise<string | null>;
    save(options: DialogOptions): Promise<string | null>;
  };
  devices: { list(): Promise<DeviceInfo> };
  shell: {
    open(
      runId: string,
      process: string,
      cols: number,
      rows: number,
      runDir?: string,
    ): Promise<{ shellId: string }>;
    input(shellId: string, data: string): Promise<ApiResult<'shellInput'>>;
    resize(shellId: string, cols: number, rows: number): Promise<ApiResult<'shellResize'>>;
    close(shellId: string): Promise<ApiResult<'closeShell'>>;
  };
  terminals: { ack(ack: TerminalAck): void };
  /** Returns an unsubscribe function. */
  onEvent(listener: (event: AppEvent) => void): () => void;
}

export interface DialogOptions {
  title?: string;
  /** Pick a folder rather than a file (open only). */
  directory?: boolean;
  defaultPath?: string;
  filters?: Array<{ name: string; extensions: string[] }>;
}

export const IPC_DIALOG_CHANNELS = { open: 'prs:dialog:open', save: 'prs:dialog:save' } as const;

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
  openPipeline: 'prs:openPipeline',
  readLog: 'prs:readLog',
  listLogs: 'prs:listLogs',
  miniBatchLogs: 'prs:miniBatchLogs',
  readOutputPage: 'prs:readOutputPage',
  devices: 'prs:devices',
  history: 'prs:history',
  openShell: 'prs:openShell',
  shellInput: 'prs:shellInput',
  shellResize: 'prs:shellResize',
  closeShell: 'prs:closeShell',
  searchOutput: 'prs:searchOutput',
  cancelSearch: 'prs:cancelSearch',
  exportRun: 'prs:exportRun',
  exportTicket: 'prs:exportTicket',
  rerun: 'prs:rerun',
  deleteRun: 'prs:deleteRun',
  listDir: 'prs:listDir',
  inspectScript: 'prs:inspectScript',
  inspectInputs: 'prs:inspectInputs',
  interpreters: 'prs:interpreters',
  checkInterpreter: 'prs:checkInterpreter',
  validateDraft: 'prs:validateDraft',
  saveSpec: 'prs:saveSpec',
  readSpecFile: 'prs:readSpecFile',
  toAzureMlV2: 'prs:toAzureMlV2',
  specYaml: 'prs:specYaml',
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

// ---- Output rows as columns (the output browser and the CSV/JSON Lines exports agree) ----------

export type RowFormat = 'json' | 'csv' | 'space' | 'plain';

/** Guesses how a run's output lines are laid out, from a sample of them. */
export function detectRowFormat(lines: string[]): RowFormat {
  const sample = lines.filter((l) => l.trim() !== '').slice(0, 50);
  if (sample.length === 0) return 'plain';
  const all = (test: (l: string) => boolean) => sample.every(test);
  if (
    all((l) => {
      const t = l.trim();
      if (!(t.startsWith('{') || t.startsWith('['))) return false;
      try {
        JSON.parse(t);
        return true;
      } catch {
        return false;
      }
    })
  )
    return 'json';
  const width = (l: string, f: RowFormat) => splitRow(l, f).length;
  const same = (f: RowFormat) => {
    const w = width(sample[0], f);
    return w > 1 && all((l) => width(l, f) === w);
  };
  if (same('csv')) return 'csv';
  // PRS writes a DataFrame's rows space-separated; a varying width still reads best as columns.
  if (all((l) => /\S\s+\S/.test(l))) return 'space';
  return 'plain';
}

/** One line as its fields. JSON objects give their values in key order (see jsonColumns). */
export function splitRow(line: string, format: RowFormat): string[] {
  switch (format) {
    case 'json': {
      try {
        const v = JSON.parse(line) as unknown;
        if (Array.isArray(v)) return v.map(cellText);
        if (v && typeof v === 'object') return Object.values(v).map(cellText);
        return [cellText(v)];
      } catch {
        return [line];
      }
    }
    case 'csv':
      return splitCsvLine(line);
    case 'space':
      return line.trim() === '' ? [] : line.trim().split(/\s+/);
    default:
      return [line];
  }
}

/** The keys of a JSON object line, for a header. */
export function jsonColumns(line: string): string[] | null {
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : null;
  } catch {
    return null;
  }
}

function cellText(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
}

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

/** A CSV field, quoted when it must be (RFC 4180). */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
