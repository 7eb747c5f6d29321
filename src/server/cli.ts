// `prs`: the headless face of the engine (contracts.md §2). Exit codes are a promise to scripts:
// 0 completed, 42 failed, 2 bad spec or usage, 130 cancelled.

import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Progress, RunSummary } from '../common/events';
import { resumeRun, retryAdvice, startRun, type RunHandle } from '../engine/run';
import { InputError } from '../engine/inputError';
import { loadSpec } from '../engine/spec/load';
import { loadPipelineFile } from '../engine/pipeline/load';
import { isPipelineRunDir, resumePipeline, startPipeline } from '../engine/pipeline/run';
import { watchPipeline } from './pipelineView';
import type { ClusterRun } from '../engine/cluster/attach';
import type { JobSpec } from '../common/spec';
import { runPaths } from '../engine/logTree';
import { readRunRecord } from '../engine/resumeChecks';
import { jsonSummary } from './jsonSummary';
import { ProgressView } from './progressBar';
import { UsageError } from './usageError';
import { EXIT } from '../common/exitCodes';

const USAGE = `Usage: prs <command> [options]

  prs run <spec> [--runs-dir DIR] [--json] [--no-reuse]   run a job, or a v2 pipeline (type: pipeline)
      [--cluster redis://[user:pass@]host:port] [--cluster-wait SECONDS] [--data-bind HOST[:PORT]]
                                                          workers on node_count agents of a cluster
  prs run <deployment.yml> --input PATH [--output DIR]    run a batch deployment on PATH
  prs resume <run-dir> [--retry-failed] [--json] [--cluster URL] [--cluster-wait SECONDS] [--data-bind HOST[:PORT]]
                                                          continue an interrupted (or failed) run
  prs validate <spec> [--input PATH]                      check a spec (or a deployment on PATH); exit 0 or 2
  prs export <run-dir> --format csv|jsonl|parquet [--out FILE]
                                                          the run's output in that format (stdout without --out)
  prs serve [--port N] [--host 127.0.0.1] [--runs-dir DIR] [--examples-dir DIR] [--allow-remote]
                                                          start the app's local web host
  prs agent --cluster URL [--name NAME] [--processes auto|N] [--gpus auto|none|0,1] [--work-dir DIR]
                                                          join this machine to a cluster as a node
  prs cluster up --nodes N [--dir DIR] [--processes N] [--port N]
                                                          a local Redis and N agents here (Ctrl-C stops them)
  prs cluster status --cluster URL [--json]               the cluster's nodes
  prs devices                                             CPUs and GPUs the scheduler would use
  prs history [--json]                                    past runs

Exit codes: 0 completed, 42 failed (see logs/job_result.txt), 2 bad spec or usage, 130 cancelled.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return cmdRun(rest);
    case 'resume':
      return cmdResume(rest);
    case 'validate':
      return cmdValidate(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE + '\n');
      return command === undefined ? EXIT.usage : 0;
    default: {
      const extra = await import('./commands');
      const handler = extra.commands[command];
      if (!handler) throw new UsageError(`unknown command "${command}"`);
      return handler(rest);
    }
  }
}

function parse<T extends Record<string, { type: 'string' | 'boolean' }>>(
  args: string[],
  options: T,
  positionals: string[],
  json = false,
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message, json);
  }
  if (parsed.positionals.length !== positionals.length) {
    throw new UsageError(
      `expected ${positionals.map((p) => `<${p}>`).join(' ')}, got ${parsed.positionals.length} argument(s)`,
      json,
    );
  }
  return parsed;
}

async function cmdValidate(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { input: { type: 'string' } }, ['spec']);
  const specPath = path.resolve(positionals[0]!);
  const pipeline = values.input === undefined ? await loadPipelineFile(specPath) : null;
  if (pipeline) {
    if (!pipeline.ok) return refuse(specProblems(specPath, pipeline.problems), false);
    for (const n of pipeline.pipeline.notices) process.stderr.write(`notice: ${n}\n`);
    const kinds = pipeline.pipeline.nodes.map((n) => `${n.name} (${n.type})`).join(', ');
    process.stdout.write(`${specPath}: valid (pipeline ${pipeline.pipeline.name}: ${kinds})\n`);
    return 0;
  }
  const result =
    values.input === undefined
      ? await loadSpec(specPath)
      : await (await import('./deploymentRun')).loadDeployment(specPath, { input: values.input });
  if (!result.ok) return refuse(specProblems(specPath, result.problems), false);
  for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(
    `${specPath}: valid (${result.spec.name}, ${result.spec.runtime} runtime, ${result.spec.input_type} input)\n`,
  );
  return 0;
}

async function cmdRun(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const { values, positionals } = parse(
    args,
    {
      'runs-dir': { type: 'string' },
      json: { type: 'boolean' },
      'no-reuse': { type: 'boolean' },
      input: { type: 'string' },
      output: { type: 'string' },
      cluster: { type: 'string' },
      'cluster-wait': { type: 'string' },
      'data-bind': { type: 'string' },
    },
    ['spec'],
    json,
  );
  const specPath = path.resolve(positionals[0]!);
  // --input makes the file a batch deployment scoring that data (docs/job-spec.md).
  if (values.output !== undefined && values.input === undefined)
    throw new UsageError(
      '--output goes with --input (a batch deployment): a job writes to its run folder',
      json,
    );
  const pipeline = values.input === undefined ? await loadPipelineFile(specPath) : null;
  if (pipeline) {
    if (!pipeline.ok) return refuse(specProblems(specPath, pipeline.problems), json);
    if (values.cluster !== undefined)
      throw new UsageError('--cluster runs one job, not a pipeline: run its parallel steps as jobs', json);
    const started = await startPipeline(pipeline.pipeline, { runsDir: values['runs-dir'] }).catch(
      (err: unknown) => {
        if (err instanceof InputError) return err;
        throw err;
      },
    );
    if (started instanceof InputError) return refuse(`prs run: ${started.message}`, json);
    return watchPipeline(started, json);
  }
  const deployment = values.input === undefined ? undefined : await import('./deploymentRun');
  const loaded = deployment
    ? await deployment.loadDeployment(specPath, { input: values.input! })
    : await loadSpec(specPath);
  if (!loaded.ok) return refuse(specProblems(specPath, loaded.problems), json);
  for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
  const output = values.output === undefined ? undefined : path.resolve(values.output);
  if (output) {
    const why = await deployment!.prepareOutputFolder(output);
    if (why) return refuse(`prs run: --output: ${why}`, json);
  }
  const cluster = await clusterFor(values, loaded.spec, json);
  let handle: RunHandle;
  try {
    handle = await startRun(loaded.spec, {
      runsDir: values['runs-dir'],
      reuse: !values['no-reuse'],
      nodes: cluster?.nodes,
    });
  } catch (err) {
    await cluster?.close();
    if (err instanceof InputError) return refuse(`prs run: ${err.message}`, json);
    throw err;
  }
  cluster?.setRunDir(handle.runDir);
  try {
    return await watch(
      handle,
      json,
      output ? (summary) => deployment!.copyScoreOutput(summary, output) : undefined,
    );
  } finally {
    await cluster?.close();
  }
}

async function clusterFor(
  values: { cluster?: string; 'cluster-wait'?: string; 'data-bind'?: string },
  spec: JobSpec | undefined,
  json: boolean,
): Promise<ClusterRun | undefined> {
  const url = values.cluster;
  if (url === undefined || spec === undefined) {
    for (const option of ['cluster-wait', 'data-bind'] as const)
      if (values[option] !== undefined) throw new UsageError(`--${option} goes with --cluster`, json);
    return undefined;
  }
  const { connectCluster } = await import('./clusterRun');
  return connectCluster(url, values['cluster-wait'], values['data-bind'], spec, json);
}

async function cmdResume(args: string[]): Promise<number> {
  const json = args.includes('--json');
  const { values, positionals } = parse(
    args,
    {
      'retry-failed': { type: 'boolean' },
      json: { type: 'boolean' },
      cluster: { type: 'string' },
      'cluster-wait': { type: 'string' },
      'data-bind': { type: 'string' },
    },
    ['run-dir'],
    json,
  );
  if (isPipelineRunDir(path.resolve(positionals[0]!))) {
    if (values.cluster !== undefined) throw new UsageError('--cluster resumes one job, not a pipeline', json);
    try {
      return await watchPipeline(await resumePipeline(positionals[0]!), json);
    } catch (err) {
      if (err instanceof InputError)
        return refuse(`prs resume: ${err.message}`, json, { runDir: path.resolve(positionals[0]!) });
      throw err;
    }
  }
  let cluster: ClusterRun | undefined;
  let handle: RunHandle;
  try {
    // The cluster sizes the run from the job's node_count: read it from the run folder first.
    const spec =
      values.cluster === undefined
        ? undefined
        : (await readRunRecord(runPaths(path.resolve(positionals[0]!)).runJson)).spec;
    cluster = await clusterFor(values, spec, json);
    handle = await resumeRun(positionals[0]!, {
      retryFailed: !!values['retry-failed'],
      nodes: cluster?.nodes,
    });
  } catch (err) {
    await cluster?.close();
    if (err instanceof InputError)
      return refuse(`prs resume: ${err.message}`, json, { runDir: path.resolve(positionals[0]!) });
    throw err;
  }
  cluster?.setRunDir(handle.runDir);
  try {
    return await watch(handle, json);
  } finally {
    await cluster?.close();
  }
}

function specProblems(specPath: string, problems: string[]): string {
  return `${specPath}: ${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}`;
}

/**
 * Ends a command before any run starts (exit 2 unless told). With --json the last stdout line is
 * still the summary (contracts.md §2): a script reads the same object whatever the exit.
 */
function refuse(
  message: string,
  json: boolean,
  { runDir = null, stderrText = message, exitCode = EXIT.usage }: RefuseOptions = {},
): number {
  if (stderrText) process.stderr.write(stderrText + '\n');
  if (json) {
    const summary = {
      status: 'failed',
      exit_code: exitCode,
      run_dir: runDir,
      output_file: null,
      mini_batches: { total: 0, succeeded: 0, failed: 0 },
      items: { succeeded: 0, failed: 0 },
      duration_s: 0,
      reason: message.replace(/\n\s*/g, ' '),
    };
    process.stdout.write(JSON.stringify(summary) + '\n');
  }
  return exitCode;
}

interface RefuseOptions {
  runDir?: string | null;
  /** What stderr gets, when more than the message (the usage text). */
  stderrText?: string;
  exitCode?: number;
}

/** Follows a run on the terminal until it ends; Ctrl-C or SIGTERM cancels it. */
async function watch(
  handle: RunHandle,
  json: boolean,
  /** Runs once the run has ended; its line joins the report, and a failure of its own exits 42. */
  afterRun?: (summary: RunSummary) => Promise<{ line: string; ok: boolean }>,
): Promise<number> {
  // With --json the last stdout line must be the summary: keep the bar on stderr.
  const out = json ? process.stderr : process.stdout;
  const view = new ProgressView(out, !!out.isTTY);
  view.message(`Run folder: ${handle.runDir}`);
  let last: Progress | null = null;
  handle.subscribe((event) => {
    if (event.type === 'progress') view.update((last = event.progress));
    else if (event.type === 'log' && event.level !== 'INFO') view.message(`${event.level}: ${event.message}`);
  });
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      view.message('Cancelling: stopping workers and flushing logs (press Ctrl-C again to quit at once)...');
      handle.cancel();
    } else {
      // Quitting at once, before the run's own summary: the line says what was known by now
      // (the journal has the rest, for a resume).
      if (json) process.stdout.write(JSON.stringify(quitSummary(handle.runDir, last)) + '\n');
      process.exit(EXIT.cancelled);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const summary = await handle.done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  view.end();
  const after = afterRun ? await afterRun(summary) : undefined;
  if (after && !after.ok && summary.exit_code === EXIT.completed) {
    summary.status = 'failed';
    summary.exit_code = EXIT.failed;
    summary.reason = after.line;
  }
  report(summary, out);
  if (after) out.write(after.line + '\n');
  if (json) process.stdout.write(JSON.stringify(jsonSummary(summary)) + '\n');
  return summary.exit_code;
}

function report(summary: RunSummary, out: NodeJS.WriteStream): void {
  const lines = [`Job ${summary.status} in ${summary.duration_s.toFixed(1)} s.`];
  if (summary.reason && summary.status !== 'completed') lines.push(`Cause: ${summary.reason}`);
  for (const f of summary.findings.slice(0, 5)) {
    lines.push(`- ${f.title}: ${f.detail}`);
    if (f.logFile) lines.push(`  log: ${path.join(summary.run_dir, f.logFile)}`);
    lines.push(`  what to do: ${f.remedy}`);
  }
  for (const notice of summary.notices ?? []) lines.push(`Notice: ${notice}`);
  if (summary.output_file) lines.push(`Output: ${summary.output_file}`);
  if (summary.mini_batches.failed > 0 && summary.status !== 'cancelled')
    lines.push(retryAdvice(summary.run_dir));
  lines.push(`Run folder: ${summary.run_dir}`);
  out.write(lines.join('\n') + '\n');
}

function quitSummary(runDir: string, p: Progress | null) {
  return {
    status: 'cancelled',
    exit_code: EXIT.cancelled,
    run_dir: runDir,
    output_file: null,
    mini_batches: {
      total: p?.total ?? p?.planned ?? 0,
      succeeded: p?.succeeded ?? 0,
      failed: p?.failed ?? 0,
    },
    items: { succeeded: p?.itemsSucceeded ?? 0, failed: p?.itemsFailed ?? 0 },
    duration_s: p?.elapsedS ?? 0,
    reason: 'Cancelled by the user (interrupted twice: quit without waiting for the workers).',
  };
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // parseArgs' own errors (an unknown option, a missing value) are usage errors too.
    const code = (err as NodeJS.ErrnoException)?.code ?? '';
    if (err instanceof UsageError || code.startsWith('ERR_PARSE_ARGS')) {
      const message = `prs: ${(err as Error).message}`;
      const json = err instanceof UsageError && err.json;
      process.exitCode = refuse(message, json, { stderrText: `${message}\n\n${USAGE}` });
    } else if (err instanceof InputError) {
      process.exitCode = refuse(`prs: ${err.message}`, false);
    } else {
      // A fault of prs itself: the stack is for its developers, and a script still gets its line.
      process.exitCode = refuse(
        `internal error: ${(err as Error)?.message ?? String(err)}`,
        process.argv.includes('--json'),
        { stderrText: `prs: ${(err as Error)?.stack ?? String(err)}`, exitCode: 1 },
      );
    }
  },
);
