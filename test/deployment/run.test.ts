// Batch deployments through the real CLI and real Python workers: what the scoring script sees,
// what each setting does at run time, --input/--output, and the refusals before anything runs.

import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFiles } from '../helpers';
import { makeMlflowModel, prsIn, readLines, workspace } from './helpers';

// Records what it sees, fails while FAIL is set, sleeps SLEEP seconds, and returns SHORT fewer
// results than it was given.
const SCRIPT = `
import glob, json, os, time

def init():
    out = os.environ["AZUREML_BI_OUTPUT_PATH"]
    with open(os.path.join(out, "seen-%d.json" % os.getpid()), "w") as f:
        json.dump({
            "model_dir": os.environ["AZUREML_MODEL_DIR"],
            "model_dir_entries": sorted(os.listdir(os.environ["AZUREML_MODEL_DIR"])),
            "output_path": out,
            "label": os.environ.get("LABEL"),
        }, f)

def run(mini_batch):
    if os.environ.get("FAIL"):
        raise RuntimeError("asked to fail")
    time.sleep(float(os.environ.get("SLEEP", "0")))
    names = [os.path.basename(f) for f in mini_batch]
    return names[int(os.environ.get("SHORT", "0")):]
`;

function job(settings = '', files = 4) {
  const { dir, dataDir } = workspace();
  const tree: Record<string, string> = { 'code/score.py': SCRIPT, 'model/weights.bin': 'w' };
  for (let i = 0; i < files; i++) tree[`data/f${i}.txt`] = `item ${i}\n`;
  writeFiles(dir, tree);
  writeFileSync(
    path.join(dir, 'deployment.yml'),
    `$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: run-test
endpoint_name: run-test-endpoint
type: model
model: ./model
code_configuration:
  code: ./code
  scoring_script: score.py
settings:
  mini_batch_size: 2
${settings}`,
  );
  const run = (extra: string[] = [], env: Record<string, string> = {}) =>
    prsIn(dir, dataDir, ['run', 'deployment.yml', '--input', 'data', '--json', ...extra], env);
  return { dir, dataDir, run };
}

const seen = (scoreDir: string) =>
  readdirSync(scoreDir)
    .filter((f) => f.startsWith('seen-'))
    .map((f) => JSON.parse(readFileSync(path.join(scoreDir, f), 'utf8')));

/** The attempts of mini-batch 0 in processed_mini-batches.csv (its error fields span lines). */
const attempts = (runDir: string) =>
  readLines(path.join(runDir, 'logs', 'sys', 'job_report', 'processed_mini-batches.csv')).filter((l) =>
    /^0,\d+,(succeeded|failed|timed_out|timeout),/.test(l),
  ).length;

