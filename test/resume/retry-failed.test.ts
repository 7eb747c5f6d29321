// `prs resume --retry-failed` on a failed run, and what `prs resume` refuses.

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prs, tempDir } from '../helpers';
import {
  csvAndJournalAttempts,
  expectedKeys,
  outputKeys,
  readJournal,
  readTrace,
  resumePrs,
  tracedJob,
} from './kit';

// Runs record themselves in the history index: keep that out of the user's data folder.
process.env.PRS_DATA_DIR ??= tempDir('prs-data-');

describe('prs resume --retry-failed', () => {
  it('re-runs the failed mini-batches of a failed run once the cause is gone; output exactly once', async () => {
    const dir = tempDir();
    const marker = path.join(dir, 'fail-now');
    writeFileSync(marker, '');
    // Mini-batches with id % 3 == 1 fail while the marker exists; one failure fails the job.
    const job = tracedJob(dir, {
      rows: 1500,
      rowPad: 20,
      env: { FAIL_MARKER: marker, RUN_DELAY_MS: '10' },
      spec: { allowed_failed_count: 0, run_max_try: 1 },
    });
    const first = await prs(['run', job.spec, '--runs-dir', job.runsDir, '--json']);
    expect(first.code, first.stderr).toBe(42);
    expect(first.json!.status).toBe('failed');
    const runDir = first.json!.run_dir;
    const before = readJournal(runDir);
    expect(before.attempts).toBeGreaterThan(before.succeeded.size); // some attempts failed

    // Without --retry-failed a failed run is refused, and says what to do.
    const refused = await prs(['resume', runDir, '--json']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/failed; use --retry-failed/);

    rmSync(marker);
    const { child, result } = resumePrs(runDir, ['--retry-failed']);
    const r = await result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.status).toBe('completed');
    expect(r.json!.items).toEqual({ succeeded: job.rows, failed: 0 });
    expect(r.json!.mini_batches.failed).toBe(0);

    const out = outputKeys(path.join(runDir, 'outputs', 'parallel_run_step.txt'));
    expect(out.duplicates).toEqual([]);
    expect([...out.keys].sort()).toEqual(expectedKeys(job.rows));

    const again = (readTrace(job.sideDir).byLeader.get(child.pid!) ?? []).filter((id) =>
      before.succeeded.has(id),
    );
    expect(again).toEqual([]);

    const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as {
      resumes: Array<{ retryFailed: boolean }>;
      summary: { status: string };
    };
    expect(record.resumes).toEqual([expect.objectContaining({ retryFailed: true })]);
    expect(record.summary.status).toBe('completed');
    expect(readFileSync(path.join(runDir, 'logs', 'sys', 'master_role.txt'), 'utf8')).toMatch(
      /Resumed at .* \(--retry-failed\)/,
    );
    // The journal keeps the failed attempts of the first run beside the retries' successes.
    const after = readJournal(runDir);
    expect(after.attempts).toBeGreaterThan(after.succeeded.size);
    expect(after.succeeded.size).toBe(r.json!.mini_batches.total);
    const attempts = csvAndJournalAttempts(runDir);
    expect(attempts.csv).toEqual(attempts.journal);
  });

  it('refuses to resume a completed run (exit 2) and a folder that is not a run', async () => {
    const job = tracedJob(tempDir(), { rows: 300 });
    const done = await prs(['run', job.spec, '--runs-dir', job.runsDir, '--json']);
    expect(done.code, done.stderr).toBe(0);
    const r = await prs(['resume', done.json!.run_dir, '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/already completed; nothing to resume/);
    expect(r.stderr).toContain(done.json!.run_dir);

    const notARun = tempDir();
    const n = await prs(['resume', notARun]);
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/run\.json is missing/);
    expect(existsSync(path.join(notARun, 'journal.sqlite'))).toBe(false);
  });
});
