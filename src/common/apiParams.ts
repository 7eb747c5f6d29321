// The contract's request parameters as zod schemas: one table, one schema per API method, each
// checked against ApiRequests (api.ts) by the compiler. Every host validates a request against its
// row before any handler sees it, so a handler only ever gets the types it declares: a browser tab,
// a script or a hostile page cannot reach one with `{}`, `null` or a number where a path belongs.
// Unknown keys are dropped, not refused: an older tab talking to a newer host keeps working.

import * as z from 'zod';
import type { ApiMethod, ApiParams, ClientFrame, ExportWhat } from './api';

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

type ParamSchemas = { [M in ApiMethod]: z.ZodType<ApiParams<M>> };

export const API_PARAMS: ParamSchemas = {
  listExamples: none,
  validateSpec: z.object({ specPath: filePath }),
  startRun: z.object({ specPath: filePath, input: filePath.optional() }),
  cancelRun: z.object({ runId: id }),
  resumeRun: z.object({ runDir: filePath, retryFailed: z.boolean().optional() }),
  listRuns: none,
  openRun: z
    .object({ runId: id.optional(), runDir: filePath.optional() })
    .refine((p) => p.runId !== undefined || p.runDir !== undefined, 'give runId or runDir'),
  closeRun: z.object({ runId: id }),
  readLog: z.object({
    runDir: filePath,
    path: filePath,
    start: offset.optional(),
    end: offset.optional(),
    // A follow-while-running read holds its request open at most this long (runFolder.ts's limit).
    waitMs: z.number().int().min(0).max(30_000).optional(),
  }),
  listLogs: z.object({ runDir: filePath }),
  miniBatchLogs: z.object({ runDir: filePath, miniBatchId: offset }),
  readOutputPage: z.object({
    runDir: filePath,
    start: offset.optional(),
    line: offset.optional(),
    maxLines: count.optional(),
  }),
  devices: none,
  history: none,
  openPipeline: z.object({ runDir: filePath }),
  searchOutput: z.object({
    runDir: filePath,
    query: z.string().max(64 * 1024),
    regex: z.boolean().optional(),
    caseSensitive: z.boolean().optional(),
    limit: count.optional(),
  }),
  cancelSearch: z.object({ searchId: id }),
  exportRun: z.object({
    runDir: filePath,
    what: z.enum(EXPORT_WHATS),
    dest: filePath,
    overwrite: z.boolean().optional(),
  }),
  exportTicket: z.object({ runDir: filePath, what: z.enum(EXPORT_WHATS) }),
  rerun: z.object({ runDir: filePath, reuse: z.boolean().optional() }),
  deleteRun: z.object({ runDir: filePath }),
  listDir: z.object({ path: filePath.optional() }),
  inspectScript: z.object({ path: filePath }),
  inspectInputs: z.object({ spec: draft, specDir: filePath }),
  interpreters: z.object({ sourceDir: filePath.optional(), script: scriptToCheck.optional() }),
  checkInterpreter: z.object({ python: filePath, specDir: filePath, script: scriptToCheck.optional() }),
  validateDraft: z.object({ spec: draft, specDir: filePath }),
  saveSpec: z.object({
    path: filePath,
    spec: draft,
    overwrite: z.boolean().optional(),
    azureMlV2: z.boolean().optional(),
    template: filePath.optional(),
  }),
  readSpecFile: z.object({ path: filePath }),
  toAzureMlV2: z.object({ spec: draft, specDir: filePath }),
  specYaml: z.object({ spec: draft, path: filePath.optional() }),
  openShell: z.object({ runId: id, process: id, cols: cells, rows: cells, runDir: filePath.optional() }),
  shellInput: z.object({ shellId: id, data: z.string().max(1024 * 1024) }),
  shellResize: z.object({ shellId: id, cols: cells, rows: cells }),
  closeShell: z.object({ shellId: id }),
};

export const TERMINAL_ACK = z.object({ runId: id, term: id, chars: z.number().int().nonnegative() });

/** A WebSocket frame from a client, before its params are checked against their method's row. */
export const CLIENT_FRAME: z.ZodType<ClientFrame> = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('req'),
    id: z.number().int().nonnegative(),
    method: z.string().max(200) as z.ZodType<ApiMethod>,
    params: z.unknown(),
  }),
  z.object({ kind: z.literal('ack'), ack: TERMINAL_ACK }),
]);

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
  return typeof method === 'string' && Object.hasOwn(API_PARAMS, method);
}

/** The params of `method`, parsed, or a BadRequest naming the method and the bad parameter. */
export function parseParams<M extends ApiMethod>(method: M, params: unknown): ApiParams<M> {
  // No params at all is an empty object (JSON has no undefined); null is not.
  const r = API_PARAMS[method].safeParse(params === undefined ? {} : params);
  if (!r.success) throw new BadRequest(describeIssues(method, r.error));
  return r.data;
}