describe('prs run deployment.yml --input', () => {
  it('gives the scoring script AZUREML_MODEL_DIR (the model under its own name), AZUREML_BI_OUTPUT_PATH (the score output) and environment_variables', async () => {
    const { dir, run } = job('  environment_variables:\n    LABEL: from-the-deployment\n');
    const r = await run();
    expect(r.code).toBe(0);
    const score = path.join(r.json!.run_dir, 'outputs', 'score');
    expect(r.json!.output_file).toBe(path.join(score, 'predictions.csv'));
    expect(readLines(r.json!.output_file!).sort()).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt']);
    const [first] = seen(score);
    expect(first.output_path).toBe(score);
    expect(first.model_dir_entries).toEqual(['model']);
    expect(readdirSync(path.join(first.model_dir, 'model'))).toEqual(['weights.bin']);
    expect(first.label).toBe('from-the-deployment');
    expect(existsSync(path.join(dir, 'model', 'weights.bin'))).toBe(true);
  });

  it('retries a failing mini-batch max_retries times (default 3: four attempts); with error_threshold -1 the job still completes', async () => {
    const byDefault = job('', 2);
    const r = await byDefault.run([], { FAIL: '1' });
    // As on Azure: without an error_threshold, any number of failed files is allowed.
    expect(r.code).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 1, succeeded: 0, failed: 1 });
    expect(attempts(r.json!.run_dir)).toBe(4);
    const once = job('  retry_settings:\n    max_retries: 1\n', 2);
    const r2 = await once.run([], { FAIL: '1' });
    expect(attempts(r2.json!.run_dir)).toBe(2);
  });

  it('stops a run() longer than retry_settings.timeout', async () => {
    const { run } = job('  retry_settings:\n    max_retries: 0\n    timeout: 2\n', 2);
    const r = await run([], { SLEEP: '120' });
    expect(r.json!.mini_batches).toEqual({ total: 1, succeeded: 0, failed: 1 });
    const csv = readFileSync(
      path.join(r.json!.run_dir, 'logs/sys/job_report/processed_mini-batches.csv'),
      'utf8',
    );
    expect(csv).toMatch(/time(d )?out/i);
  });

  it('error_threshold: -1 (the default) lets short returns pass; 0 fails the job on them', async () => {
    const lenient = job();
    const r = await lenient.run([], { SHORT: '1' });
    expect(r.code).toBe(0);
    const strict = job('  error_threshold: 0\n');
    const r2 = await strict.run([], { SHORT: '1' });
    expect(r2.code).toBe(42);
    expect(r2.json!.reason).toMatch(/^error_threshold exceeded/);
  });

  it('output_action: summary_only writes no output file; output_file_name names it otherwise', async () => {
    const summary = job('  output_action: summary_only\n');
    const r = await summary.run();
    expect(r.code).toBe(0);
    expect(r.json!.output_file).toBeNull();
    expect(
      readdirSync(path.join(r.json!.run_dir, 'outputs', 'score')).filter((f) => !f.startsWith('seen-')),
    ).toEqual([]);
    const named = job('  output_file_name: scored.txt\n');
    const r2 = await named.run();
    expect(path.basename(r2.json!.output_file!)).toBe('scored.txt');
  });

  it('--output gets the score output (predictions.csv and the files the script wrote) once the job completed', async () => {
    const { dir, run } = job();
    const r = await run(['--output', 'results']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Output copied to ${path.join(dir, 'results')}`);
    const copied = readdirSync(path.join(dir, 'results'));
    expect(copied).toContain('predictions.csv');
    expect(copied.some((f) => f.startsWith('seen-'))).toBe(true);
    expect(readLines(path.join(dir, 'results', 'predictions.csv')).sort()).toEqual([
      'f0.txt',
      'f1.txt',
      'f2.txt',
      'f3.txt',
    ]);
  });

  it('leaves --output empty when the job fails', async () => {
    const { dir, run } = job('  retry_settings:\n    max_retries: 0\n  error_threshold: 0\n', 2);
    const r = await run(['--output', 'results'], { FAIL: '1' });
    expect(r.code).toBe(42);
    expect(readdirSync(path.join(dir, 'results'))).toEqual([]);
    expect(r.stderr).toMatch(/--output: .*results is left empty, the job did not complete/);
  });

  it('refuses before running: no --input, --output without --input, a non-empty --output, a missing input', async () => {
    const { dir, dataDir, run } = job();
    const noInput = await prsIn(dir, dataDir, ['run', 'deployment.yml']);
    expect(noInput.code).toBe(2);
    expect(noInput.stderr).toContain(
      'a batch deployment, which scores the data it is given (expected prs run deployment.yml --input PATH)',
    );
    const outputOnly = await prsIn(dir, dataDir, ['run', 'deployment.yml', '--output', 'x']);
    expect(outputOnly.code).toBe(2);
    expect(outputOnly.stderr).toContain('--output goes with --input');
    mkdirSync(path.join(dir, 'full'));
    writeFileSync(path.join(dir, 'full', 'old.csv'), 'old\n');
    const full = await run(['--output', 'full']);
    expect(full.code).toBe(2);
    expect(full.json!.run_dir).toBeNull();
    expect(full.stderr).toContain(
      `--output: ${path.join(dir, 'full')} is not empty (expected a new or empty folder`,
    );
    const missing = await prsIn(dir, dataDir, ['run', 'deployment.yml', '--input', 'nowhere']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--input: "\/.*nowhere" does not exist/);
    expect(existsSync(path.join(dir, 'runs'))).toBe(false);
  });

  it('prs validate --input checks a deployment without running it', async () => {
    const { dir, dataDir } = job();
    const ok = await prsIn(dir, dataDir, ['validate', 'deployment.yml', '--input', 'data']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('deployment.yml: valid (run-test, python runtime, files input)');
    const bad = await prsIn(dir, dataDir, ['validate', 'deployment.yml', '--input', 'nowhere']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--input: ".*nowhere" does not exist/);
    expect(existsSync(path.join(dir, 'runs'))).toBe(false);
  });

  it('resumes a failed deployment run with --retry-failed into its own score output', async () => {
    const { run, dir, dataDir } = job('  retry_settings:\n    max_retries: 0\n  error_threshold: 0\n', 2);
    const r = await run([], { FAIL: '1' });
    expect(r.code).toBe(42);
    const resumed = await prsIn(dir, dataDir, ['resume', r.json!.run_dir, '--retry-failed', '--json']);
    expect(resumed.code).toBe(0);
    expect(readLines(resumed.json!.output_file!).sort()).toEqual(['f0.txt', 'f1.txt']);
    expect(
      seen(path.join(r.json!.run_dir, 'outputs', 'score')).every(
        (s) => s.output_path === path.join(r.json!.run_dir, 'outputs', 'score'),
      ),
    ).toBe(true);
  });
});

describe('the generated scoring of an MLflow model', () => {
  it('fails a mini-batch with a file that is neither CSV nor Parquet, naming the file', async () => {
    const { dir, dataDir } = workspace();
    makeMlflowModel({
      modelDir: path.join(dir, 'model'),
      columns: [{ name: 'a', type: 'double' }],
      dataDir: path.join(dir, 'data'),
      files: 1,
      rows: 3,
    });
    writeFileSync(path.join(dir, 'data', 'notes.txt'), 'not a table\n');
    writeFileSync(
      path.join(dir, 'deployment.yml'),
      'type: model\nname: mlflow-bad-file\nmodel: ./model\nsettings:\n  mini_batch_size: 1\n  retry_settings: {max_retries: 0}\n',
    );
    const r = await prsIn(dir, dataDir, ['run', 'deployment.yml', '--input', 'data', '--json']);
    expect(r.code).toBe(0);
    // error_threshold -1 and no mini_batch_error_threshold: the job completes, the file's batch failed.
    expect(r.json!.mini_batches).toEqual({ total: 2, succeeded: 1, failed: 1 });
    const errors = readFileSync(path.join(r.json!.run_dir, 'logs', 'job_error.txt'), 'utf8');
    expect(errors).toContain(`${path.join(dir, 'data', 'notes.txt')}: not a CSV or Parquet file`);
    // The CSV file's mini-batch was scored all the same.
    const lines = readLines(r.json!.output_file!);
    expect(lines.map((l) => l.replace(/,\d+,/, ',?,'))).toEqual([
      '0,?,part-0.csv',
      '1,?,part-0.csv',
      '2,?,part-0.csv',
    ]);
  });
});
