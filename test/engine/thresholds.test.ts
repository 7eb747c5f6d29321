// Thresholds beyond the final verdict, through the real CLI and real workers: what counts against
// them (a mini-batch's last attempt, timeouts and crashes included; not an attempt that a retry
// made good), the early stop once one is exceeded, and run_max_try across a resume.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { collect, nodeJob, prs, startPrs, tempDir } from '../helpers';
import { csvAndJournalAttempts, waitFor } from '../resume/kit';

process.env.PRS_DATA_DIR ??= tempDir('prs-data-');

/**
 * What run() does with each input is in ACTIONS (input number -> action). Every call leaves one
 * byte per input in TRACE/f<n>, so a file's size is the number of attempts its input has seen.
 */
const SCRIPT = `
import { appendFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
const ACTIONS = JSON.parse(process.env.ACTIONS ?? '{}');
const forever = () => new Promise(() => setInterval(() => {}, 1000));
export async function run(batch) {
  for (const f of batch) {
    const n = Number(f.match(/f(\\d+)\\.txt$/)[1]);
    const trace = path.join(process.env.TRACE, 'f' + n);
    appendFileSync(trace, 'x');
    const tries = statSync(trace).size;
    const action = ACTIONS[n];
    if (action === 'fail-once' && tries === 1) throw new Error('input ' + n + ' fails its first attempt');
    if (action === 'fail') throw new Error('input ' + n + ' fails');
    if (action === 'crash') process.exit(3);
    if (action === 'hang') await forever();
    // Fails, except that the third attempt hangs until the test has killed the run.
    if (action === 'fail-hang-third') {
      if (tries === 3 && !existsSync(process.env.RESUMED)) await forever();
      throw new Error('input ' + n + ' fails (attempt ' + tries + ')');
    }
  }
  return batch.map((f) => path.basename(f));
}`;

interface Job {
  dir: string;
  specPath: string;
  trace: string;
  runsDir: string;
}

function job(actions: Record<number, string>, spec: Record<string, unknown>, files = 6): Job {
  const dir = tempDir('prs-thresholds-');
  const trace = path.join(dir, 'trace');
  const specPath = nodeJob(dir, {
    script: SCRIPT,
    files,
    spec: {
      mini_batch_size: 1,
      process_count_per_node: 2,
      allow_reuse: false,
      ...spec,
      environment_variables: {
        ACTIONS: JSON.stringify(actions),
        TRACE: trace,
        RESUMED: path.join(dir, 'resumed'),
      },
    },
  });
  mkdirSync(trace);
  return { dir, specPath, trace, runsDir: path.join(dir, 'runs') };
}

async function run(j: Job) {
  return prs(['run', j.specPath, '--runs-dir', j.runsDir, '--json']);
}

/** Attempts run() saw per input number. */
function attemptsSeen(j: Job): Record<number, number> {
  const out: Record<number, number> = {};
  for (const f of readdirSync(j.trace)) out[Number(f.slice(1))] = readFileSync(path.join(j.trace, f)).length;
  return out;
}

describe('what counts against the thresholds', () => {
  it('a failure that succeeds on retry counts against none of them', async () => {
    const j = job(
      { 1: 'fail-once', 4: 'fail-once' },
      { run_max_try: 2, error_threshold: 0, allowed_failed_count: 0, allowed_failed_percent: 0 },
    );
    const r = await run(j);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({
      status: 'completed',
      mini_batches: { total: 6, succeeded: 6, failed: 0 },
      items: { succeeded: 6, failed: 0 },
    });
    expect(attemptsSeen(j)).toEqual({ 0: 1, 1: 2, 2: 1, 3: 1, 4: 2, 5: 1 });
    const { csv } = csvAndJournalAttempts(r.json!.run_dir);
    expect(csv.filter((a) => a.startsWith('1/') || a.startsWith('4/'))).toEqual([
      '1/1/failed',
      '1/2/succeeded',
      '4/1/failed',
      '4/2/succeeded',
    ]);
  });

  it('a timed-out and a crashed mini-batch both count, as mini-batches and as items', async () => {
    const actions = { 0: 'hang', 3: 'crash' };
    const timing = { run_max_try: 1, run_invocation_timeout: 2 };
    const allowed = await run(job(actions, { ...timing, allowed_failed_count: 2, error_threshold: 2 }));
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.json).toMatchObject({
      status: 'completed',
      mini_batches: { total: 6, succeeded: 4, failed: 2 },
      items: { succeeded: 4, failed: 2 },
    });
    const { csv } = csvAndJournalAttempts(allowed.json!.run_dir);
    expect(csv.filter((a) => !a.endsWith('/succeeded'))).toEqual(['0/1/timeout', '3/1/crashed']);

    const byCount = await run(job(actions, { ...timing, allowed_failed_count: 1 }));
    expect(byCount.code).toBe(42);
    expect(byCount.json!.reason).toMatch(/^allowed_failed_count exceeded: 2 failed mini-batch\(es\)/);
    const byItems = await run(job(actions, { ...timing, error_threshold: 1 }));
    expect(byItems.code).toBe(42);
    expect(byItems.json!.reason).toMatch(/^error_threshold exceeded: 2 failed item\(s\)/);
  });
});

