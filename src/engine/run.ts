// One run, start to finish: the run folder, the log tree, the journal, the leader, and the result
// files. The hosts (CLI, web host, Electron) all start runs through here.

import { existsSync, statSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Finding, RunEvent, RunSummary } from '../common/events';
import { EXIT } from '../common/exitCodes';
import { appendRowFile, type JobSpec } from '../common/spec';
import { inheritedEnv } from './childEnv';
import { CommitError, CommitLog, rebuildProcessedCsv } from './commitLog';
import { Journal, type JournalState } from './journal';
import { bindOutputArgs, createOutputFolders } from './jobOutputs';
import { ForkLauncher, type WorkerLauncher } from './launcher';
import { shareThreads } from './threadShare';
import { Leader, workerConfig } from './leader';
import { localNodes, nodeIds, type RemoteNodes } from './localNodes';
import { oversubscriptionRule } from './leader/policies';
import { detectDevices, resolveProcessCount, schedulerGpus } from './devices';
import { createLogTree, LogFile, logTime, PROCESSED_CSV_COLUMNS, runPaths, type RunPaths } from './logTree';
import { History } from './history';
import { modelRegistryDir } from './spec/modelRegistry';
import { planMiniBatches } from './partition';
import { findReusable, fingerprint, hasReusableCandidate } from './reuse';
import { checkPython, isExecutable, resolvePython } from './python/preflight';
import { createRunFolder } from './runsFolder';
import { lockRunFolder } from './runFolderLock';
import { describeFsError, InputError } from './inputError';
import { checkJournal, readRunRecord } from './resumeChecks';
import type { RunRecord } from './runRecord';
import { readRunMetrics } from './runMetrics';

export interface StartOptions {
  /** Default: runs/ beside the spec file (or the source directory). */
  runsDir?: string;
  launcher?: WorkerLauncher;
  /** The job's nodes are a cluster's agents instead of this machine (prs run --cluster). */
  nodes?: RemoteNodes;
  reuse?: boolean;
  /** A folder of its own instead of <runsDir>/<name>/<run-id>: a pipeline's parallel node (jobs/<node>). */
  runDir?: string;
  /** The node of a pipeline this run is: listed in history as part of the pipeline's run, not alone. */
  pipelineNode?: string;
}

export interface RunHandle {
  readonly runId: string;
  readonly runDir: string;
  /** Live events from now on; returns an unsubscribe function. */
  subscribe(listener: (event: RunEvent) => void): () => void;
  cancel(): void;
  readonly done: Promise<RunSummary>;
}

export type { RunRecord } from './runRecord';

/** Sortable by start time: 20261125T180102123Z-ab12. */
function newRunId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:.]/g, '');
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

export function defaultRunsDir(spec: JobSpec): string {
  return path.join(spec.spec_path ? path.dirname(spec.spec_path) : spec.source_directory, 'runs');
}

export async function startRun(spec: JobSpec, options: StartOptions = {}): Promise<RunHandle> {
  const startedAt = Date.now();
  const runId = newRunId(startedAt);
  const runsDir = path.resolve(options.runsDir ?? defaultRunsDir(spec));
  const runDir = options.runDir ? path.resolve(options.runDir) : path.join(runsDir, spec.name, runId);
  const jobRuns = path.join(runsDir, spec.name);
  // The fingerprint costs a stat per input file: taken before starting only when an earlier
  // completed run could match it; otherwise once the run is over (so it never slows the run), and
  // only if no input changed while it ran. The run folders are not part of what the job depends on.
  const exclude = [runsDir];
  const reusable =
    options.reuse !== false && spec.allow_reuse && (await hasReusableCandidate(jobRuns))
      ? await findReusable(jobRuns, await fingerprint(spec, { exclude }))
      : null;
  await createRunFolder(runsDir, runDir);
  const record: RunRecord = {
    runId,
    name: spec.name,
    spec,
    startedAt: new Date(startedAt).toISOString(),
    environment: hostEnvironment(),
    resumes: [],
    ...(options.pipelineNode ? { pipelineNode: options.pipelineNode } : {}),
  };
  if (reusable) return reuse(record, runDir, reusable, startedAt);
  const fingerprintAfter = () => fingerprint(spec, { exclude, unchangedSince: startedAt });
  const launcher = options.launcher ?? (await defaultLauncher(spec));
  return launch(record, runDir, launcher, startedAt, false, fingerprintAfter, options.nodes);
}

