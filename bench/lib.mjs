// Shared benchmark plumbing: temp jobs, timing a command, printing a comparison table.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PRS = path.join(ROOT, 'bin', 'prs.js');

export function tempDir(prefix = 'prs-bench-') {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** n tiny input files data/f000000.txt ... */
export function tinyFiles(dir, n) {
  const data = path.join(dir, 'data');
  mkdirSync(data, { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(path.join(data, `f${String(i).padStart(6, '0')}.txt`), String(i));
  return data;
}

/** Runs a command, returns wall seconds; throws with its output when it fails. */
export function timed(cmd, args, options = {}) {
  const cpu0 = childrenCpuSeconds();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...options });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = childrenCpuSeconds();
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  const cpuSeconds = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
  return { seconds, cpuSeconds, stdout: r.stdout, stderr: r.stderr };
}

/**
 * CPU seconds (user + system) of every process this one has waited for, and of the processes they
 * waited for in turn: a command's whole tree once spawnSync returns. Linux's /proc/self/stat
 * (cutime, cstime, in USER_HZ = 100 ticks a second); null elsewhere. On a shared machine CPU time
 * moves far less than wall time, and it shows what each side costs, not only how long it took.
 */
function childrenCpuSeconds() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

/**
 * "CPU of the whole process tree, median of N rounds: ours 1.60 s, Pool 0.90 s (ours uses 1.78x that)",
 * from sides given as [name, rounds] (each round's `cpu`); null where the CPU was not measured.
 */
export function cpuLine(sides) {
  if (sides.some(([, rounds]) => rounds.some((r) => r.cpu === null || r.cpu === undefined))) return null;
  const medians = sides.map(([name, rounds]) => [name, median(rounds.map((r) => r.cpu))]);
  const ours = medians[0][1];
  const parts = medians.map(([name, cpu], i) =>
    i === 0
      ? `${name} ${cpu.toFixed(2)} s`
      : `${name} ${cpu.toFixed(2)} s (ours uses ${(ours / cpu).toFixed(2)}x that)`,
  );
  return `CPU of the whole process tree (user + system), median of ${sides[0][1].length} rounds: ${parts.join(', ')}`;
}

/**
 * What starting one Node process costs here (best of 5, \`node -e 0\`): every prs command pays it,
 * and a Node-runtime job once more per worker. NODE_EXTRA_CA_CERTS makes Node parse that file at
 * every start; where the environment sets it, the same without it is shown beside.
 */
export function nodeStartLine() {
  const start = (env) =>
    Math.min(...Array.from({ length: 5 }, () => timed(process.execPath, ['-e', '0'], { env }).seconds));
  const here = start(process.env);
  if (!process.env.NODE_EXTRA_CA_CERTS)
    return `one Node process starts in ${(here * 1000).toFixed(0)} ms here`;
  const { NODE_EXTRA_CA_CERTS: _certs, ...without } = process.env;
  return (
    `one Node process starts in ${(here * 1000).toFixed(0)} ms here, ${(start(without) * 1000).toFixed(0)} ms ` +
    `without this environment's NODE_EXTRA_CA_CERTS (${_certs}, read at every start)`
  );
}

/** The --json summary line of a `prs run`. */
export function prsRun(spec, runsDir) {
  const r = timed(process.execPath, [PRS, 'run', spec, '--runs-dir', runsDir, '--json']);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop());
  return { ...r, summary };
}

// Loaded into the leader's process (the CLI) only: at its exit, its own CPU time and peak memory,
// on stderr, for the bench to read (the workers are processes of their own, not counted).
// The peak is /proc/self/status's VmHWM where there is one: getrusage's maxRSS carries over the high
// mark of the process it was forked from (Linux keeps it across exec), so a big benchmark process
// would show as the leader's peak.
const LEADER_PROBE =
  'data:text/javascript,import{readFileSync,writeSync}from"node:fs";process.on("exit",()=>{const u=process.resourceUsage();' +
  'let kb=u.maxRSS;try{kb=Number(/VmHWM:\\s*(\\d+)/.exec(readFileSync("/proc/self/status","utf8"))[1])}catch{}' +
  'writeSync(2,"\\nPRS_LEADER_USAGE "+JSON.stringify({cpuS:(u.userCPUTime+u.systemCPUTime)/1e6,maxRssMB:kb/1024})+"\\n")})';

/** prsRun, and the leader's CPU seconds and peak resident memory (MB) from its own process. */
export function prsRunMeasured(spec, runsDir, nodeArgs = []) {
  const r = timed(process.execPath, [
    ...nodeArgs,
    '--import',
    LEADER_PROBE,
    PRS,
    'run',
    spec,
    '--runs-dir',
    runsDir,
    '--json',
  ]);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop());
  const usage = /PRS_LEADER_USAGE (.*)/.exec(r.stderr);
  return { ...r, summary, leader: usage ? JSON.parse(usage[1]) : null };
}

export function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** rows: [{ name, rate, unit }]; the first row is ours; prints each rate and our ratio to it. */
export function table(rows, unit = 'mini-batches/s') {
  const ours = rows[0];
  for (const row of rows) {
    const ratio = row === ours ? '' : `  ours/this = ${(ours.rate / row.rate).toFixed(2)}x`;
    console.log(`${row.name.padEnd(44)} ${row.rate.toFixed(1).padStart(10)} ${unit}${ratio}`);
  }
}

