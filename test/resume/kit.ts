// Plumbing for the kill-and-resume tests: a tabular job whose entry script leaves a trace of every
// run() call, a SIGKILL at a chosen moment, and readers for what the killed run had committed.

import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { collect, startPrs, writeFiles, type PrsResult } from '../helpers';

/**
 * The entry script: every returned row starts with its input row's unique key, so the output can
 * be checked for exactly-once by key. Each run() call appends "<leader pid> <mini-batch id>" to
 * a side file named for the worker's pid. The leader pid is read once at load: a worker whose
 * leader died is re-parented, and must not be counted as the new leader's. With GO_FILE set, run()
 * holds mini-batches from GO_FROM on until that file exists: a test that kills the run once some
 * have been committed makes it before the kill, so the run cannot end first on a machine where the
 * test's polling falls behind.
 */
export const TRACING_SCRIPT = `
import { appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';
const LEADER = process.ppid;
const SIDE = process.env.SIDE_DIR;
const DELAY = Number(process.env.RUN_DELAY_MS ?? '0');
const PAD = 'x'.repeat(Number(process.env.PAD ?? '0'));
export async function run(table, ctx) {
  // GO_FILE: mini-batches from GO_FROM (0 if unset) on wait for that file (25 s at most, within
  // the 30 s run_invocation_timeout).
  const held = process.env.GO_FILE && ctx.miniBatchId >= Number(process.env.GO_FROM ?? '0');
  for (let i = 0; held && !existsSync(process.env.GO_FILE) && i < 1250; i++)
    await new Promise((r) => setTimeout(r, 20));
  if (DELAY > 0) await new Promise((r) => setTimeout(r, DELAY));
  if (process.env.FAIL_MARKER && existsSync(process.env.FAIL_MARKER) && ctx.miniBatchId % 3 === 1)
    throw new Error('marker file present: failing mini-batch ' + ctx.miniBatchId);
  appendFileSync(path.join(SIDE, process.pid + '.txt'), LEADER + ' ' + ctx.miniBatchId + '\\n');
  return table.rows.map((r) => r[0] + ' ' + ctx.miniBatchId + ' ' + PAD);
}
`;

export interface TracedJob {
  dir: string;
  spec: string;
  sideDir: string;
  runsDir: string;
  rows: number;
}

/** A tabular job over one CSV of `rows` rows with unique keys k0..k<rows-1>. */
export function tracedJob(
  dir: string,
  opts: { rows: number; env?: Record<string, string>; spec?: Record<string, unknown>; rowPad?: number },
): TracedJob {
  const sideDir = path.join(dir, 'side');
  const pad = 'v'.repeat(opts.rowPad ?? 0);
  const lines = ['key,value'];
  for (let i = 0; i < opts.rows; i++) lines.push(`k${i},${i}${pad}`);
  writeFiles(dir, {
    'src/score.mjs': TRACING_SCRIPT,
    'data/table.csv': lines.join('\n') + '\n',
    'side/.keep': '',
  });
  const spec = {
    name: 'resume-job',
    entry_script: 'score.mjs',
    source_directory: './src',
    inputs: [{ path: './data/table.csv', type: 'tabular' }],
    mini_batch_size: '1KB',
    process_count_per_node: 3,
    run_invocation_timeout: 30,
    allow_reuse: false,
    environment_variables: { SIDE_DIR: sideDir, ...opts.env },
    ...opts.spec,
  };
  const specPath = path.join(dir, 'job.json');
  writeFileSync(specPath, JSON.stringify(spec, null, 2));
  return { dir, spec: specPath, sideDir, runsDir: path.join(dir, 'runs'), rows: opts.rows };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `test` returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, test: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = test();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The one run folder under runs/<name>/ (the run prints it too, but a killed run may not). */
export function findRunDir(job: TracedJob, name = 'resume-job'): string | undefined {
  const base = path.join(job.runsDir, name);
  if (!existsSync(base)) return undefined;
  const runs = readdirSync(base).sort();
  return runs.length > 0 ? path.join(base, runs[runs.length - 1]!) : undefined;
}

export interface Committed {
  succeeded: Set<number>;
  attempts: number;
  outputEnd: number;
}

/**
 * Opens a journal to read. Read-only first; a leader killed inside its first transaction (before
 * the journal switched to WAL) leaves a hot rollback journal that only a writer may roll back,
 * which is what `prs resume` does too, so then open it as a writer.
 */
function openJournal(file: string): Database.Database {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.prepare('SELECT 1 FROM sqlite_master').get();
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code?.startsWith('SQLITE_READONLY') !== true) throw err;
    return new Database(file, { fileMustExist: true });
  }
}

/** What the journal of a (killed) run had committed. */
export function readJournal(runDir: string): Committed {
  const file = path.join(runDir, 'journal.sqlite');
  if (!existsSync(file)) return { succeeded: new Set(), attempts: 0, outputEnd: 0 };
  const db = openJournal(file);
  try {
    // Killed (or read) before the journal made its table: nothing committed.
    const table = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'attempts'")
      .get();
    if (!table) return { succeeded: new Set(), attempts: 0, outputEnd: 0 };
    const ids = db
      .prepare("SELECT mini_batch_id id FROM attempts WHERE status = 'succeeded'")
      .all() as Array<{
      id: number;
    }>;
    const n = db.prepare('SELECT COUNT(*) n FROM attempts').get() as { n: number };
    const end = db.prepare('SELECT MAX(output_end) e FROM attempts').get() as { e: number | null };
    return { succeeded: new Set(ids.map((r) => r.id)), attempts: n.n, outputEnd: end.e ?? 0 };
  } finally {
    db.close();
  }
}