/**
 * allow_reuse: an unchanged job (same script, settings and inputs) gets a run folder of its own
 * that points at the earlier run's outputs; no worker starts.
 */
async function reuse(record: RunRecord, runDir: string, from: string, startedAt: number): Promise<RunHandle> {
  const paths = runPaths(runDir);
  const earlier = JSON.parse(await readFile(path.join(from, 'run.json'), 'utf8')) as RunRecord;
  record.fingerprint = earlier.fingerprint;
  const summary: RunSummary = {
    ...earlier.summary!,
    run_dir: runDir,
    duration_s: (Date.now() - startedAt) / 1000,
    reused_from: from,
    findings: [],
  };
  const listeners = new Set<(event: RunEvent) => void>();
  const done = (async () => {
    await new Promise((r) => setImmediate(r));
    const emit = (event: RunEvent) => listeners.forEach((l) => l(event));
    emit({ type: 'run-started', runId: record.runId, runDir, spec: record.spec, processCount: 0 });
    const message = `Reusing the outputs of ${from}: the entry script, settings and inputs are unchanged since that run (use --no-reuse or allow_reuse: false to run again).`;
    emit({ type: 'log', level: 'WARNING', message });
    await mkdir(paths.logsDir, { recursive: true });
    await writeFile(paths.jobResult, `Job completed (reused).\n${message}\n`);
    record.summary = summary;
    await writeRecord(paths, record);
    withHistory((h) => {
      h.recordStart({
        runId: record.runId,
        name: record.name,
        specPath: record.spec.spec_path,
        runDir,
        startedAt,
      });
      h.recordEnd(record.runId, summary);
    }, record);
    emit({ type: 'finished', summary });
    return summary;
  })();
  return runHandle(record.runId, runDir, listeners, () => undefined, done);
}

function runHandle(
  runId: string,
  runDir: string,
  listeners: Set<(event: RunEvent) => void>,
  cancel: () => void,
  done: Promise<RunSummary>,
): RunHandle {
  return {
    runId,
    runDir,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    cancel,
    done,
  };
}

/** The history index is a convenience: a broken one must never fail a run. */
function withHistory(action: (history: History) => void, record?: RunRecord): void {
  // A pipeline's node is listed through its pipeline's run.
  if (record?.pipelineNode) return;
  let history: History | undefined;
  try {
    history = History.open();
    action(history);
  } catch (err) {
    process.stderr.write(`warning: history index not updated: ${(err as Error).message}\n`);
  } finally {
    history?.close();
  }
}

export interface ResumeOptions {
  retryFailed?: boolean;
  launcher?: WorkerLauncher;
  nodes?: RemoteNodes;
}

export async function resumeRun(runDir: string, options: ResumeOptions = {}): Promise<RunHandle> {
  const paths = runPaths(path.resolve(runDir));
  if (!existsSync(paths.runJson))
    throw new InputError(`${paths.runJson} is missing: ${runDir} is not a run folder`);
  const record = await readRunRecord(paths.runJson);
  const failedMiniBatches = (record.summary?.mini_batches.failed ?? 0) > 0;
  if (record.summary?.status === 'completed' && !(options.retryFailed && failedMiniBatches))
    throw new InputError(
      `${runDir} already completed${failedMiniBatches ? ' (use --retry-failed to run its failed mini-batches again)' : ''}; nothing to resume`,
    );
  // A run that failed for another cause (a full disk, a timeout of the whole job) continues as an
  // interrupted one does; only failed mini-batches need --retry-failed to run again.
  if (record.summary?.status === 'failed' && failedMiniBatches && !options.retryFailed) {
    throw new InputError(`${runDir} failed; use --retry-failed to run its failed mini-batches again`);
  }
  checkJournal(paths.journal);
  record.resumes.push({ at: new Date().toISOString(), retryFailed: !!options.retryFailed });
  delete record.summary;
  return launch(
    record,
    paths.runDir,
    options.launcher ?? (await defaultLauncher(record.spec)),
    Date.now(),
    options.retryFailed,
    undefined,
    options.nodes,
  );
}

