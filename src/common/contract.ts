// The app's one contract (Hyper-style), written once: every request the UI can make, with where the
// preload puts it, the zod schema of its params and of its result, and every event a host pushes.
// Everything else is derived from these tables: the TypeScript types, the IPC channel names, the
// preload's named object, the renderer's client, the host's dispatcher and the one framing every
// transport (WebSocket, the desktop app's host process, Electron IPC) uses. Adding a call is one row
// here plus its handler in the host (the compiler asks for it).
//
// Params are checked at the host: a tab, a script or a hostile page cannot reach a handler with `{}`,
// `null` or a number where a path belongs. Unknown keys are dropped, not refused: an older tab
// talking to a newer host keeps working. Results are what the host's own code returns, so most are
// `z.custom<T>()` over the types of api.ts rather than a second copy of them.

import * as z from 'zod';
import type {
  ClusterStatus,
  DeviceInfo,
  DialogOptions,
  DirListing,
  ExampleInfo,
  ExportWhat,
  HistoryItem,
  InputsInfo,
  InterpreterInfo,
  LogChunk,
  LogTreeEntry,
  MiniBatchLogs,
  OutputPage,
  PipelineSnapshot,
  RunListItem,
  RunSnapshot,
  ScriptInfo,
  SearchMatch,
  SpecFileContent,
  ValidateResult,
} from './api';
import type { RunEvent } from './events';

// ---- Parameter building blocks -------------------------------------------------------------------

const EXPORT_WHATS = [
  'output-csv',
  'output-jsonl',
  'output-parquet',
  'logs-zip',
  'run-zip',
] as const satisfies readonly ExportWhat[];

/** A path as the user typed it (empty means the host's working folder, as path.resolve has it). */
const filePath = z
  .string()
  .max(64 * 1024)
  .refine((s) => !s.includes('\0'), 'must not contain a NUL character (no file name does)');
/** A run, search, shell or process id the host handed out. */
const id = z.string().min(1).max(1024);
const offset = z.number().int().nonnegative();
const count = z.number().int().positive();
/** A terminal's size in character cells. */
const cells = z.number().int().min(1).max(10_000);
const draft = z.record(z.string(), z.unknown());
const none = z.object({});
const scriptToCheck = z.object({ path: filePath, sourceDir: filePath });
const exportWhat = z.enum(EXPORT_WHATS);
/**
 * A cluster's Redis URL (`prs run --cluster`). Checked for its scheme only here; the host parses the
 * rest. The message never repeats the URL: it may hold a password.
 */
