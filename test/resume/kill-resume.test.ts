// `prs run` killed with SIGKILL at several moments, then `prs resume`: the job finishes, every
// input row's output line is in the output file exactly once, mini-batches the killed run had
// committed do not run again, the killed leader's workers do not outlive it, and the log tree
// says the run was resumed.

import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers';
import {
  alive,
  csvAndJournalAttempts,
  jobProcesses,
  expectedKeys,
  outputKeys,
  readJournal,
  readTrace,
  resumePrs,
  runAndKill,
  sideSizes,
  sleep,
  tracedJob,
  waitFor,
  type Killed,
  type TracedJob,
} from './kit';

// Runs record themselves in the history index: keep that out of the user's data folder.
process.env.PRS_DATA_DIR ??= tempDir('prs-data-');

/** The killed leader's workers exit (they follow the IPC channel) and write nothing afterwards. */
async function expectNoOrphans(job: TracedJob, killed: Killed, hadWorkers = true): Promise<void> {
  // Otherwise the check below could not fail.
  if (hadWorkers) expect(killed.workersAtKill).toBeGreaterThan(0);
  await waitFor(
    'the killed leader’s workers to exit',
    () => (jobProcesses(job).length === 0 ? true : undefined),
    30_000,
  );
  const before = sideSizes(job.sideDir);
  await sleep(300);
  expect(sideSizes(job.sideDir)).toEqual(before);
  const trace = readTrace(job.sideDir);
  for (const [pid, leader] of trace.workers) if (leader === killed.leaderPid) expect(alive(pid)).toBe(false);
}

/** Resumes the killed run and checks everything the resume promises. */
async function resumeAndCheck(job: TracedJob, killed: Killed, runDir = killed.runDir): Promise<void> {
  const { child, result } = resumePrs(runDir);
  const r = await result;
  expect(r.stderr).not.toMatch(/Internal error/);
  expect(r.code, r.stderr).toBe(0);
  const s = r.json!;
  expect(s.status).toBe('completed');
  expect(s.run_dir).toBe(runDir);
  expect(s.mini_batches.failed).toBe(0);
  expect(s.mini_batches.succeeded).toBe(s.mini_batches.total);
  expect(s.items).toEqual({ succeeded: job.rows, failed: 0 });

  // Exactly once: the set of keys is the input's, and no key twice.
  const out = outputKeys(path.join(runDir, 'outputs', 'parallel_run_step.txt'));
  expect(out.duplicates).toEqual([]);
  expect(out.keys.length).toBe(job.rows);
  expect([...out.keys].sort()).toEqual(expectedKeys(job.rows));

  // Nothing committed before the kill ran again; everything else ran under the resume.
  const trace = readTrace(job.sideDir);
  const rerun = (trace.byLeader.get(child.pid!) ?? []).filter((id) => killed.committed.succeeded.has(id));
  expect(rerun).toEqual([]);
  const ranAfter = new Set(trace.byLeader.get(child.pid!) ?? []);
  for (let id = 0; id < s.mini_batches.total; id++)
    expect(killed.committed.succeeded.has(id) || ranAfter.has(id), `mini-batch ${id}`).toBe(true);

  // The log tree and run.json record the resume.
  const master = readFileSync(path.join(runDir, 'logs', 'sys', 'master_role.txt'), 'utf8');
  expect(master).toMatch(/Resumed at \d{4}-\d\d-\d\dT/);
  expect(master).toContain(`Resuming: ${killed.committed.succeeded.size} mini-batch(es) already succeeded`);
  const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as {
    resumes: Array<{ at: string; retryFailed: boolean }>;
    summary: { status: string };
  };
  expect(record.resumes).toHaveLength(1);
  expect(record.resumes[0]!.retryFailed).toBe(false);
  expect(record.summary.status).toBe('completed');
  expect(readFileSync(path.join(runDir, 'logs', 'job_result.txt'), 'utf8')).toMatch(/^Job completed\./);
  // The journal agrees: every mini-batch succeeded once; and processed_mini-batches.csv has a
  // row for every attempt in the journal, including those whose row the kill cut off.
  expect(readJournal(runDir).succeeded.size).toBe(s.mini_batches.total);
  const attempts = csvAndJournalAttempts(runDir);
  expect(attempts.csv).toEqual(attempts.journal);
}

