// `prs`: the headless face of the engine (contracts.md §2). Exit codes are a promise to scripts:
// 0 completed, 42 failed, 2 bad spec or usage, 130 cancelled.

import path from 'node:path';
import { parseArgs } from 'node:util';
import type { RunSummary } from '../common/events';
import { resumeRun, startRun, type RunHandle } from '../engine/run';
import { loadSpec } from '../engine/spec/load';
import { ProgressView } from './progressBar';
import { UsageError } from './usageError';

const EXIT = { completed: 0, failed: 42, usage: 2, cancelled: 130 } as const;

const USAGE = `Usage: prs <command> [options]

  prs run <spec> [--runs-dir DIR] [--json] [--no-reuse]   run a job
  prs resume <run-dir> [--retry-failed] [--json]          continue an interrupted (or failed) run
  prs validate <spec>                                     check a spec; exit 0 or 2
  prs serve [--port N] [--host 127.0.0.1] [--runs-dir DIR] [--examples-dir DIR] [--allow-remote]
                                                          start the app's local web host
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
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.positionals.length !== positionals.length) {
    throw new UsageError(
      `expected ${positionals.map((p) => `<${p}>`).join(' ')}, got ${parsed.positionals.length} argument(s)`,
    );
  }
  return parsed;
}

async function cmdValidate(args: string[]): Promise<number> {
  const { positionals } = parse(args, {}, ['spec']);
  const specPath = path.resolve(positionals[0]!);
  const result = await loadSpec(specPath);
  if (!result.ok) {
    process.stderr.write(
      `${specPath}: ${result.problems.length} problem(s):\n${result.problems.map((p) => `  ${p}`).join('\n')}\n`,
    );
    return EXIT.usage;
  }
  for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(
    `${specPath}: valid (${result.spec.name}, ${result.spec.runtime} runtime, ${result.spec.input_type} input)\n`,
  );
  return 0;
}

async function cmdRun(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { 'runs-dir': { type: 'string' }, json: { type: 'boolean' }, 'no-reuse': { type: 'boolean' } },
    ['spec'],
  );
  const specPath = path.resolve(positionals[0]!);
  const loaded = await loadSpec(specPath);
  if (!loaded.ok) {
    process.stderr.write(
      `${specPath}: ${loaded.problems.length} problem(s):\n${loaded.problems.map((p) => `  ${p}`).join('\n')}\n`,
    );
    return EXIT.usage;
  }
  for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
  const handle = await startRun(loaded.spec, { runsDir: values['runs-dir'], reuse: !values['no-reuse'] });
  return watch(handle, !!values.json);
}

async function cmdResume(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { 'retry-failed': { type: 'boolean' }, json: { type: 'boolean' } },
    ['run-dir'],
  );
  let handle: RunHandle;
  try {
    handle = await resumeRun(positionals[0]!, { retryFailed: !!values['retry-failed'] });
  } catch (err) {
    process.stderr.write(`prs resume: ${(err as Error).message}\n`);
    return EXIT.usage;
  }
  return watch(handle, !!values.json);
}

/** Follows a run on the terminal until it ends; Ctrl-C or SIGTERM cancels it. */
async function watch(handle: RunHandle, json: boolean): Promise<number> {
  // With --json the last stdout line must be the summary: keep the bar on stderr.
  const out = json ? process.stderr : process.stdout;
  const view = new ProgressView(out, !!out.isTTY);
  view.message(`Run folder: ${handle.runDir}`);
  handle.subscribe((event) => {
    if (event.type === 'progress') view.update(event.progress);
    else if (event.type === 'log' && event.level !== 'INFO') view.message(`${event.level}: ${event.message}`);
  });
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts === 1) {
      view.message('Cancelling: stopping workers and flushing logs (press Ctrl-C again to quit at once)...');
      handle.cancel();
    } else process.exit(EXIT.cancelled);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const summary = await handle.done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  view.end();
  report(summary, out);
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
  lines.push(`Run folder: ${summary.run_dir}`);
  out.write(lines.join('\n') + '\n');
}

/** The --json object of contracts.md §2, key for key. */
export function jsonSummary(s: RunSummary) {
  return {
    status: s.status,
    exit_code: s.exit_code,
    run_dir: s.run_dir,
    output_file: s.output_file,
    mini_batches: s.mini_batches,
    items: s.items,
    duration_s: s.duration_s,
    ...(s.reason ? { reason: s.reason } : {}),
    ...(s.reused_from ? { reused_from: s.reused_from } : {}),
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
      process.stderr.write(`prs: ${(err as Error).message}\n\n${USAGE}\n`);
      process.exitCode = EXIT.usage;
    } else {
      process.stderr.write(`prs: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
