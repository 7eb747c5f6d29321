// A pipeline run: one run folder, a folder per node inside it (jobs/<node>/: a parallel node's is a
// full run folder of its own), nodes started as soon as the outputs they read exist, side by side.
// A failed node stops its dependants; nodes that do not depend on it go on. pipeline.json is the
// record: the resolved graph and each node's state, so `prs resume` reruns only what did not complete.

import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunSummary } from '../../common/events';
import type { JobSpec } from '../../common/spec';
import { History } from '../history';
import { describeFsError, InputError } from '../inputError';
import { lockRunFolder } from '../runFolderLock';
import { logTime } from '../logTree';
import { resolvePython } from '../python/preflight';
import { resumeRun, startRun, type RunHandle } from '../run';
import { createRunFolder } from '../runsFolder';
import { resolveSpec } from '../spec/load';
import { interpreterBin, runCommandNode } from './commandNode';
import { parallelJobDoc } from './parallelJob';
import type { Binding, NodeState, PipelineNode, PipelineSpec } from './types';
import { exitCodeOf } from '../../common/exitCodes';

export const PIPELINE_RECORD = 'pipeline.json';

export interface PipelineRecord {
  kind: 'pipeline';
  runId: string;
  name: string;
  pipeline: PipelineSpec;
  startedAt: string;
  resumes: Array<{ at: string }>;
  nodes: Record<string, NodeState>;
  summary?: PipelineSummary;
}

export interface PipelineSummary extends RunSummary {
  jobs: Record<string, NodeState>;
}

export type PipelineEvent =
  | { type: 'node'; node: string; state: NodeState }
  /** A parallel node's run began (or resumed): hosts may follow it as any run. */
  | { type: 'node-run'; node: string; handle: RunHandle; spec: JobSpec | null }
  | { type: 'notice'; message: string }
  | { type: 'finished'; summary: PipelineSummary };

export interface PipelineHandle {
  readonly runId: string;
  readonly runDir: string;
  subscribe(listener: (event: PipelineEvent) => void): () => void;
  cancel(): void;
  readonly done: Promise<PipelineSummary>;
}

export interface PipelineStartOptions {
  /** Default: runs/ beside the pipeline file. */
  runsDir?: string;
}

function newRunId(now: number): string {
  return `${new Date(now).toISOString().replace(/[-:.]/g, '')}-${Math.random().toString(36).slice(2, 6)}`;
}

export async function startPipeline(
  pipeline: PipelineSpec,
  options: PipelineStartOptions = {},
): Promise<PipelineHandle> {
  const now = Date.now();
  const runId = newRunId(now);
  const runsDir = path.resolve(options.runsDir ?? path.join(path.dirname(pipeline.specPath), 'runs'));
  const folderName = pipeline.name.replace(/[^A-Za-z0-9_.-]+/g, '-');
  const runDir = path.join(runsDir, folderName, runId);
  await createRunFolder(runsDir, runDir);
  const nodes: Record<string, NodeState> = {};
  for (const n of pipeline.nodes) nodes[n.name] = { type: n.type, status: 'pending', dir: `jobs/${n.name}` };
  const record: PipelineRecord = {
    kind: 'pipeline',
    runId,
    name: pipeline.name,
    pipeline,
    startedAt: new Date(now).toISOString(),
    resumes: [],
    nodes,
  };
  return execute(record, runDir, now);
}

/** The pipeline.json of a pipeline run folder, or an error naming the file and what was expected. */
export async function readPipelineRecord(runDir: string): Promise<PipelineRecord> {
  const file = path.join(path.resolve(runDir), PIPELINE_RECORD);
  let record: PipelineRecord;
  try {
    record = JSON.parse(await readFile(file, 'utf8')) as PipelineRecord;
  } catch (err) {
    throw new InputError(`${file}: ${(err as Error).message} (expected the pipeline record prs writes)`);
  }
  if (record?.kind !== 'pipeline' || !Array.isArray(record.pipeline?.nodes))
    throw new InputError(`${file}: not a pipeline record (expected the kind, pipeline and nodes prs writes)`);
  return record;
}

/** Continues a pipeline run: completed nodes keep their outputs; the others run (or resume) again. */
export async function resumePipeline(runDir: string): Promise<PipelineHandle> {
  const abs = path.resolve(runDir);
  const record = await readPipelineRecord(abs);
  if (record.summary?.status === 'completed')
    throw new InputError(`${runDir} already completed; nothing to resume`);
  for (const state of Object.values(record.nodes)) {
    if (state.status !== 'completed') {
      // Ran, or began to: resumed from its own folder. Never started: runs afresh.
      state.status = 'pending';
      delete state.reason;
    }
  }
  record.resumes.push({ at: new Date().toISOString() });
  delete record.summary;
  return execute(record, abs, Date.now());
}

