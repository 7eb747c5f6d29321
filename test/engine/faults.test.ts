// Failures through the real CLI: thresholds, timeouts, crashes, init() rules and cancel.

import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, nodeJob, prs, startPrs, tempDir, writeFiles } from '../helpers';

// Fails every input whose number is in FAIL (an env var), by returning fewer elements, or throws.
const SELECTIVE = `
const fail = new Set((process.env.FAIL ?? '').split(',').filter(Boolean).map(Number));
const mode = process.env.PRS_TEST_MODE ?? 'throw';
export function run(batch) {
  const n = batch.map((f) => Number(f.match(/f(\\d+)\\.txt$/)[1]));
  if (n.some((x) => fail.has(x))) {
    if (mode === 'throw') throw new Error('bad input ' + n.join(','));
    return n.filter((x) => !fail.has(x)).map(String);
  }
  return n.map(String);
}`;

async function runWith(spec: Record<string, unknown>, env: Record<string, string>, files = 10) {
  const dir = tempDir();
  const specPath = nodeJob(dir, {
    script: SELECTIVE,
    files,
    spec: { run_max_try: 1, process_count_per_node: 2, ...spec },
  });
  return prs(['run', specPath, '--runs-dir', path.join(dir, 'runs'), '--json'], { env });
}

describe('thresholds', () => {
  it('error_threshold: at the limit completes, above it fails and says which threshold', async () => {
    // mini_batch_size 2: inputs 1 and 3 fail one item each (partial returns).
    const below = await runWith({ error_threshold: 2 }, { FAIL: '1,3', PRS_TEST_MODE: 'partial' });
    expect(below.code).toBe(0);
    expect(below.json!.items.failed).toBe(2);
    const above = await runWith({ error_threshold: 1 }, { FAIL: '1,3', PRS_TEST_MODE: 'partial' });
    expect(above.code).toBe(42);
    expect(above.json!.status).toBe('failed');
    expect(above.json!.reason).toMatch(
      /error_threshold exceeded: 2 failed item\(s\), more than the 1 allowed/,
    );
    const result = readFileSync(path.join(above.json!.run_dir, 'logs/job_result.txt'), 'utf8');
    expect(result).toMatch(/^Job failed: error_threshold exceeded/);
  });

  it('allowed_failed_count: failed mini-batches below and above', async () => {
    const below = await runWith({ allowed_failed_count: 2 }, { FAIL: '0,4' });
    expect(below.code).toBe(0);
    expect(below.json!.mini_batches.failed).toBe(2);
    const above = await runWith({ allowed_failed_count: 1 }, { FAIL: '0,4' });
    expect(above.code).toBe(42);
    expect(above.json!.reason).toMatch(
      /allowed_failed_count exceeded: 2 failed mini-batch\(es\), more than the 1 allowed/,
    );
    const result = readFileSync(path.join(above.json!.run_dir, 'logs/job_result.txt'), 'utf8');
    expect(result).toMatch(/First cause: .*mini-batch \d/);
    expect(result).toMatch(/Open: logs\/user\/stderr\/0\/process00\d\.stderr\.txt/);
    expect(readFileSync(path.join(above.json!.run_dir, 'logs/job_error.txt'), 'utf8')).toMatch(
      /Error: bad input [\d,]+\n {2}count: 2 attempt\(s\)/,
    );
  });

  it('allowed_failed_percent: 20% of 5 mini-batches is allowed at 20, not at 19', async () => {
    const below = await runWith({ allowed_failed_percent: 20 }, { FAIL: '0' });
    expect(below.code).toBe(0);
    const above = await runWith({ allowed_failed_percent: 19 }, { FAIL: '0' });
    expect(above.code).toBe(42);
    expect(above.json!.reason).toMatch(
      /allowed_failed_percent exceeded: 1 of 5 mini-batches failed \(20\.0%\)/,
    );
  });
});