const clusterUrl = z
  .string()
  .max(4096)
  .refine((s) => /^rediss?:\/\/[^/?#]/i.test(s), 'expected redis://[user:pass@]host:port or rediss://…');
const started = z.custom<{ runId: string; runDir: string; pipeline?: boolean }>();
const empty = z.custom<Record<string, never>>();

/** Only plain, known option fields reach Electron's dialog: anything else a page sends is dropped. */
export function sanitizeDialogOptions(raw: unknown): DialogOptions {
  const o = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const filters = Array.isArray(o.filters)
    ? o.filters
        .filter((f): f is { name: string; extensions: unknown[] } => {
          const r = f as Record<string, unknown> | null;
          return !!r && typeof r.name === 'string' && Array.isArray(r.extensions);
        })
        .map((f) => ({
          name: f.name,
          extensions: f.extensions.filter((e): e is string => typeof e === 'string'),
        }))
    : undefined;
  return { title: str(o.title), directory: o.directory === true, defaultPath: str(o.defaultPath), filters };
}
const dialogOptions = z.custom<DialogOptions>().transform(sanitizeDialogOptions);

// ---- The tables -----------------------------------------------------------------------------------

/** One call: `at` is its place on the preload's object (`window.prs.runs.start`), then its schemas. */
function call<const At extends `${string}.${string}`, P extends z.ZodType, R extends z.ZodType>(
  at: At,
  params: P,
  result: R,
) {
  return { at, params, result };
}

/** Request name -> preload place, params and result. Every host answers exactly these. */
export const REQUESTS = {
  listExamples: call('examples.list', none, z.custom<ExampleInfo[]>()),
  validateSpec: call('specs.validate', z.object({ specPath: filePath }), z.custom<ValidateResult>()),
  /**
   * A v2 pipeline file starts a pipeline run (`pipeline: true`: open it with openPipeline); a batch
   * deployment file runs with `input`, the file or folder it scores (`prs run --input`).
   */
  /** With `cluster`, the job's nodes are that cluster's agents (`prs run --cluster`); never saved in the spec. */
  startRun: call(
    'runs.start',
    z.object({ specPath: filePath, input: filePath.optional(), cluster: clusterUrl.optional() }),
    started,
  ),
  /** The agents of a cluster now, as `prs cluster status` lists them. */
  clusterStatus: call('cluster.status', z.object({ cluster: clusterUrl }), z.custom<ClusterStatus>()),
  cancelRun: call('runs.cancel', z.object({ runId: id }), z.custom<{ cancelled: boolean }>()),
  resumeRun: call(
    'runs.resume',
    z.object({ runDir: filePath, retryFailed: z.boolean().optional() }),
    started,
  ),
  listRuns: call('runs.list', none, z.custom<RunListItem[]>()),
  /** A live run by id, or a finished run by folder. Subscribes this client to the run's events. */
  openRun: call(
    'runs.open',
    z
      .object({ runId: id.optional(), runDir: filePath.optional() })
      .refine((p) => p.runId !== undefined || p.runDir !== undefined, 'give runId or runDir'),
    z.custom<RunSnapshot>(),
  ),
  closeRun: call('runs.close', z.object({ runId: id }), empty),
  history: call('runs.history', none, z.custom<HistoryItem[]>()),
  openPipeline: call('runs.openPipeline', z.object({ runDir: filePath }), z.custom<PipelineSnapshot>()),
  /** A byte range of a file of the run folder; `waitMs` waits for a log read at its end to grow. */
  readLog: call(
    'logs.read',
    z.object({
      runDir: filePath,
      path: filePath,
      start: offset.optional(),
      end: offset.optional(),
      // A follow-while-running read holds its request open at most this long (runFolder.ts's limit).
      waitMs: z.number().int().min(0).max(30_000).optional(),
    }),
    z.custom<LogChunk>(),
  ),
  /** The tree of the run's logs/ folder. */
  listLogs: call(
    'logs.tree',
    z.object({ runDir: filePath }),
    z.custom<{ entries: LogTreeEntry[]; truncated: boolean }>(),
  ),
  /** One mini-batch in the log tree: its inputs and lines, per attempt. */
  miniBatchLogs: call(
    'logs.miniBatch',
    z.object({ runDir: filePath, miniBatchId: offset }),
    z.custom<MiniBatchLogs>(),
  ),
  /** A page of the append_row file from a byte offset, or from a line number (sparse line index). */
  readOutputPage: call(
    'logs.outputPage',
    z.object({
      runDir: filePath,
      start: offset.optional(),
      line: offset.optional(),
      maxLines: count.optional(),
    }),
    z.custom<OutputPage>(),
  ),
  /** Streams over the append_row file; progress and matches arrive as 'search-progress' events. */
  searchOutput: call(
    'output.search',
    z.object({
      runDir: filePath,
      query: z.string().max(64 * 1024),
      regex: z.boolean().optional(),
      caseSensitive: z.boolean().optional(),
      limit: count.optional(),
    }),
    z.custom<{ searchId: string }>(),
  ),
  cancelSearch: call('output.cancelSearch', z.object({ searchId: id }), z.custom<{ cancelled: boolean }>()),
  /** Writes an export to a file the user chose (Electron's save dialog); the web host also streams it. */
  exportRun: call(
    'output.export',
    z.object({ runDir: filePath, what: exportWhat, dest: filePath, overwrite: z.boolean().optional() }),
    z.custom<{ path: string; bytes: number } | { exists: true }>(),
  ),
  /**
   * The web host's downloads: a single-use URL, valid for a minute, that a plain link can follow (a
   * link carries no Authorization header, and the host's secret never travels in a cookie or URL).
   */
  exportTicket: call(
    'output.ticket',
    z.object({ runDir: filePath, what: exportWhat }),
    z.custom<{ url: string }>(),
  ),
  /** Runs a past run's job again; with `reuse`, an unchanged job reuses its last results (allow_reuse). */
  rerun: call('history.rerun', z.object({ runDir: filePath, reuse: z.boolean().optional() }), started),
  deleteRun: call('history.remove', z.object({ runDir: filePath }), z.custom<{ deleted: boolean }>()),
  listDir: call('files.list', z.object({ path: filePath.optional() }), z.custom<DirListing>()),
  inspectScript: call('wizard.inspectScript', z.object({ path: filePath }), z.custom<ScriptInfo>()),
  inspectInputs: call(
    'wizard.inspectInputs',
    z.object({ spec: draft, specDir: filePath }),
    z.custom<InputsInfo>(),
  ),
  /** With `script`, each interpreter checked also looks up the modules that script imports. */
  interpreters: call(
    'wizard.interpreters',
    z.object({ sourceDir: filePath.optional(), script: scriptToCheck.optional() }),
    z.custom<InterpreterInfo[]>(),
  ),
  checkInterpreter: call(
    'wizard.checkInterpreter',
    z.object({ python: filePath, specDir: filePath, script: scriptToCheck.optional() }),
    z.custom<InterpreterInfo>(),
  ),
  /** Validates a draft exactly as `prs validate` would, disk checks included. */
  validateDraft: call(
    'wizard.validateDraft',
    z.object({ spec: draft, specDir: filePath }),
    z.custom<ValidateResult>(),
  ),
  /**
   * Writes a spec file (YAML, or JSON by extension); refuses to overwrite unless told to. YAML is
   * written over the file there, or else over `template` (the spec a Save as… started from).
   */
  saveSpec: call(
    'wizard.saveSpec',
    z.object({
      path: filePath,
      spec: draft,
      overwrite: z.boolean().optional(),
      azureMlV2: z.boolean().optional(),
      template: filePath.optional(),
    }),
    z.custom<{ saved: true; path: string; warnings: string[] } | { saved: false; exists: true }>(),
  ),
  readSpecFile: call('wizard.readSpecFile', z.object({ path: filePath }), z.custom<SpecFileContent>()),
  /** The spec as an Azure ML v2 parallel job YAML (text and warnings), without writing it. */
  toAzureMlV2: call(
    'wizard.toAzureMlV2',
    z.object({ spec: draft, specDir: filePath }),
    z.custom<{ yaml: string; warnings: string[] }>(),
  ),
  /** The spec as the YAML the wizard would save (over the YAML file at `path`, when there is one). */
  specYaml: call(
    'wizard.specYaml',
    z.object({ spec: draft, path: filePath.optional() }),
    z.custom<{ yaml: string }>(),
  ),
  devices: call('devices.list', none, z.custom<DeviceInfo>()),
  /**
   * A shell in a worker's environment (its variables, interpreter on PATH, working directory). For a
   * run this host no longer runs (finished, failed, opened from history) `runDir` says which.
   */
  openShell: call(
    'shell.open',
    z.object({ runId: id, process: id, cols: cells, rows: cells, runDir: filePath.optional() }),
    z.custom<{ shellId: string }>(),
  ),
  shellInput: call('shell.input', z.object({ shellId: id, data: z.string().max(1024 * 1024) }), empty),
  shellResize: call('shell.resize', z.object({ shellId: id, cols: cells, rows: cells }), empty),
  closeShell: call('shell.close', z.object({ shellId: id }), empty),
};

/**
 * Calls Electron's main process answers itself (native dialogs), not the host: the same derivation
 * (channel, preload function, sender check), and the browser has none (it uses the host's listDir).
 */
export const WINDOW_REQUESTS = {
  openDialog: call('dialogs.open', dialogOptions, z.custom<string | null>()),
  saveDialog: call('dialogs.save', dialogOptions, z.custom<string | null>()),
};

const event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ type: z.literal(type), ...shape });