export function isPipelineRunDir(dir: string): boolean {
  return existsSync(path.join(dir, PIPELINE_RECORD));
}

/** Pipeline folders this process is running: the folder lock lets its own holder in again. */
const inProgress = new Set<string>();

async function execute(record: PipelineRecord, runDir: string, startedAt: number): Promise<PipelineHandle> {
  const { pipeline } = record;
  if (inProgress.has(runDir))
    throw new InputError(`${runDir} is in use: this pipeline run is still going in this process`);
  // Another process's run or resume of the same folder is refused, as for a job's run folder.
  const releaseLock = await lockRunFolder(runDir);
  inProgress.add(runDir);
  const release = () => {
    inProgress.delete(runDir);
    return releaseLock();
  };
  const listeners = new Set<(event: PipelineEvent) => void>();
  const emit = (e: PipelineEvent) => listeners.forEach((l) => l(e));
  const logsDir = path.join(runDir, 'logs');
  try {
    await mkdir(logsDir, { recursive: true });
    await mkdir(path.join(runDir, 'jobs'), { recursive: true });
    await writeRecord(runDir, record);
  } catch (err) {
    await release();
    throw new InputError(`cannot start a pipeline run in ${runDir}: ${describeFsError(err)}`);
  }
  const binDir = path.join(runDir, '.prs', 'bin');
  const nodeDir = (name: string) => path.join(runDir, 'jobs', name);
  const outputPath = (b: Extract<Binding, { kind: 'output' }>) => {
    const producer = pipeline.nodes.find((n) => n.name === b.node)!;
    return path.join(nodeDir(b.node), producer.outputs[b.output]!.rel);
  };
  const bindingValue = (b: Binding): string =>
    b.kind === 'literal' ? b.value : b.kind === 'path' ? b.path : outputPath(b);
  const log = (line: string) =>
    writeFile(path.join(logsDir, 'pipeline.txt'), `${logTime()} ${line}\n`, { flag: 'a' }).catch(
      () => undefined,
    );

  const running = new Map<string, { cancel(): void }>();
  const specs = new Map<string, JobSpec>();
  let cancelled = false;
  const save = () => writeRecord(runDir, record).catch(() => undefined);

  const setState = async (name: string, patch: Partial<NodeState>) => {
    Object.assign(record.nodes[name]!, patch);
    emit({ type: 'node', node: name, state: { ...record.nodes[name]! } });
    await save();
  };

  async function runNode(node: PipelineNode): Promise<void> {
    const dir = nodeDir(node.name);
    const began = Date.now();
    await setState(node.name, { status: 'running', startedAt: new Date(began).toISOString() });
    void log(`${node.name} (${node.type}) started`);
    let outcome: Partial<NodeState>;
    try {
      outcome = node.type === 'command' ? await runCommand(node, dir) : await runParallel(node, dir);
    } catch (err) {
      outcome = { status: 'failed', reason: (err as Error).message };
    }
    if (cancelled && outcome.status !== 'completed') outcome.status = 'cancelled';
    const ended = Date.now();
    await setState(node.name, {
      ...outcome,
      endedAt: new Date(ended).toISOString(),
      durationS: (ended - began) / 1000,
    });
    void log(`${node.name} ${outcome.status}${outcome.reason ? `: ${outcome.reason}` : ''}`);
  }

  async function runCommand(node: Extract<PipelineNode, { type: 'command' }>, dir: string) {
    // A rerun starts clean: a half-written output of the failed attempt is not the next one's input.
    await rm(path.join(dir, 'outputs'), { recursive: true, force: true });
    await interpreterBin(binDir, await resolvePython({ spec_path: pipeline.specPath }));
    const run = await runCommandNode(node, dir, binDir, bindingValue);
    running.set(node.name, run);
    const result = await run.done.finally(() => running.delete(node.name));
    const logFile = path.relative(runDir, result.logFile);
    return result.ok
      ? { status: 'completed' as const, logFile }
      : { status: 'failed' as const, reason: result.reason, logFile };
  }

  async function runParallel(node: Extract<PipelineNode, { type: 'parallel' }>, dir: string) {
    let handle: RunHandle;
    if (existsSync(path.join(dir, 'run.json'))) {
      // Begun before: its succeeded mini-batches are kept, the failed ones run again.
      handle = await resumeRun(dir, { retryFailed: true }).catch(async (err: unknown) => {
        if (!(err instanceof InputError)) throw err;
        await rm(dir, { recursive: true, force: true });
        return startNodeRun(node, dir);
      });
    } else {
      await rm(dir, { recursive: true, force: true });
      handle = await startNodeRun(node, dir);
    }
    running.set(node.name, handle);
    emit({ type: 'node-run', node: node.name, handle, spec: specs.get(node.name) ?? null });
    const summary = await handle.done.finally(() => running.delete(node.name));
    // The mini-batch's own error says more than the threshold it broke.
    const first =
      summary.findings.find((f) => f.miniBatchId !== undefined) ??
      summary.findings.find((f) => f.logFile) ??
      summary.findings[0];
    const logFile = path.relative(runDir, path.join(dir, first?.logFile ?? 'logs/job_result.txt'));
    const reason = summary.reason ?? 'the parallel job failed';
    const detail = first?.detail ?? '';
    const cause = detail.startsWith(reason)
      ? detail.slice(reason.length)
      : detail && !reason.includes(detail)
        ? ` ${first!.title}: ${detail}`
        : '';
    return {
      status: summary.status,
      mini_batches: summary.mini_batches,
      items: summary.items,
      logFile,
      ...(summary.status !== 'completed' ? { reason: `${reason}${cause}` } : {}),
    };
  }

  async function startNodeRun(
    node: Extract<PipelineNode, { type: 'parallel' }>,
    dir: string,
  ): Promise<RunHandle> {
    const doc = parallelJobDoc(node, outputPath);
    const loaded = await resolveSpec(doc, node.baseDir, pipeline.specPath);
    if (!loaded.ok) throw new Error(`its job is not valid: ${loaded.problems.join('; ')}`);
    // Its environment_variables apply to its workers as to a command node's process.
    Object.assign(loaded.spec.environment_variables, node.environmentVariables);
    for (const w of loaded.warnings) {
      // Where its outputs lie is the pipeline's business, said once at the start.
      if (/^outputs\.[^:]+\.path: /.test(w)) continue;
      emit({ type: 'notice', message: `jobs.${node.name}: ${w}` });
    }
    specs.set(node.name, loaded.spec);
    return startRun(loaded.spec, {
      runsDir: path.dirname(dir),
      runDir: dir,
      reuse: false,
      pipelineNode: node.name,
    });
  }

  /**
   * Nodes that (through others) read a failed node's outputs never run; unless the pipeline says
   * continue_on_step_failure, no other node starts after a failure either (Azure ML's default).
   */
  function skipDependants(): void {
    const firstFailed = pipeline.nodes.find((n) => record.nodes[n.name]!.status === 'failed')?.name;
    let changed = true;
    while (changed) {
      changed = false;
      for (const n of pipeline.nodes) {
        const state = record.nodes[n.name]!;
        if (state.status !== 'pending') continue;
        const broken =
          n.dependsOn.find((d) => ['failed', 'skipped', 'cancelled'].includes(record.nodes[d]!.status)) ??
          (pipeline.continueOnStepFailure ? undefined : firstFailed);
        if (broken) {
          const b = record.nodes[broken]!;
          state.status = 'skipped';
          state.reason = n.dependsOn.includes(broken)
            ? `not run: jobs.${broken} ${b.status === 'skipped' ? 'did not run' : b.status}`
            : `not run: jobs.${broken} failed (settings.continue_on_step_failure is not true)`;
          emit({ type: 'node', node: n.name, state: { ...state } });
          changed = true;
        }
      }
    }
  }

  const done = (async (): Promise<PipelineSummary> => {
    await new Promise((r) => setImmediate(r));
    for (const n of pipeline.notices) emit({ type: 'notice', message: n });
    await linkPipelineOutputs(runDir, pipeline);
    void log(
      record.resumes.length
        ? `resumed (${record.resumes.length})`
        : `started: ${pipeline.nodes.length} node(s)`,
    );
    const active = new Set<Promise<void>>();
    for (;;) {
      skipDependants();
      if (!cancelled) {
        for (const n of pipeline.nodes) {
          const state = record.nodes[n.name]!;
          if (state.status !== 'pending') continue;
          if (!n.dependsOn.every((d) => record.nodes[d]!.status === 'completed')) continue;
          state.status = 'running'; // taken: not started twice
          const p: Promise<void> = runNode(n).finally(() => active.delete(p));
          active.add(p);
        }
      }
      if (active.size === 0) break;
      await Promise.race(active);
    }
    for (const n of pipeline.nodes) {
      const state = record.nodes[n.name]!;
      if (state.status === 'pending') {
        state.status = 'cancelled';
        state.reason = 'not run: the pipeline was cancelled';
      }
    }
    await save();
    const summary = summarize(record, runDir, startedAt, cancelled);
    record.summary = summary;
    await save();
    await writeFile(path.join(logsDir, 'job_result.txt'), resultText(summary, runDir)).catch(() => undefined);
    recordHistory(record, runDir, summary);
    emit({ type: 'finished', summary });
    return summary;
  })().finally(release);
  recordHistoryStart(record, runDir);

  return {
    runId: record.runId,
    runDir,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    cancel() {
      cancelled = true;
      for (const r of running.values()) r.cancel();
    },
    done,
  };
}