describe('retries, timeouts and crashes', () => {
  it('retries a failing mini-batch run_max_try times, each attempt in the CSV', async () => {
    const r = await runWith({ run_max_try: 3 }, { FAIL: '2' });
    expect(r.code).toBe(0);
    const csv = readFileSync(
      path.join(r.json!.run_dir, 'logs/sys/job_report/processed_mini-batches.csv'),
      'utf8',
    );
    const rows = csv
      .trim()
      .split('\n')
      .slice(1)
      .filter((l) => l.startsWith('1,'));
    expect(rows.map((l) => l.split(',').slice(1, 3).join(','))).toEqual(['1,failed', '2,failed', '3,failed']);
  });

  it('stops a hung run() at run_invocation_timeout, not at its end, and replaces its worker', async () => {
    const dir = tempDir();
    // Busy for 10 minutes: anything that ends it well before then is the timeout.
    const script = `
export function run(batch) {
  if (batch.some((f) => f.endsWith('f0000.txt'))) { const t = Date.now(); while (Date.now() - t < 600000) {} }
  return batch;
}`;
    const specPath = nodeJob(dir, {
      script,
      files: 4,
      spec: { run_invocation_timeout: 2, run_max_try: 1, process_count_per_node: 1 },
    });
    const r = await prs(['run', specPath, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 2, succeeded: 1, failed: 1 });
    const csv = readFileSync(
      path.join(r.json!.run_dir, 'logs/sys/job_report/processed_mini-batches.csv'),
      'utf8',
    );
    const row = csv.split('\n').find((l) => l.startsWith('0,1,'))!;
    expect(row.split(',')[2]).toBe('timeout');
    // The engine's own measure of the attempt: from the timeout on, and nowhere near the 600 s the
    // script would take. How close to 2 s a loaded machine kills it is bench material, not a test's.
    const elapsed = Number(row.split(',')[10]);
    expect(elapsed).toBeGreaterThanOrEqual(2);
    expect(elapsed).toBeLessThan(60);
    const main = readFileSync(path.join(r.json!.run_dir, 'logs/sys/node/0/_main.txt'), 'utf8');
    expect(main).toMatch(/process000 exits with returncode -9/);
    expect(main).toMatch(/process001 starts/);
  });

  it('a worker that exits mid-batch fails that attempt and is replaced by the next process number', async () => {
    const dir = tempDir();
    const script = `
import { existsSync, writeFileSync } from 'node:fs';
export function run(batch) {
  const marker = process.env.MARKER;
  if (batch.some((f) => f.endsWith('f0002.txt')) && !existsSync(marker)) { writeFileSync(marker, 'x'); process.exit(3); }
  return batch;
}`;
    const specPath = nodeJob(dir, { script, files: 6, spec: { run_max_try: 2, process_count_per_node: 2 } });
    const r = await prs(['run', specPath, '--runs-dir', path.join(dir, 'runs'), '--json'], {
      env: { MARKER: path.join(dir, 'crashed-once') },
    });
    expect(r.code).toBe(0);
    expect(r.json!.items.succeeded).toBe(6);
    const main = readFileSync(path.join(r.json!.run_dir, 'logs/sys/node/0/_main.txt'), 'utf8');
    expect(main).toMatch(/process00[01] exits with returncode 3/);
    expect(main).toMatch(/process002 starts/);
    const csv = readFileSync(
      path.join(r.json!.run_dir, 'logs/sys/job_report/processed_mini-batches.csv'),
      'utf8',
    );
    expect(csv).toMatch(/\n1,1,crashed,0,process00[01],/);
    expect(csv).toMatch(/\n1,2,succeeded,/);
  });
});

describe("ParallelRunStep's pass-through timeouts", () => {
  it('--progress_update_timeout: a run where nothing finishes fails with it, long before run_invocation_timeout', async () => {
    const dir = tempDir();
    const spec = nodeJob(dir, {
      script: `export async function run(b) { if (b[0].endsWith('f0003.txt')) await new Promise((r) => setTimeout(r, 60_000)); return b; }`,
      files: 4,
      spec: {
        mini_batch_size: 1,
        process_count_per_node: 1,
        run_invocation_timeout: 120,
        arguments: ['--progress_update_timeout', '2'],
      },
    });
    const started = Date.now();
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.code).toBe(42);
    expect(r.json!.reason).toBe('No progress within --progress_update_timeout (2 s).');
    expect(r.json!.mini_batches.succeeded).toBe(3);
    expect(readFileSync(path.join(r.json!.run_dir, 'logs/job_result.txt'), 'utf8')).toContain(
      'First cause: No mini-batch finished in time. No mini-batch finished for 2 s (--progress_update_timeout) while 1 ran.',
    );
  });

  it('--first_task_creation_timeout: splitting that creates no mini-batch in time fails the job', async () => {
    // A table grouped by partition_keys is read whole before its first mini-batch: 80 MB of it
    // take far longer than the 0.1 s allowed here.
    const dir = tempDir();
    writeFiles(dir, {
      'src/score.mjs': 'export function run(t) { return t.rows; }',
      'data/big.csv': 'k,v\n' + 'a,1\nb,2\n'.repeat(10_000_000),
    });
    const specPath = path.join(dir, 'job.json');
    writeFileSync(
      specPath,
      JSON.stringify({
        name: 'slow-split',
        entry_script: 'score.mjs',
        source_directory: './src',
        inputs: [{ path: './data', type: 'tabular' }],
        partition_keys: ['k'],
        arguments: ['--first_task_creation_timeout=0.1'],
      }),
    );
    const r = await prs(['run', specPath, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(42);
    expect(r.json!.reason).toBe('No mini-batch was created within --first_task_creation_timeout (0.1 s).');
    expect(r.json!.mini_batches.total).toBe(0);
  });

  it('a value that is not a number of seconds is ignored with a warning that names it', async () => {
    const r = await runWith({ arguments: ['--progress_update_timeout', 'soon'] }, {}, 2);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      'arguments: --progress_update_timeout soon is not a number of seconds above 0; ignored.',
    );
  });
});

