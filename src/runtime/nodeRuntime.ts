// The Node runtime: the entry script is a module loaded into this worker process, with the
// exports of contracts.md §4: init(ctx), run(miniBatch, ctx), shutdown(ctx).

import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MiniBatch, PartitionKeyValue, Table } from '../common/minibatch';
import type { WorkerConfig } from '../common/protocol';
import { errorInfo } from './errors';
import { createEntryLogger, type EntryLogger } from './entryLogger';
import { formatLine, NEWLINE_WARNING, returnValueError } from './results';
import { RuntimeError, type BatchOutcome, type Runtime } from './runtime';
import { locateSyntaxError } from './syntaxLocation';

export interface NodeContext {
  logger: EntryLogger;
  logDir: string;
  outputDir: string;
  agentName: string;
  nodeId: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Set per mini-batch when the job has partition_keys. */
  partitionKeyValue?: PartitionKeyValue;
  miniBatchId?: number;
}

interface EntryModule {
  init?: (ctx: NodeContext) => unknown;
  run?: (miniBatch: string[] | Table, ctx: NodeContext) => unknown;
  shutdown?: (ctx: NodeContext) => unknown;
}

export class NodeRuntime implements Runtime {
  private module: EntryModule = {};
  private readonly ctx: NodeContext;

  constructor(private readonly config: WorkerConfig) {
    this.ctx = {
      logger: createEntryLogger(config.entryLogFile, config.loggingLevel, config.processName),
      logDir: config.logDir,
      outputDir: config.outputDir,
      agentName: config.processName,
      nodeId: config.nodeId,
      args: config.args,
      env: process.env,
    };
  }

  async init(): Promise<void> {
    try {
      this.module = (await import(
        pathToFileURL(await loadable(this.config.entryScript)).href
      )) as EntryModule;
    } catch (err) {
      // A syntax error (V8's, or esbuild's for a .ts script) is given its line and column.
      const e = err as Error & { errors?: unknown[] };
      const syntax =
        e?.name === 'SyntaxError' || Array.isArray(e?.errors)
          ? await locateSyntaxError(this.config.entryScript, e.name === 'SyntaxError' ? e.message : undefined)
          : null;
      throw new RuntimeError(
        syntax ?? {
          ...errorInfo(err),
          message:
            `cannot load ${this.config.entryScript}: ${String(e?.message ?? err)}` +
            (e?.name === 'SyntaxError' ? ' (in it or in a module it imports; Node does not say where)' : ''),
        },
      );
    }
    // A CommonJS module's exports arrive under `default`.
    const mod = this.module as EntryModule & { default?: EntryModule };
    if (typeof mod.run !== 'function' && mod.default && typeof mod.default.run === 'function')
      this.module = mod.default;
    if (typeof this.module.run !== 'function') {
      throw new RuntimeError({
        type: 'EntryScriptError',
        message: `${this.config.entryScript} does not export a run(miniBatch, ctx) function (expected init, run, shutdown exports)`,
      });
    }
    try {
      await this.module.init?.(this.ctx);
    } catch (err) {
      throw new RuntimeError(errorInfo(err));
    }
  }

  async run(batch: MiniBatch): Promise<BatchOutcome> {
    const itemsTotal = batch.items;
    let input: string[] | Table;
    try {
      input =
        batch.sources[0]?.kind === 'files'
          ? batch.sources.flatMap((s) => (s.kind === 'files' ? s.files : []))
          : await (await import('./tables')).readTable(batch.sources);
    } catch (err) {
      // Bad data is named by file and byte; the reader's stack would say nothing more.
      const error =
        (err as Error)?.name === 'TableDataError'
          ? { type: 'InputDataError', message: (err as Error).message }
          : { ...errorInfo(err), type: 'InputReadError' };
      return { ok: false, itemsTotal, error, runMs: 0 };
    }
    const total = Array.isArray(input) ? input.length : input.rows.length;
    const ctx = { ...this.ctx, partitionKeyValue: batch.partition_key_value, miniBatchId: batch.id };
    const t0 = performance.now();
    let result: unknown;
    try {
      result = await this.module.run!(input, ctx);
    } catch (err) {
      return { ok: false, itemsTotal: total, error: errorInfo(err), runMs: performance.now() - t0 };
    }
    const runMs = performance.now() - t0;
    if (!Array.isArray(result)) {
      return { ok: false, itemsTotal: total, error: returnValueError(result, total, 'an array'), runMs };
    }
    const formatted = this.config.outputAction === 'append_row' ? result.map(formatLine) : undefined;
    // The lines leave as one string, as a Python DataFrame's rows do: as an array, a 100,000-line
    // return became 100,000 strings in the leader to parse, keep and join again, and its memory
    // grew with the output's size (issue 15).
    const lines = formatted && formatted.length > 1 ? [formatted.join('\n')] : formatted;
    const warnings: string[] = [];
    if (result.length > total)
      warnings.push(
        `run() returned ${result.length} elements for ${total} inputs; all were written, ${total} counted as successes`,
      );
    if (formatted?.some((l) => l.includes('\n'))) warnings.push(NEWLINE_WARNING);
    const warning = warnings.length > 0 ? warnings.join('; ') : undefined;
    return {
      ok: true,
      itemsTotal: total,
      itemsSucceeded: Math.min(result.length, total),
      lines,
      runMs,
      warning,
    };
  }

  async shutdown(): Promise<void> {
    await this.module.shutdown?.(this.ctx);
  }
}

/** .ts entry scripts are transpiled once per worker with esbuild (types stripped, no checking). */
async function loadable(file: string): Promise<string> {
  if (!file.endsWith('.ts')) return file;
  const { transform } = await import('esbuild');
  const { code } = await transform(await readFile(file, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    sourcefile: file,
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'prs-ts-'));
  const out = path.join(dir, path.basename(file, '.ts') + '.mjs');
  await writeFile(out, code);
  return out;
}