describe('the early stop', () => {
  it('once a threshold is exceeded, the mini-batches not yet started are not attempted', async () => {
    // Every input fails; with one worker and allowed_failed_count 0 the first failure ends the job.
    const files = 40;
    const actions = Object.fromEntries(Array.from({ length: files }, (_, i) => [i, 'fail']));
    const j = job(actions, { run_max_try: 1, process_count_per_node: 1, allowed_failed_count: 0 }, files);
    const r = await run(j);
    expect(r.code).toBe(42);
    expect(r.json!.reason).toMatch(/^allowed_failed_count exceeded: 1 failed mini-batch\(es\)/);
    const attempted = Object.keys(attemptsSeen(j)).length;
    expect(attempted).toBeGreaterThanOrEqual(1);
    expect(attempted).toBeLessThan(files);
    const { journal } = csvAndJournalAttempts(r.json!.run_dir);
    expect(journal.length).toBeLessThan(files);
  });
});

describe('run_max_try across a resume', () => {
  it('attempts used before the resume are counted after it', async () => {
    // Input 2 fails twice, then its third attempt hangs: the run is killed there (two failed
    // attempts committed). The resume may try it once more, not run_max_try times.
    const j = job({ 2: 'fail-hang-third' }, { run_max_try: 3, run_invocation_timeout: 600 });
    const child = startPrs(['run', j.specPath, '--runs-dir', j.runsDir, '--json']);
    const result = collect(child);
    const runDir = await waitFor(
      'two committed failed attempts of mini-batch 2 and its third attempt under way',
      () => {
        const d = runDirOf(j);
        if (!d || !existsSync(path.join(d, 'journal.sqlite'))) return undefined;
        if ((attemptsSeen(j)[2] ?? 0) < 3) return undefined;
        return committedAttempts(d, 2) === 2 ? d : undefined;
      },
      60_000,
    );
    child.kill('SIGKILL');
    expect((await result).signal).toBe('SIGKILL');
    writeFileSync(path.join(j.dir, 'resumed'), '');

    const resumed = await prs(['resume', runDir, '--json']);
    expect(resumed.stderr).not.toMatch(/Internal error/);
    expect(resumed.json).toMatchObject({
      status: 'completed',
      mini_batches: { total: 6, succeeded: 5, failed: 1 },
      items: { succeeded: 5, failed: 1 },
    });
    // Three attempts before the kill (the third cut short), one after it.
    expect(attemptsSeen(j)[2]).toBe(4);
    const { journal } = csvAndJournalAttempts(runDir);
    expect(journal.filter((a) => a.startsWith('2/'))).toEqual(['2/1/failed', '2/2/failed', '2/3/failed']);
  });
});

/** The job's one run folder, once there is one. */
function runDirOf(j: Job): string | undefined {
  const base = path.join(j.runsDir, 'test-job');
  const runs = existsSync(base) ? readdirSync(base) : [];
  return runs.length === 1 ? path.join(base, runs[0]!) : undefined;
}

/** Attempt rows the journal has committed for a mini-batch (read while the run goes on). */
function committedAttempts(runDir: string, id: number): number {
  const db = new Database(path.join(runDir, 'journal.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const table = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'attempts'")
      .get();
    if (!table) return 0;
    return (db.prepare('SELECT COUNT(*) n FROM attempts WHERE mini_batch_id = ?').get(id) as { n: number }).n;
  } finally {
    db.close();
  }
}