export interface Trace {
  /** mini-batch ids run (to the point of returning) under each leader pid. */
  byLeader: Map<number, number[]>;
  /** worker pid -> its leader pid. */
  workers: Map<number, number>;
}

export function readTrace(sideDir: string): Trace {
  const byLeader = new Map<number, number[]>();
  const workers = new Map<number, number>();
  for (const f of readdirSync(sideDir)) {
    if (!f.endsWith('.txt')) continue;
    const workerPid = Number(f.slice(0, -4));
    for (const line of readFileSync(path.join(sideDir, f), 'utf8').split('\n')) {
      if (!line) continue;
      const [leader, id] = line.split(' ').map(Number) as [number, number];
      workers.set(workerPid, leader);
      const list = byLeader.get(leader) ?? [];
      list.push(id);
      byLeader.set(leader, list);
    }
  }
  return { byLeader, workers };
}

/** Sizes of the side files, to tell whether anything is still writing them. */
export function sideSizes(sideDir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of readdirSync(sideDir)) out[f] = statSync(path.join(sideDir, f)).size;
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (killed, not yet reaped by whoever inherited it) runs nothing.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Checks the output file: every key exactly once, nothing else. */
export function outputKeys(file: string): { keys: string[]; duplicates: string[] } {
  const keys = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split(' ')[0]!);
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const k of keys) {
    if (seen.has(k)) duplicates.push(k);
    seen.add(k);
  }
  return { keys, duplicates };
}

export function expectedKeys(rows: number): string[] {
  return Array.from({ length: rows }, (_, i) => `k${i}`).sort();
}

export interface Killed {
  runDir: string;
  leaderPid: number;
  committed: Committed;
  /** Bytes in the output file at the kill, committed or not. */
  outputSize: number;
  /** Whether master_role.txt said planning had finished. */
  planDone: boolean;
  stderr: string;
  /** The job's worker processes alive just before the kill. */
  workersAtKill: number;
}

/**
 * Starts `prs run`, waits for `when` to say yes (it gets the run folder), SIGKILLs the CLI
 * process (the leader), and reads what it had committed.
 */
export async function runAndKill(
  job: TracedJob,
  when: (runDir: string) => boolean,
  timeoutMs = 60_000,
): Promise<Killed> {
  const child: ChildProcess = startPrs(['run', job.spec, '--runs-dir', job.runsDir, '--json']);
  const result: Promise<PrsResult> = collect(child);
  let exited = false;
  void result.then(() => (exited = true));
  const runDir = await waitFor(
    'the run folder and the kill condition',
    () => {
      if (exited) throw new Error('prs run finished before the kill');
      const d = findRunDir(job);
      return d && existsSync(path.join(d, 'run.json')) && when(d) ? d : undefined;
    },
    timeoutMs,
  );
  // Frozen at once, then counted, then killed: the scan of /proc for workers takes a while on a
  // loaded machine, and a leader left running meanwhile could finish the commit the kill was
  // meant to interrupt. A stopped process writes nothing more; the SIGKILL then ends it as it is.
  child.kill('SIGSTOP');
  const workersAtKill = jobProcesses(job).length;
  child.kill('SIGKILL');
  const r = await result;
  if (r.signal !== 'SIGKILL') throw new Error(`prs run was not killed: ${r.code} ${r.stderr}`);
  const output = path.join(runDir, 'outputs', 'parallel_run_step.txt');
  const master = path.join(runDir, 'logs', 'sys', 'master_role.txt');
  return {
    runDir,
    leaderPid: child.pid!,
    committed: readJournal(runDir),
    outputSize: existsSync(output) ? statSync(output).size : 0,
    planDone: existsSync(master) && /Created \d+ mini-batch/.test(readFileSync(master, 'utf8')),
    stderr: r.stderr,
    workersAtKill,
  };
}

/** Processes whose environment carries this job's SIDE_DIR: the job's workers, wherever they are. */
export function jobProcesses(job: TracedJob): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (env.split('\0').includes(`SIDE_DIR=${job.sideDir}`) && alive(Number(entry)))
        pids.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

export function resumePrs(
  runDir: string,
  extra: string[] = [],
): { child: ChildProcess; result: Promise<PrsResult> } {
  const child = startPrs(['resume', runDir, '--json', ...extra]);
  return { child, result: collect(child) };
}

/** RFC 4180 records (quoted fields may hold newlines: tracebacks do). */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || record.length > 0) records.push([...record, field]);
  return records;
}

/** "id/attempt/status" of every row of processed_mini-batches.csv, and of the journal, sorted. */
export function csvAndJournalAttempts(runDir: string): { csv: string[]; journal: string[] } {
  const csvText = readFileSync(
    path.join(runDir, 'logs', 'sys', 'job_report', 'processed_mini-batches.csv'),
    'utf8',
  );
  const [header, ...rows] = parseCsv(csvText);
  if (header?.[0] !== 'mini_batch_id')
    throw new Error(`processed_mini-batches.csv header: ${header?.join(',')}`);
  const csv = rows.map((r) => `${r[0]}/${r[1]}/${r[2]}`).sort();
  const db = openJournal(path.join(runDir, 'journal.sqlite'));
  try {
    const journal = (
      db.prepare('SELECT mini_batch_id id, attempt a, status s FROM attempts').all() as Array<{
        id: number;
        a: number;
        s: string;
      }>
    )
      .map((r) => `${r.id}/${r.a}/${r.s}`)
      .sort();
    return { csv, journal };
  } finally {
    db.close();
  }
}