/** outputs/<name> of the pipeline: a link to the node output bound to it, relative so the folder can move. */
async function linkPipelineOutputs(runDir: string, pipeline: PipelineSpec): Promise<void> {
  const outDir = path.join(runDir, 'outputs');
  for (const [name, { node, output }] of Object.entries(pipeline.outputs)) {
    const producer = pipeline.nodes.find((n) => n.name === node)!;
    const target = path.join('..', 'jobs', node, producer.outputs[output]!.rel);
    await mkdir(outDir, { recursive: true });
    await symlink(target, path.join(outDir, name)).catch(() => undefined);
  }
}

function summarize(
  record: PipelineRecord,
  runDir: string,
  startedAt: number,
  cancelled: boolean,
): PipelineSummary {
  const states = record.pipeline.nodes.map((n) => [n.name, record.nodes[n.name]!] as const);
  const mini = { total: 0, succeeded: 0, failed: 0 };
  const items = { succeeded: 0, failed: 0 };
  for (const [, s] of states) {
    if (s.mini_batches) {
      mini.total += s.mini_batches.total;
      mini.succeeded += s.mini_batches.succeeded;
      mini.failed += s.mini_batches.failed;
    }
    if (s.items) {
      items.succeeded += s.items.succeeded;
      items.failed += s.items.failed;
    }
  }
  const failed = states.find(([, s]) => s.status === 'failed');
  const allDone = states.every(([, s]) => s.status === 'completed');
  // A node cancelled on its own (the app's Cancel in its run view) cancels the pipeline too.
  const nodeCancelled = !failed && states.some(([, s]) => s.status === 'cancelled');
  const status: RunSummary['status'] = allDone
    ? 'completed'
    : cancelled || nodeCancelled
      ? 'cancelled'
      : 'failed';
  let reason: string | undefined;
  if (status === 'cancelled') reason = 'Cancelled by the user.';
  else if (failed) {
    const [name, s] = failed;
    reason = `jobs.${name} (${s.type}) failed: ${s.reason ?? 'no cause recorded'}${s.logFile ? ` (log: ${path.join(runDir, s.logFile)})` : ''}`;
  } else if (!allDone) reason = 'some nodes did not run';
  return {
    status,
    exit_code: exitCodeOf(status),
    run_dir: runDir,
    output_file: null,
    mini_batches: mini,
    items,
    duration_s: (Date.now() - startedAt) / 1000,
    ...(reason ? { reason } : {}),
    findings: [],
    ...(record.pipeline.notices.length ? { notices: record.pipeline.notices } : {}),
    jobs: Object.fromEntries(states.map(([n, s]) => [n, { ...s }])),
  };
}