/** Events a host pushes. Terminal bytes travel apart from run state so they never enter UI state. */
export const APP_EVENT = z.discriminatedUnion('type', [
  /** Run events in order, batched, less 'output' and 'log' (those arrive as 'term-output'). */
  event('run-events', {
    runId: z.string(),
    events: z.custom<Array<Exclude<RunEvent, { type: 'output' }>>>(),
  }),
  /** Terminal bytes; stderr arrives coloured with SGR codes. Acknowledge with `ack`. */
  event('term-output', { runId: z.string(), term: z.string(), data: z.string() }),
  /** The UI view dropped output above the high watermark; the log file has it all. */
  event('term-dropped', { runId: z.string(), term: z.string(), droppedBytes: z.number() }),
  event('runs-changed', {}),
  event('shell-output', { shellId: z.string(), data: z.string() }),
  event('shell-exit', { shellId: z.string(), code: z.number().nullable() }),
  event('search-progress', {
    searchId: z.string(),
    scannedBytes: z.number(),
    size: z.number(),
    matches: z.custom<SearchMatch[]>(),
    done: z.boolean(),
    cancelled: z.boolean().optional(),
    error: z.string().optional(),
    totalMatches: z.number(),
  }),
]);

/** Flow control: what the renderer reports as drawn, per terminal. */
export const TERMINAL_ACK = z.object({ runId: id, term: id, chars: z.number().int().nonnegative() });

// ---- Types, derived -------------------------------------------------------------------------------