describe('init() failure rules', () => {
  it('rule 1: stops starting processes after 3 × process_count_per_node failures and fails the job', async () => {
    const dir = tempDir();
    const script = `export function init() { throw new Error('model not found'); }\nexport function run(b) { return b; }`;
    const specPath = nodeJob(dir, { script, files: 4, spec: { process_count_per_node: 2 } });
    const r = await prs(['run', specPath, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(42);
    expect(r.json!.reason).toMatch(/init\(\) failed 6 time\(s\)/);
    const main = readFileSync(path.join(r.json!.run_dir, 'logs/sys/node/0/_main.txt'), 'utf8');
    expect(main.match(/exits with returncode 41/g)?.length).toBe(6);
    expect(main).not.toMatch(/process006/);
    const master = readFileSync(path.join(r.json!.run_dir, 'logs/sys/master_role.txt'), 'utf8');
    expect(master).toMatch(/no new processes will be started/);
    const stderr = readFileSync(
      path.join(r.json!.run_dir, 'logs/user/stderr/0/process000.stderr.txt'),
      'utf8',
    );
    expect(stderr).toMatch(/init\(\) failed: Error: model not found/);
  });

  it('rule 3: fails for lack of progress when every worker is stuck in init() past 3 × timeout + 30 s', async () => {
    const dir = tempDir();
    const script = `export async function init() { await new Promise(() => setInterval(() => {}, 1000)); }\nexport function run(b) { return b; }`;
    const specPath = nodeJob(dir, {
      script,
      files: 2,
      spec: { process_count_per_node: 1, run_invocation_timeout: 1 },
    });
    const t0 = Date.now();
    const r = await prs(['run', specPath, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(42);
    expect(r.json!.reason).toMatch(
      /stuck in init\(\) for more than 3 × run_invocation_timeout \+ 30 seconds/,
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(33_000);
  }, 90_000);
});

describe('cancel', () => {
  it('SIGINT stops the workers, flushes the logs, marks the run cancelled and exits 130', async () => {
    const dir = tempDir();
    // Each worker leaves a marker as it begins its first mini-batch and none finishes one before
    // both have: otherwise a slow-starting process000 might not have run anything by the cancel
    // (process001 alone can commit the mini-batches the wait below looks for), and its stdout
    // would have nothing to flush.
    const barrier = path.join(dir, 'barrier');
    mkdirSync(barrier);
    const script = `
import { readdirSync, writeFileSync } from 'node:fs';
export async function run(b) {
  console.log('working on', b.length);
  writeFileSync(process.env.BARRIER + '/' + process.env.PRS_PROCESS_NAME, '');
  const until = Date.now() + 25000;
  while (readdirSync(process.env.BARRIER).length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 400));
  return b;
}`;
    const specPath = nodeJob(dir, {
      script,
      files: 40,
      spec: { process_count_per_node: 2, environment_variables: { BARRIER: barrier } },
    });
    const child = startPrs(['run', specPath, '--runs-dir', path.join(dir, 'runs'), '--json']);
    const result = collect(child);
    // Readiness by a marker, not a sleep: cancel once some results are committed.
    const runs = path.join(dir, 'runs', 'test-job');
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const run = existsSync(runs) ? readdirSync(runs)[0] : undefined;
      const out = run && path.join(runs, run, 'outputs', 'parallel_run_step.txt');
      if (out && existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 3) break;
    }
    child.kill('SIGINT');
    const r = await result;
    expect(r.code).toBe(130);
    expect(r.json!.status).toBe('cancelled');
    expect(r.json!.mini_batches.succeeded).toBeGreaterThan(0);
    expect(r.json!.mini_batches.succeeded).toBeLessThan(20);
    const record = JSON.parse(readFileSync(path.join(r.json!.run_dir, 'run.json'), 'utf8'));
    expect(record.summary.status).toBe('cancelled');
    const out = readFileSync(r.json!.output_file!, 'utf8').trim().split('\n');
    expect(out.length).toBe(r.json!.items.succeeded);
    expect(
      readFileSync(path.join(r.json!.run_dir, 'logs/user/stdout/0/process000.stdout.txt'), 'utf8'),
    ).toMatch(/working on 2/);
  });
});