function resultText(summary: PipelineSummary, runDir: string): string {
  const lines = [
    summary.status === 'completed'
      ? 'Pipeline completed.'
      : `Pipeline ${summary.status}: ${summary.reason ?? ''}`,
  ];
  for (const [name, s] of Object.entries(summary.jobs)) {
    const took = s.durationS !== undefined ? ` in ${s.durationS.toFixed(1)} s` : '';
    lines.push(`jobs.${name} (${s.type}): ${s.status}${took}${s.reason ? `: ${s.reason}` : ''}`);
    if (s.logFile && s.status !== 'completed') lines.push(`  log: ${path.join(runDir, s.logFile)}`);
  }
  for (const n of summary.notices ?? []) lines.push(`Notice: ${n}`);
  return lines.join('\n') + '\n';
}

async function writeRecord(runDir: string, record: PipelineRecord): Promise<void> {
  const file = path.join(runDir, PIPELINE_RECORD);
  // Write-then-rename: a kill mid-write leaves the old record, so the run can still be resumed.
  await writeFile(`${file}.tmp`, JSON.stringify(record, null, 2) + '\n');
  await rename(`${file}.tmp`, file);
}

function withHistory(action: (h: History) => void): void {
  let h: History | undefined;
  try {
    h = History.open();
    action(h);
  } catch (err) {
    process.stderr.write(`warning: history index not updated: ${(err as Error).message}\n`);
  } finally {
    h?.close();
  }
}

function recordHistoryStart(record: PipelineRecord, runDir: string): void {
  withHistory((h) =>
    h.recordStart({
      runId: record.runId,
      name: record.name,
      specPath: record.pipeline.specPath,
      runDir,
      startedAt: record.startedAt,
    }),
  );
}

function recordHistory(record: PipelineRecord, runDir: string, summary: RunSummary): void {
  withHistory((h) =>
    h.recordEnd(record.runId, summary, {
      name: record.name,
      specPath: record.pipeline.specPath,
      startedAt: record.startedAt,
    }),
  );
}