/**
 * Worker processes by child_process.fork; Python workers as interpreters started by this process
 * itself (no Node process in between: see inlinePython.ts). Parquet rows, decoded in Node, are
 * decoded in threads of this process for them (a worker process per interpreter did it before: its
 * start, a relay of every message, and interpreters that could not be forked from the fork server).
 */
async function defaultLauncher(spec: JobSpec): Promise<WorkerLauncher> {
  const fork = new ForkLauncher({ spill: true });
  if (spec.runtime !== 'python' || process.platform === 'win32') return fork;
  const { InlinePythonLauncher } = await import('./inlinePython');
  return new InlinePythonLauncher(fork, { spill: true });
}

async function launch(
  record: RunRecord,
  runDir: string,
  launcher: WorkerLauncher,
  startedAt: number,
  retryFailed = false,
  fingerprintAfter?: () => Promise<string | null>,
  remote?: RemoteNodes,
): Promise<RunHandle> {
  const { spec } = record;
  const paths = runPaths(runDir);
  const releaseLock = await lockRunFolder(runDir).catch((err: unknown) => {
    throw err instanceof InputError ? err : cannotStart(runDir, err);
  });
  // The devices (which decide how many workers start, and their GPUs) and the interpreter check
  // take tens of milliseconds of subprocesses each: started now, side by side, they overlap the
  // folder and journal set-up. Workers start once the devices are known; the interpreter check
  // only has to pass before they run any user code (see Leader's preflight).
  const scheduling = schedule(spec);
  scheduling.catch(() => undefined);
  const python = spec.runtime === 'python' ? resolvePython(spec) : undefined;
  python?.catch(() => undefined);
  // The workers' environment, once the devices say how many share this machine's cores.
  const environment = scheduling.then((prepared) => workerEnvironment(spec, paths, prepared, remote));
  environment.catch(() => undefined);
  // The launcher may get ready for the workers now, beside the set-up below: a Python fork server's
  // imports (a third of a second for scikit-learn) then overlap the folder and journal set-up.
  const warming = remote
    ? Promise.resolve()
    : Promise.all([environment, python]).then(async ([{ baseEnv }, interpreter]) => {
        if (interpreter !== undefined && !(await isExecutable(interpreter))) return;
        const [first] = nodeIds(spec);
        launcher.prepare?.({
          name: 'process000',
          env: { ...baseEnv, PRS_NODE_ID: first! },
          cwd: spec.source_directory,
          config: workerConfig(spec, paths, interpreter, 'process000', first!),
        });
      });
  const warmed = warming.catch(() => undefined);
  // The modules a job needs (pandas for tables) are imported by the fork server anyway: the check
  // asks it instead of importing them again beside it (~0.4 s of CPU at start-up).
  const imported = launcher.importFailures?.bind(launcher);
  const preflight = python?.then((p) =>
    checkPython(spec, p, imported && !remote ? (modules) => warmed.then(() => imported(modules)) : undefined),
  );
  preflight?.catch(() => undefined);
  try {
    await createLogTree(paths, nodeIds(spec));
    await writeRecord(paths, record);
  } catch (err) {
    // Whatever the launcher started for the workers goes with the run that cannot start.
    await warmed;
    await launcher.close?.();
    await releaseLock();
    throw cannotStart(runDir, err);
  }

  const listeners = new Set<(event: RunEvent) => void>();
  const emit = (event: RunEvent) => {
    for (const l of listeners) l(event);
  };
  let leader: Leader | null = null;
  let cancelledEarly = false;

  const done = (async (): Promise<RunSummary> => {
    // Subscribers attach after startRun returns: start on the next turn so they see everything.
    await new Promise((r) => setImmediate(r));
    const summary = await execute()
      .catch((err: unknown) => brokenRunSummary(err, paths, record, startedAt))
      .finally(async () => {
        // Every worker has ended: what the launcher kept for them (a fork server) goes now.
        await launcher.close?.();
        await releaseLock();
      });
    withHistory(
      (h) =>
        h.recordEnd(record.runId, summary, {
          name: record.name,
          specPath: spec.spec_path,
          startedAt: record.startedAt,
        }),
      record,
    );
    emit({ type: 'finished', summary });
    return summary;
  })();

  async function execute(): Promise<RunSummary> {
    const prepared = await scheduling;
    // Never after the launcher is closed (at the end of this run, however it ends).
    await warmed;
    if (remote) {
      // The agents' devices decide, not this machine's: each agent gives its workers their GPUs.
      prepared.processCount = remote.capacity;
      prepared.gpus = [];
      prepared.environment.processCount = remote.capacity;
    }
    Object.assign(record.environment, prepared.environment);
    emit({ type: 'run-started', runId: record.runId, runDir, spec, processCount: prepared.processCount });
    // No interpreter at all: no worker could start; the check says why.
    const interpreter = await python;
    if (interpreter !== undefined && !(await isExecutable(interpreter))) {
      const check = await preflight!;
      if (!check.ok) prepared.findings.push(...check.findings);
    }
    if (prepared.findings.length > 0 || cancelledEarly) {
      const summary = earlySummary(spec, paths, startedAt, cancelledEarly ? null : prepared.findings);
      await writeResults(paths, summary, 'No mini-batch ran.\n');
      record.summary = summary;
      await writeRecord(paths, record);
      return summary;
    }
    await writeRecord(paths, record);

    let journal: Journal;
    try {
      journal = new Journal(paths.journal);
    } catch (err) {
      throw new RunFileError(paths.journal, err);
    }
    const resumed: JournalState | undefined = record.resumes.length > 0 ? journal.state() : undefined;
    if (resumed) await rebuildProcessedCsv(paths.processedCsv, journal);
    const csvExists = existsSync(paths.processedCsv);
    const csv = new LogFile(paths.processedCsv);
    if (!csvExists) csv.write(PROCESSED_CSV_COLUMNS.join(',') + '\n');
    await createOutputFolders(spec.outputs, paths.outputsDir);
    const outputFile = spec.output_action === 'append_row' ? path.join(runDir, appendRowFile(spec)) : null;
    const commits = await CommitLog.open(journal, csv, outputFile, resumed?.outputEnd ?? 0);

    // run.json records which process had which GPU, replacements included.
    const gpuAssignments: Record<string, number | null> = {};
    record.environment.gpuAssignments = gpuAssignments;
    listeners.add((e) => {
      if (e.type === 'worker') gpuAssignments[e.worker.name] = e.worker.gpu;
    });
    const planning = new AbortController();
    const { baseEnv, threadsPerWorker } = await environment;
    if (threadsPerWorker !== undefined) record.environment.threadsPerWorker = threadsPerWorker;
    const { pools, startMonitors, stopMonitors } = localNodes({
      spec,
      paths,
      launcher,
      processCountPerNode: prepared.processCount,
      gpus: prepared.gpus,
      python: interpreter,
      baseEnv,
      emit,
      remote,
    });
    leader = new Leader({
      spec,
      paths,
      pools,
      plan: planMiniBatches(spec, { signal: planning.signal }),
      commits,
      emit,
      preflight: preflight?.then((check) => {
        if (check.ok) record.environment.python = { executable: check.python, version: check.version };
        return check;
      }),
      resumed,
      retryFailed,
      startedAt,
      // Only this machine's workers compete for its cores.
      warnings: [
        remote
          ? null
          : oversubscriptionRule.check({
              nodes: pools.length,
              processCountPerNode: prepared.processCount,
              cores: os.availableParallelism(),
            }),
      ].filter((w): w is string => w !== null),
    });
    if (resumed) {
      const last = record.resumes[record.resumes.length - 1]!;
      new LogFile(paths.masterRole).write(
        `${logTime()} INFO Resumed at ${last.at}${last.retryFailed ? ' (--retry-failed)' : ''}.\n`,
      );
    }
    startMonitors();
    leader.start();
    // After the workers were started: the history index is bookkeeping, not on the way to them.
    withHistory(
      (h) =>
        h.recordStart({
          runId: record.runId,
          name: record.name,
          specPath: spec.spec_path,
          runDir,
          startedAt: record.startedAt,
        }),
      record,
    );
    const summary = await leader.done;
    if (spec.runtime === 'python' && launcher.describe)
      record.environment.pythonWorkers = launcher.describe();
    // Results that arrived after a failed commit were never written: count what the journal holds.
    if (commits.error) countCommitted(summary, journal);
    // A run that ended before its plan did (a failure, a cancel) stops reading the inputs.
    planning.abort();
    let closingError: unknown = null;
    const noteClosing = (err: unknown) => void (closingError ??= err);
    const closing = Promise.all([
      stopMonitors(),
      writeResults(paths, summary, leader.failureLog.jobErrorText()).catch(noteClosing),
      leader.close(),
      csv.close(),
    ]);
    record.summary = summary;
    // What allow_reuse compares a later run of this job with; none when an input changed meanwhile.
    // (A stat per input file: skipped for jobs that opted out of reuse.)
    if (fingerprintAfter && summary.status === 'completed' && spec.allow_reuse) {
      record.fingerprint = (await fingerprintAfter().catch(() => null)) ?? undefined;
    }
    // What the script logged, read once the workers are gone (what shutdown() logs counts too), into
    // the summary: the 'finished' event carries it to the app, run.json keeps it. run.json is
    // written even when closing failed.
    const recorded = closing
      .then(async () => {
        const metrics = await readRunMetrics(path.dirname(paths.metricsDir('0')));
        if (metrics) summary.logged_metrics = metrics;
      })
      .catch(() => undefined)
      .then(() => writeRecord(paths, record).catch(noteClosing));
    await Promise.all([closing, recorded]);
    if (closingError) {
      failClosing(summary, closingError);
      // Said in the files too, where there is room for them now.
      await writeResults(paths, summary, leader.failureLog.jobErrorText()).catch(() => undefined);
      await writeRecord(paths, record).catch(() => undefined);
    }
    journal.close();
    return summary;
  }

  const cancel = () => {
    if (leader) leader.cancel();
    else cancelledEarly = true;
  };
  return runHandle(record.runId, runDir, listeners, cancel, done);
}