type Requests = typeof REQUESTS;
type AllCalls = Requests & typeof WINDOW_REQUESTS;
export type ApiMethod = keyof Requests;
/** What a caller sends (and, the schemas having no transforms, what a handler gets). */
export type ApiParams<M extends ApiMethod> = z.input<Requests[M]['params']>;
export type ApiResult<M extends ApiMethod> = z.output<Requests[M]['result']>;
export type AppEvent = z.infer<typeof APP_EVENT>;
export type TerminalAck = z.infer<typeof TERMINAL_ACK>;

/** The calls a host answers, in one place so every transport shares the implementation. */
export type ApiHandlers = { [M in ApiMethod]: (params: ApiParams<M>) => Promise<ApiResult<M>> };

type Def = { at: string; params: z.ZodType; result: z.ZodType };
type GroupOf<At> = At extends `${infer G}.${string}` ? G : never;
type NameOf<At> = At extends `${string}.${infer N}` ? N : never;
/** A call whose params are all optional (or that has none) may be called without them. */
type TakesNothing<P> = string extends keyof P ? true : Partial<P> extends P ? true : false;
type BridgeFn<D extends Def> =
  TakesNothing<z.input<D['params']>> extends true
    ? (params?: z.input<D['params']>) => Promise<z.output<D['result']>>
    : (params: z.input<D['params']>) => Promise<z.output<D['result']>>;

/** What the Electron preload exposes as `window.prs`: named calls only, no generic invoke. */
export type PrsBridge = {
  [G in GroupOf<AllCalls[keyof AllCalls]['at']>]: {
    [
      K in keyof AllCalls as GroupOf<AllCalls[K]['at']> extends G ? NameOf<AllCalls[K]['at']> : never
    ]: BridgeFn<AllCalls[K]>;
  };
} & {
  terminals: { ack(ack: TerminalAck): void };
  /** Returns an unsubscribe function. */
  onEvent(listener: (event: AppEvent) => void): () => void;
};

// ---- Derivations ----------------------------------------------------------------------------------

export const API_METHODS = Object.keys(REQUESTS) as ApiMethod[];
export type WindowMethod = keyof typeof WINDOW_REQUESTS;
export const WINDOW_METHODS = Object.keys(WINDOW_REQUESTS) as WindowMethod[];

/** Each method's params schema, by name. */
export const API_PARAMS = Object.fromEntries(API_METHODS.map((m) => [m, REQUESTS[m].params])) as {
  [M in ApiMethod]: Requests[M]['params'];
};

/** The IPC channel of each call (Electron): one fixed name per call, checked by main. */
export const ipcChannel = <M extends ApiMethod | WindowMethod>(method: M): `prs:${M}` => `prs:${method}`;
export const IPC_CHANNELS = Object.fromEntries(API_METHODS.map((m) => [m, ipcChannel(m)])) as {
  [M in ApiMethod]: `prs:${M}`;
};
export const IPC_EVENT_CHANNEL = 'prs:event';
export const IPC_ACK_CHANNEL = 'prs:ack';

/** Where a call sits on the preload's object: ['runs', 'start']. */
export function bridgePlace(method: ApiMethod | WindowMethod): [group: string, name: string] {
  const at = (method in REQUESTS ? REQUESTS[method as ApiMethod] : WINDOW_REQUESTS[method as WindowMethod])
    .at;
  const dot = at.indexOf('.');
  return [at.slice(0, dot), at.slice(dot + 1)];
}

/** The bridge's named function for `method` (the renderer's side of the derivation). */
export function bridgeFunction<M extends ApiMethod>(
  bridge: PrsBridge,
  method: M,
): (params: ApiParams<M>) => Promise<ApiResult<M>> {
  const [group, name] = bridgePlace(method);
  const fn = (bridge as unknown as Record<string, Record<string, unknown>>)[group]?.[name];
  if (typeof fn !== 'function') throw new Error(`${method}: the preload has no ${group}.${name}`);
  return fn as (params: ApiParams<M>) => Promise<ApiResult<M>>;
}

// ---- Checking params ------------------------------------------------------------------------------

/** A request the host refused before any handler ran: its name tells a client it was the caller's fault. */
export class BadRequest extends Error {
  override name = 'BadRequest';
}

/** Zod's issues as one line that names each bad parameter: `readLog: runDir: expected string, ...`. */
export function describeIssues(what: string, error: z.ZodError, root = 'params'): string {
  const parts = error.issues.map((i) => {
    const where = i.path.length > 0 ? i.path.map(String).join('.') : root;
    return `${where}: ${i.message}`;
  });
  return `${what}: ${parts.join('; ')}`;
}

export function isApiMethod(method: unknown): method is ApiMethod {
  return typeof method === 'string' && Object.hasOwn(REQUESTS, method);
}