/** From a run's processed_mini-batches.csv: the span of its mini-batches, and how busy the workers were. */
export function batchSpan(runDir) {
  const csv = readFileSync(
    path.join(runDir, 'logs', 'sys', 'job_report', 'processed_mini-batches.csv'),
    'utf8',
  );
  let first = Infinity;
  let last = 0;
  /** Per process: when its first mini-batch started and ended. */
  const firstStart = {};
  const firstEnd = {};
  const rows = csv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const cells = line.split(',');
      const start = Date.parse(cells[9]);
      return { process: cells[4], start, end: start + Number(cells[10]) * 1000 };
    });
  for (const r of rows) {
    first = Math.min(first, r.start);
    last = Math.max(last, r.end);
    firstStart[r.process] = Math.min(firstStart[r.process] ?? Infinity, r.start);
    firstEnd[r.process] = Math.min(firstEnd[r.process] ?? Infinity, r.end);
  }
  // Every worker running: from the last one's first mini-batch on (workers become ready a little
  // apart; Pool's figure, too, is taken once all its processes are up).
  const allUp = Math.max(...Object.values(firstStart));
  const after = rows.filter((r) => r.start >= allUp);
  const workers = Object.keys(firstStart).length;
  return {
    count: rows.length,
    seconds: (last - first) / 1000,
    allUpRate: after.length / ((last - allUp) / 1000),
    // Share of the workers' time inside mini-batches while all run: what is not is the bridge's
    // (and the machine's) gaps between them. Independent of how fast the CPU happens to be.
    busy: after.reduce((sum, r) => sum + (r.end - r.start), 0) / (workers * (last - allUp)),
    firstEnd,
  };
}

export function runOurs(spec, dir, expected) {
  const r = prsRun(spec, path.join(dir, 'runs'));
  if (r.summary.mini_batches.succeeded !== expected)
    throw new Error(`bench job ${spec} did not complete: ${r.stdout}\n${r.stderr}`);
  const span = batchSpan(r.summary.run_dir);
  return {
    whole: r.seconds,
    cpu: r.cpuSeconds,
    steady: span.seconds,
    allUpRate: span.allUpRate,
    busy: span.busy,
    runDir: r.summary.run_dir,
  };
}

/** Pool over the data folder; the script prints the seconds of imap alone (after the pool started). */
export function runPool(python, script, dir, processes) {
  const r = timed(python, [script, path.join(dir, 'data'), String(processes)]);
  return { whole: r.seconds, cpu: r.cpuSeconds, steady: Number(r.stdout.trim().split('\n').pop()) };
}

export function poolScript(dir, work) {
  const file = path.join(dir, 'pool.py');
  writeFileSync(
    file,
    `import multiprocessing as mp, os, sys, time
${work}
if __name__ == '__main__':
    files = sorted(os.path.join(sys.argv[1], f) for f in os.listdir(sys.argv[1]))
    with mp.Pool(int(sys.argv[2])) as pool:
        pool.map(abs, range(int(sys.argv[2])))  # every process up
        t0 = time.perf_counter()
        out = list(pool.imap_unordered(work, files, chunksize=1))
        print(time.perf_counter() - t0)
    assert len(out) == len(files)
`,
  );
  return file;
}

export const best = (runs, key) => Math.min(...runs.map((r) => r[key]));

/**
 * Ratios of ours to theirs round by round (each pair ran back to back, so a slow spell of the shared
 * machine hits both), and their median: steadier than a ratio of two independent bests.
 */
export function pairedRatios(ours, theirs, key, peer = 'Pool') {
  const ratios = ours.map((o, i) => theirs[i][key] / o[key]);
  return `paired rounds: ours/${peer} ${ratios.map((r) => r.toFixed(2)).join(', ')}; median ${median(ratios).toFixed(2)}x`;
}

/** The middle value (the upper one of an even count). */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Where our time per mini-batch went, from a run's processed_mini-batches.csv: run() alone, the
 * driver's share outside run() (reading the input before it, formatting the returned rows after it),
 * and each worker's idle time between mini-batches (waiting for work: dispatch and commit on the
 * leader's side), as means per mini-batch. Prints it and returns it.
 */
export function breakdown(runDir, phases) {
  const csv = readFileSync(
    path.join(runDir, 'logs', 'sys', 'job_report', 'processed_mini-batches.csv'),
    'utf8',
  );
  const rows = csv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const c = line.split(',');
      const start = Date.parse(c[9]);
      return {
        process: c[4],
        start,
        elapsed: Number(c[10]) * 1000,
        cpu: Number(c[11]) * 1000,
        run: Number(c[12]) * 1000,
      };
    });
  const byProcess = {};
  for (const r of rows) (byProcess[r.process] ??= []).push(r);
  let idle = 0;
  for (const list of Object.values(byProcess)) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++)
      idle += Math.max(0, list[i].start - (list[i - 1].start + list[i - 1].elapsed));
  }
  const n = rows.length;
  const mean = (key) => rows.reduce((s, r) => s + r[key], 0) / n;
  const out = {
    batches: n,
    elapsed: mean('elapsed'),
    run: mean('run'),
    outside: mean('elapsed') - mean('run'),
    cpu: mean('cpu'),
    idle: idle / n,
  };
  const split = phases
    ? ` (of which read ${phases.read.toFixed(1)} ms, output formatting ${phases.format.toFixed(1)} ms, measured alone)`
    : '';
  console.log(
    `   per mini-batch (${n}, means): elapsed ${out.elapsed.toFixed(1)} ms = run() ${out.run.toFixed(1)} ms` +
      ` + driver outside run() ${out.outside.toFixed(1)} ms${split}; worker CPU ${out.cpu.toFixed(1)} ms;` +
      ` idle before the next ${out.idle.toFixed(1)} ms (dispatch, commit)`,
  );
  return out;
}