/** Every worker's environment before its GPU and name, and how many BLAS threads each gets. */
function workerEnvironment(
  spec: JobSpec,
  paths: RunPaths,
  prepared: Scheduled,
  remote: RemoteNodes | undefined,
): { baseEnv: Record<string, string>; threadsPerWorker?: number | string } {
  const baseEnv = workerBaseEnv(spec, paths.outputsDir);
  // An agent's workers share its cores, not this machine's: the agent decides there.
  if (remote) return { baseEnv };
  const threads = shareThreads(baseEnv, prepared.processCount * nodeIds(spec).length);
  return { baseEnv, threadsPerWorker: threads ?? 'as set in the environment' };
}

interface Scheduled {
  findings: Finding[];
  environment: Record<string, unknown>;
  processCount: number;
  gpus: number[];
}

/** How many workers start, and which GPUs they may take. */
async function schedule(spec: JobSpec): Promise<Scheduled> {
  const env = { ...inheritedEnv(), ...spec.environment_variables };
  const devices = await detectDevices(env, {
    skipGpus: spec.gpus === 'none',
    // Only a spec that names GPUs fails without them; then the note says why none were found.
    explainMissingDriver: Array.isArray(spec.gpus),
  });
  const { gpus, problems } = schedulerGpus(devices, spec.gpus);
  const processCount = resolveProcessCount(spec.process_count_per_node, devices, gpus);
  const findings: Finding[] = problems.map((p) => ({
    kind: 'environment',
    title: 'A GPU named in the spec is not available',
    detail: p,
    remedy: 'Name GPUs that `prs devices` lists, or use `gpus: auto`.',
  }));
  return {
    findings,
    environment: { devices, gpus, processCount },
    processCount,
    gpus,
  };
}