describe('prs resume after SIGKILL', () => {
  it('mid-run: finishes, exactly once, no re-runs, no orphans', async () => {
    // Mini-batches from 40 (of some 90) on wait for the go file, made after the kill: the kill
    // lands while mini-batches 8 to 39 still run, never after the run has ended.
    const dir = tempDir();
    const go = path.join(dir, 'go');
    const job = tracedJob(dir, {
      rows: 3000,
      rowPad: 20,
      env: { RUN_DELAY_MS: '40', GO_FILE: go, GO_FROM: '40' },
    });
    const killed = await runAndKill(job, (d) => readJournal(d).succeeded.size >= 8);
    expect(killed.committed.succeeded.size).toBeGreaterThanOrEqual(8);
    await expectNoOrphans(job, killed);
    writeFileSync(go, '');
    await resumeAndCheck(job, killed);
  });

  it('during partitioning of a large table: the plan is rebuilt with the same ids', async () => {
    // ~10 MB of CSV in 2 KB mini-batches: planning is far from done when the kill lands.
    const job = tracedJob(tempDir(), {
      rows: 200_000,
      rowPad: 40,
      spec: { mini_batch_size: '2KB', process_count_per_node: 2 },
      env: { RUN_DELAY_MS: '2' },
    });
    const killed = await runAndKill(job, (d) => readJournal(d).succeeded.size >= 3);
    expect(killed.planDone).toBe(false);
    await expectNoOrphans(job, killed);
    await resumeAndCheck(job, killed);
  }, 180_000);

  it('before anything was committed', async () => {
    // Nothing can be committed before the kill: every run() waits for the go file, made only after
    // it (a loaded machine could otherwise commit a first mini-batch before the kill lands).
    const dir = tempDir();
    const go = path.join(dir, 'go');
    const job = tracedJob(dir, { rows: 2000, rowPad: 20, env: { RUN_DELAY_MS: '20', GO_FILE: go } });
    // As soon as run.json exists: the journal may not even have its table yet.
    const killed = await runAndKill(job, () => true);
    expect(killed.committed.succeeded.size).toBe(0);
    await expectNoOrphans(job, killed, false);
    writeFileSync(go, '');
    await resumeAndCheck(job, killed);
  });

  it('while output is being written: the uncommitted tail is cut off, not duplicated', async () => {
    // Mini-batches of ~100 rows, each output line 1 KB: every commit group writes some hundred KB
    // and fdatasyncs before its journal row, so kills land inside that window. The workers are
    // paced (20 ms a mini-batch, ~300 mini-batches) so that they are still running when the
    // condition is met: the kill must also be checked for orphans, and the last commit overlaps
    // the workers' shutdown, so an unpaced job meets the condition only after they have stopped.
    // Several kill points; the check is exactly-once every time, and at least one kill must have
    // caught an uncommitted tail.
    let caughtTail = 0;
    for (const after of [5, 20, 60]) {
      const job = tracedJob(tempDir(), {
        rows: 30_000,
        rowPad: 10,
        env: { PAD: '1000', RUN_DELAY_MS: '20' },
      });
      // Kill the moment the output file holds bytes the journal has not committed yet.
      const killed = await runAndKill(job, (d) => {
        const out = path.join(d, 'outputs', 'parallel_run_step.txt');
        if (!existsSync(out)) return false;
        const j = readJournal(d);
        // ... while the workers run, so that the orphan check below has workers to check. The
        // size is compared last, just before runAndKill freezes the leader.
        return j.succeeded.size >= after && jobProcesses(job).length > 0 && statSync(out).size > j.outputEnd;
      });
      if (killed.outputSize > killed.committed.outputEnd) caughtTail++;
      expect(killed.outputSize).toBeGreaterThanOrEqual(killed.committed.outputEnd);
      await expectNoOrphans(job, killed);
      await resumeAndCheck(job, killed);
    }
    // The kill condition makes this near certain; without it the truncation would go untested.
    expect(caughtTail).toBeGreaterThan(0);
  }, 180_000);

  it('resumes a run folder that was moved to another path', async () => {
    // Mini-batches from 30 (of some 60) on wait for the go file: the run cannot end before the kill.
    const dir = tempDir();
    const go = path.join(dir, 'go');
    const job = tracedJob(dir, {
      rows: 2000,
      rowPad: 20,
      env: { RUN_DELAY_MS: '40', GO_FILE: go, GO_FROM: '30' },
    });
    const killed = await runAndKill(job, (d) => readJournal(d).succeeded.size >= 5);
    await expectNoOrphans(job, killed);
    writeFileSync(go, '');
    const moved = path.join(job.dir, 'elsewhere', 'the-run');
    mkdirSync(path.dirname(moved), { recursive: true });
    renameSync(killed.runDir, moved);
    await resumeAndCheck(job, killed, moved);
  });
});