/** The params of `method`, parsed, or a BadRequest naming the method and the bad parameter. */
export function parseParams<M extends ApiMethod>(method: M, params: unknown): ApiParams<M> {
  // No params at all is an empty object (JSON has no undefined); null is not.
  const r = REQUESTS[method].params.safeParse(params === undefined ? {} : params);
  if (!r.success) throw new BadRequest(describeIssues(method, r.error));
  return r.data as ApiParams<M>;
}

/**
 * The host's dispatcher, for every transport: `method` and `params` come straight off the wire, so
 * the method is looked up only among the contract's own names (never `constructor` or `toString`
 * from Object.prototype) and the params are parsed against its row before a handler sees them.
 * Whatever a handler throws, synchronously or not, becomes this promise's rejection.
 */
export async function dispatch(handlers: ApiHandlers, method: unknown, params: unknown): Promise<unknown> {
  if (!isApiMethod(method)) {
    throw new BadRequest(
      `unknown request ${JSON.stringify(method) ?? String(method)} (expected an API method name)`,
    );
  }
  const handler = handlers[method] as (p: unknown) => Promise<unknown>;
  return handler(parseParams(method, params));
}

// ---- The one framing ------------------------------------------------------------------------------

/** An error as it crosses the wire: its name ('BadRequest' for the caller's mistake) and message. */
export interface WireError {
  name: string;
  message: string;
}

/** How a call ended, as every transport carries it back (IPC's invoke adds no id: it has its own). */
export type Outcome = { ok: true; result: unknown } | { ok: false; error: WireError };

/** A frame to the host: a request, or flow control. */
export type ClientFrame =
  { kind: 'req'; id: number; method: string; params: unknown } | { kind: 'ack'; ack: TerminalAck };
/** A frame that could not be read has no id to answer to: its error reply carries id null. */
export type ReplyFrame = { kind: 'res'; id: number | null } & Outcome;
export type ServerFrame = ReplyFrame | { kind: 'event'; event: AppEvent };

/** A frame from a client, before its params are checked against their method's row. */
export const CLIENT_FRAME: z.ZodType<ClientFrame> = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('req'),
    id: z.number().int().nonnegative(),
    method: z.string().max(200),
    params: z.unknown(),
  }),
  z.object({ kind: z.literal('ack'), ack: TERMINAL_ACK }),
]);

export function wireError(err: unknown): WireError {
  return err instanceof Error
    ? { name: err.name, message: err.message }
    : { name: 'Error', message: String(err) };
}

/** The Error a caller's promise rejects with: the host's name and message, kept across the wire. */
export function errorFromWire(error: WireError): Error {
  const e = new Error(error.message);
  e.name = error.name;
  return e;
}

/** Runs one call and says how it ended; never rejects. */
export async function outcomeOf(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, result: await run() };
  } catch (err) {
    return { ok: false, error: wireError(err) };
  }
}

export function resultOf(outcome: Outcome): unknown {
  if (outcome.ok) return outcome.result;
  throw errorFromWire(outcome.error);
}

/** The id of a frame that failed to parse, when it has a usable one, so the client can match the reply. */
function idOf(value: unknown): number | null {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 ? id : null;
}

/** What a host does with the frames of one client. */
export interface FrameTarget {
  call(method: string, params: unknown): Promise<unknown>;
  ack(ack: TerminalAck): void;
}

export const refusal = (id: number | null, message: string): ReplyFrame => ({
  kind: 'res',
  id,
  ok: false,
  error: wireError(new BadRequest(message)),
});

/**
 * One frame (already read from JSON) from a client: the reply a request gets, or null for an ack.
 * A frame that is not one, or an ack the target refuses, is answered with a BadRequest.
 */
export async function answerFrame(value: unknown, target: FrameTarget): Promise<ReplyFrame | null> {
  const parsed = CLIENT_FRAME.safeParse(value);
  if (!parsed.success) return refusal(idOf(value), describeIssues('bad frame', parsed.error, 'the frame'));
  const frame = parsed.data;
  if (frame.kind === 'ack') {
    try {
      target.ack(frame.ack);
      return null;
    } catch (err) {
      return refusal(null, wireError(err).message);
    }
  }
  return { kind: 'res', id: frame.id, ...(await outcomeOf(() => target.call(frame.method, frame.params))) };
}

/**
 * The web host's WebSocket subprotocol. A page cannot set headers on a WebSocket, so a tab offers
 * its token as a second protocol value, `prs-token.<token>`; the host answers with WS_PROTOCOL only.
 */
export const WS_PROTOCOL = 'prs';
export const WS_TOKEN_PREFIX = 'prs-token.';