function earlySummary(
  spec: JobSpec,
  paths: RunPaths,
  startedAt: number,
  findings: Finding[] | null,
): RunSummary {
  const cancelled = findings === null;
  return {
    status: cancelled ? 'cancelled' : 'failed',
    exit_code: cancelled ? EXIT.cancelled : EXIT.failed,
    run_dir: paths.runDir,
    output_file: null,
    mini_batches: { total: 0, succeeded: 0, failed: 0 },
    items: { succeeded: 0, failed: 0 },
    duration_s: (Date.now() - startedAt) / 1000,
    reason: cancelled ? 'Cancelled by the user.' : `${findings[0]!.title}. ${findings[0]!.detail}`,
    findings: findings ?? [],
  };
}

/** The environment every worker of a job starts with, before its GPU (also the app's "Shell here"). */
export function workerBaseEnv(spec: JobSpec, outputsDir?: string): Record<string, string> {
  const env = inheritedEnv();
  // ${{outputs.x}} in a value is that output's path in this run folder, as in arguments (a batch
  // deployment's AZUREML_BI_OUTPUT_PATH); without a run folder the value stays as written.
  for (const [name, value] of Object.entries(spec.environment_variables))
    env[name] = outputsDir ? bindOutputArgs([value], spec.outputs, outputsDir)[0]! : value;
  // Hard crashes of Python code leave a traceback (reference: "Unhandled Exceptions").
  env.PYTHONFAULTHANDLER ??= '1';
  env.PYTHONUNBUFFERED = '1';
  for (const side of spec.side_inputs)
    env[`PRS_SIDE_INPUT_${side.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] = side.path;
  // Run.register_model and Model.get_model_path share the local model registry of the data folder.
  env.PRS_MODEL_REGISTRY ??= modelRegistryDir();
  // Azure ML v2 scripts find their one model's folder here (a file model: the folder holding it).
  const models = Object.values(spec.models);
  if (models.length === 1)
    env.AZUREML_MODEL_DIR = statSync(models[0]!).isDirectory() ? models[0]! : path.dirname(models[0]!);
  return env;
}

function hostEnvironment(): Record<string, unknown> {
  return {
    host: os.hostname(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    cpus: os.availableParallelism(),
    memoryBytes: os.totalmem(),
  };
}

async function writeRecord(paths: RunPaths, record: RunRecord): Promise<void> {
  // Write-then-rename: a kill mid-write must leave the old run.json, never half of one, or the
  // run could not be resumed.
  const tmp = `${paths.runJson}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(record, null, 2) + '\n');
    await rename(tmp, paths.runJson);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new RunFileError(paths.runJson, err);
  }
}

