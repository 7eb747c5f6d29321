// `prs run` of a Python job killed with SIGKILL mid-run, then `prs resume`: Python results reach
// the leader by their own path (the driver's result socket; file inputs run the interpreter as the
// leader's own child), so exactly-once is checked for them too, with file and with tabular input.
// Debian's /usr/bin/python3 (it has pandas).

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEBIAN_PYTHON, tempDir, writeFiles } from '../helpers';
import {
  csvAndJournalAttempts,
  jobProcesses,
  outputKeys,
  readJournal,
  resumePrs,
  runAndKill,
  waitFor,
  type TracedJob,
} from './kit';

process.env.PRS_DATA_DIR ??= tempDir('prs-data-');

/**
 * Each run() call appends "<phase> <mini-batch id>" to a side file of its process: phase "resumed"
 * once the test has made the RESUMED file (after the killed run's processes are gone), else "first".
 * Each output line starts with its item's key (a file name, or a row's key column).
 */
const SCRIPT = `
import os, time
SIDE = os.environ["SIDE_DIR"]
DELAY = float(os.environ["RUN_DELAY_S"])

def init():
    pass

def run(mini_batch, mini_batch_context):
    time.sleep(DELAY)
    if isinstance(mini_batch, list):
        keys = [os.path.basename(p) for p in mini_batch]
    else:
        keys = [str(k) for k in mini_batch["key"]]
    phase = "resumed" if os.path.exists(os.environ["RESUMED"]) else "first"
    with open(os.path.join(SIDE, "%d.txt" % os.getpid()), "a") as f:
        f.write("%s %d\\n" % (phase, mini_batch_context.minibatch_index))
    return ["%s %d" % (k, mini_batch_context.minibatch_index) for k in keys]
`;

interface PythonJob extends TracedJob {
  keys: string[];
  resumedMarker: string;
}

function pythonJob(kind: 'files' | 'tabular'): PythonJob {
  const dir = tempDir(`prs-kill-py-${kind}-`);
  const sideDir = path.join(dir, 'side');
  const files: Record<string, string> = { 'src/score.py': SCRIPT, 'side/.keep': '' };
  let keys: string[];
  let input: Record<string, unknown>;
  let miniBatchSize: number | string;
  if (kind === 'files') {
    keys = Array.from({ length: 80 }, (_, i) => `f${String(i).padStart(4, '0')}.txt`);
    for (const k of keys) files[`data/${k}`] = `${k}\n`;
    input = { path: './data', type: 'files' };
    miniBatchSize = 2;
  } else {
    keys = Array.from({ length: 2000 }, (_, i) => `k${i}`);
    files['data/table.csv'] = ['key,value', ...keys.map((k, i) => `${k},${i}`)].join('\n') + '\n';
    input = { path: './data/table.csv', type: 'tabular' };
    miniBatchSize = '512';
  }
  writeFiles(dir, files);
  const resumedMarker = path.join(dir, 'resumed');
  const spec = {
    name: 'resume-job',
    entry_script: 'score.py',
    source_directory: './src',
    python: DEBIAN_PYTHON,
    inputs: [input],
    mini_batch_size: miniBatchSize,
    process_count_per_node: 2,
    run_invocation_timeout: 60,
    allow_reuse: false,
    environment_variables: { SIDE_DIR: sideDir, RUN_DELAY_S: '0.1', RESUMED: resumedMarker },
  };
  const specPath = path.join(dir, 'job.json');
  writeFileSync(specPath, JSON.stringify(spec, null, 2));
  return {
    dir,
    spec: specPath,
    sideDir,
    runsDir: path.join(dir, 'runs'),
    rows: keys.length,
    keys,
    resumedMarker,
  };
}

/** Mini-batch ids that run() was called with, by phase. */
function traced(job: PythonJob): { first: number[]; resumed: number[] } {
  const out = { first: [] as number[], resumed: [] as number[] };
  for (const f of readdirSync(job.sideDir).filter((f) => f.endsWith('.txt'))) {
    for (const line of readFileSync(path.join(job.sideDir, f), 'utf8').split('\n')) {
      const [phase, id] = line.split(' ');
      if (phase === 'first' || phase === 'resumed') out[phase].push(Number(id));
    }
  }
  return out;
}

async function killAndResume(kind: 'files' | 'tabular'): Promise<void> {
  const job = pythonJob(kind);
  const killed = await runAndKill(job, (d) => readJournal(d).succeeded.size >= 4, 120_000);
  expect(killed.committed.succeeded.size).toBeGreaterThanOrEqual(4);
  // The killed run's interpreters (and workers) go with their leader, before the resume begins.
  // (Killed at 4 of some 40 mini-batches: they were running, so the wait below can fail.)
  expect(killed.workersAtKill).toBeGreaterThan(0);
  await waitFor('the killed run’s processes to exit', () =>
    jobProcesses(job).length === 0 ? true : undefined,
  );
  writeFileSync(job.resumedMarker, '');

  const r = await resumePrs(killed.runDir).result;
  expect(r.stderr).not.toMatch(/Internal error/);
  expect(r.code, r.stderr).toBe(0);
  const s = r.json!;
  expect(s.status).toBe('completed');
  expect(s.mini_batches.succeeded).toBe(s.mini_batches.total);
  expect(s.items).toEqual({ succeeded: job.rows, failed: 0 });
  // The killed run had not finished: the resume had work to do.
  expect(killed.committed.succeeded.size).toBeLessThan(s.mini_batches.total);

  // Every item exactly once in the output.
  const out = outputKeys(path.join(killed.runDir, 'outputs', 'parallel_run_step.txt'));
  expect(out.duplicates).toEqual([]);
  expect([...out.keys].sort()).toEqual([...job.keys].sort());

  // Nothing committed before the kill ran again; everything else ran under the resume.
  const { resumed } = traced(job);
  expect(resumed.filter((id) => killed.committed.succeeded.has(id))).toEqual([]);
  const ranAfter = new Set(resumed);
  for (let id = 0; id < s.mini_batches.total; id++)
    expect(killed.committed.succeeded.has(id) || ranAfter.has(id), `mini-batch ${id}`).toBe(true);
  expect(readJournal(killed.runDir).succeeded.size).toBe(s.mini_batches.total);
  const attempts = csvAndJournalAttempts(killed.runDir);
  expect(attempts.csv).toEqual(attempts.journal);
}

describe('prs resume of a Python job after SIGKILL', () => {
  it('file input: every file exactly once, no committed mini-batch run again', async () => {
    await killAndResume('files');
  }, 180_000);

  it('tabular input: every row exactly once, no committed mini-batch run again', async () => {
    await killAndResume('tabular');
  }, 180_000);
});