function countCommitted(summary: RunSummary, journal: Journal): void {
  try {
    const { succeeded } = journal.state();
    summary.mini_batches.succeeded = succeeded.size;
    summary.items.succeeded = [...succeeded.values()].reduce((n, s) => n + s.itemsSucceeded, 0);
  } catch {
    // The journal cannot be read either: the leader's counts are all there is.
  }
}

/** The run folder's first files (lock, log tree, run.json) cannot be written: nothing ran. */
function cannotStart(runDir: string, err: unknown): InputError {
  const file = (err as NodeJS.ErrnoException)?.path;
  const what =
    err instanceof RunFileError
      ? err.message
      : `${file ? `cannot write ${file}: ` : ''}${describeFsError(err)}`;
  return new InputError(`cannot start a run in ${runDir}: ${what}`);
}

/** A run's own file that could not be written, named: "cannot write <file>: the disk is full (ENOSPC)". */
class RunFileError extends Error {
  constructor(
    readonly file: string,
    override readonly cause: unknown,
  ) {
    super(`cannot write ${file}: ${describeFsError(cause)}`);
  }
}

/**
 * The results are in, but a closing file (job_result.txt, run.json) is not: the run failed, so
 * that `prs resume` (which runs nothing committed again) gets to write them once there is room.
 */
function failClosing(summary: RunSummary, err: unknown): void {
  const message =
    err instanceof RunFileError ? err.message : `cannot finish the run: ${describeFsError(err)}`;
  summary.reason = summary.status === 'failed' && summary.reason ? `${summary.reason}; ${message}` : message;
  summary.status = 'failed';
  summary.exit_code = EXIT.failed;
}

/**
 * A run that broke off (a file it could not create or write, a fault of the engine): a failed
 * summary with the cause in words, written where it still can be, instead of a rejected run that
 * hosts would show as a stack trace. The stack goes to logs/sys/error/ as ParallelRunStep keeps it.
 */
async function brokenRunSummary(
  err: unknown,
  paths: RunPaths,
  record: RunRecord,
  startedAt: number,
): Promise<RunSummary> {
  const reason =
    err instanceof RunFileError || err instanceof CommitError
      ? err.message
      : (err as NodeJS.ErrnoException)?.code
        ? `the run broke off: ${describeFsError(err)}`
        : `internal error: ${(err as Error)?.message ?? String(err)}`;
  const summary: RunSummary = {
    status: 'failed',
    exit_code: EXIT.failed,
    run_dir: paths.runDir,
    output_file: null,
    mini_batches: { total: 0, succeeded: 0, failed: 0 },
    items: { succeeded: 0, failed: 0 },
    duration_s: (Date.now() - startedAt) / 1000,
    reason,
    findings: [],
  };
  await appendFile(
    path.join(paths.sysErrorDir, 'leader.txt'),
    `${logTime()} ${(err as Error)?.stack ?? String(err)}\n`,
  ).catch(() => undefined);
  await writeResults(paths, summary, '').catch(() => undefined);
  record.summary = summary;
  await writeRecord(paths, record).catch(() => undefined);
  return summary;
}

async function writeResults(paths: RunPaths, summary: RunSummary, jobErrorText: string): Promise<void> {
  // The result first: on a nearly full disk it is the file a user opens.
  for (const [file, text] of [
    [paths.jobResult, jobResultText(summary, paths)],
    [paths.jobError, jobErrorText],
  ] as const) {
    try {
      await writeFile(file, text);
    } catch (err) {
      throw new RunFileError(file, err);
    }
  }
}

/** The command that runs a run's failed mini-batches again, for a person to copy. */
export function retryAdvice(runDir: string): string {
  return `To run the failed mini-batches again: prs resume ${shellQuote(runDir)} --retry-failed`;
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function jobResultText(summary: RunSummary, paths: RunPaths): string {
  const mb = summary.mini_batches;
  const counts =
    `Mini-batches: ${mb.succeeded} succeeded, ${mb.failed} failed, of ${mb.total}. ` +
    `Items: ${summary.items.succeeded} succeeded, ${summary.items.failed} failed. Duration ${summary.duration_s.toFixed(1)} s.` +
    (summary.notices ?? []).map((n) => `\nNotice: ${n}`).join('');
  if (summary.status === 'completed') {
    return (
      `Job completed.\n${counts}\n` +
      (summary.output_file ? `Output: ${path.relative(paths.runDir, summary.output_file)}\n` : '') +
      (mb.failed > 0
        ? `Some mini-batches failed within the allowed thresholds; see job_error.txt.\n${retryAdvice(paths.runDir)}\n`
        : '')
    );
  }
  const lines = [`Job ${summary.status}: ${summary.reason ?? ''}`, counts];
  const first: Finding | undefined =
    summary.findings.find((f) => f.miniBatchId !== undefined) ?? summary.findings[0];
  if (first) {
    lines.push(`First cause: ${first.title}. ${first.detail}`);
    if (first.miniBatchId !== undefined)
      lines.push(`Mini-batch: ${first.miniBatchId}${first.process ? ` on ${first.process}` : ''}`);
    if (first.logFile) lines.push(`Open: ${first.logFile}`);
    lines.push(`What to do: ${first.remedy}`);
  }
  return lines.join('\n') + '\n';
}
