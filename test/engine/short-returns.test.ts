// The short-return rule of prs-behaviour.md ("Short returns"), through the real CLI and real
// workers: a run() that returns fewer elements than it was given fails its missing items and its
// mini-batch, unless error_threshold is -1, where short returns are not checked at all.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startRun } from '../../src/engine/run';
import { loadSpec } from '../../src/engine/spec/load';
import { nodeJob, prs, tempDir, writeFiles } from '../helpers';

// Drops one element of every mini-batch holding an input whose number is in SHORT ("all": every one).
const SHORT = `
const short = process.env.SHORT ?? 'all';
const marked = new Set(short.split(',').filter(Boolean).map(Number));
export function run(batch) {
  const n = batch.map((f) => Number(f.match(/f(\\d+)\\.txt$/)[1]));
  if (short === 'all' || n.some((x) => marked.has(x))) return n.slice(1).map(String);
  return n.map(String);
}`;

/** Ten inputs in five mini-batches of two, run by the v1 spec format. */
async function v1Run(spec: Record<string, unknown>, short = 'all') {
  const dir = tempDir();
  const specPath = nodeJob(dir, { script: SHORT, files: 10, spec: { run_max_try: 1, ...spec } });
  return prs(['run', specPath, '--runs-dir', path.join(dir, 'runs'), '--json'], { env: { SHORT: short } });
}

describe('short returns, v1 spec', () => {
  it('count as failed mini-batches: allowed_failed_count 2 fails after five short mini-batches, 5 passes', async () => {
    const above = await v1Run({ error_threshold: 100, allowed_failed_count: 2 });
    expect(above.code).toBe(42);
    expect(above.json!.reason).toMatch(
      /^allowed_failed_count exceeded: 3 failed mini-batch\(es\), more than the 2 allowed/,
    );
    const result = readFileSync(path.join(above.json!.run_dir, 'logs/job_result.txt'), 'utf8');
    expect(result).toMatch(
      /First cause: .*run\(\) returned 1 element\(s\) for mini-batch \d+ of 2 item\(s\)/,
    );

    const below = await v1Run({ error_threshold: 100, allowed_failed_count: 5 });
    expect(below.code).toBe(0);
    expect(below.json!.mini_batches).toEqual({ total: 5, succeeded: 0, failed: 5 });
    expect(below.json!.items).toEqual({ succeeded: 5, failed: 5 });
    // What run() did return is output all the same.
    expect(readFileSync(below.json!.output_file!, 'utf8').trim().split('\n').sort()).toEqual([
      '1',
      '3',
      '5',
      '7',
      '9',
    ]);
    const errors = readFileSync(path.join(below.json!.run_dir, 'logs/job_error.txt'), 'utf8');
    expect(errors).toMatch(/ReturnValueError: run\(\) returned 1 element\(s\) .*\n {2}count: 5 attempt\(s\)/);
  });

  it('count for allowed_failed_percent: 2 of 5 short passes 40%, 3 of 5 fails it', async () => {
    const below = await v1Run({ error_threshold: 100, allowed_failed_percent: 40 }, '0,2');
    expect(below.code).toBe(0);
    expect(below.json!.mini_batches).toEqual({ total: 5, succeeded: 3, failed: 2 });
    const above = await v1Run({ error_threshold: 100, allowed_failed_percent: 40 }, '0,2,4');
    expect(above.code).toBe(42);
    expect(above.json!.reason).toMatch(
      /^allowed_failed_percent exceeded: 3 of 5 mini-batches failed \(60\.0%\)/,
    );
  });

  it('stay failed on resume: their lines are committed, so --retry-failed does not run them again', async () => {
    const first = await v1Run({ error_threshold: 100, allowed_failed_count: 0 }, '0');
    expect(first.code).toBe(42);
    const again = await prs(['resume', first.json!.run_dir, '--retry-failed', '--json'], {
      env: { SHORT: '' },
    });
    expect(again.code).toBe(42);
    expect(again.json!.mini_batches.failed).toBe(1);
    expect(again.json!.reason).toMatch(/^allowed_failed_count exceeded: 1 failed mini-batch\(es\)/);
    expect(
      readFileSync(again.json!.output_file!, 'utf8')
        .split('\n')
        .filter((l) => l === '1'),
    ).toHaveLength(1);
  });

  it('show as failed attempts, with why, in the live event stream', async () => {
    const dir = tempDir();
    const specPath = nodeJob(dir, {
      script: SHORT,
      files: 4,
      spec: {
        run_max_try: 1,
        error_threshold: 100,
        process_count_per_node: 1,
        environment_variables: { SHORT: '0' },
      },
    });
    const loaded = await loadSpec(specPath);
    if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
    const handle = await startRun(loaded.spec, { runsDir: path.join(dir, 'runs') });
    const ends: Array<[number, string, string | undefined]> = [];
    handle.subscribe((e) => {
      if (e.type === 'attempt' && e.status !== 'running') ends.push([e.miniBatchId, e.status, e.error]);
    });
    await handle.done;
    expect(ends).toEqual([
      [
        0,
        'failed',
        expect.stringMatching(/^ReturnValueError: run\(\) returned 1 element\(s\) for mini-batch 0/),
      ],
      [1, 'succeeded', undefined],
    ]);
  });

  it('with error_threshold -1 are successes, with a notice of how many items came back short', async () => {
    const r = await v1Run({ error_threshold: -1, allowed_failed_count: 0 });
    expect(r.code).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 5, succeeded: 5, failed: 0 });
    expect(r.json!.items).toEqual({ succeeded: 5, failed: 0 });
    const notice = /Notice: 5 item\(s\) in 5 mini-batch\(es\) came back short .*error_threshold -1/;
    expect(r.stderr).toMatch(notice);
    expect(readFileSync(path.join(r.json!.run_dir, 'logs/job_result.txt'), 'utf8')).toMatch(notice);
  });
});

// Shaped like azureml-examples' 1a_oj_sales_prediction: run() returns [] for every mini-batch.
function v2Job(errorThreshold: number, miniBatchErrorThreshold: number): string {
  const dir = tempDir();
  const files: Record<string, string> = {
    'src/train.py': 'def init():\n    pass\n\n\ndef run(mini_batch):\n    return []\n',
  };
  for (let i = 0; i < 6; i++) files[`data/f${i}.txt`] = `item ${i}\n`;
  writeFiles(dir, files);
  const yaml = `$schema: https://azuremlschemas.azureedge.net/latest/parallelJob.schema.json
type: parallel
name: short-returns
inputs:
  data: {type: uri_folder, path: ./data}
outputs:
  model_folder: {type: uri_folder, mode: rw_mount}
input_data: \${{inputs.data}}
mini_batch_size: "1"
max_concurrency_per_instance: 2
error_threshold: ${errorThreshold}
mini_batch_error_threshold: ${miniBatchErrorThreshold}
retry_settings: {max_retries: 0, timeout: 60}
task:
  type: run_function
  code: ./src
  entry_script: train.py
`;
  const specPath = path.join(dir, 'parallel.yml');
  writeFileSync(specPath, yaml);
  return specPath;
}

async function v2Run(errorThreshold: number, miniBatchErrorThreshold: number) {
  const specPath = v2Job(errorThreshold, miniBatchErrorThreshold);
  return prs(['run', specPath, '--runs-dir', path.join(path.dirname(specPath), 'runs'), '--json']);
}

describe('short returns, v2 parallel job', () => {
  it('error_threshold -1 with empty returns passes mini_batch_error_threshold 5 (the 1a example)', async () => {
    const r = await v2Run(-1, 5);
    expect(r.code).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 6, succeeded: 6, failed: 0 });
    expect(r.stderr).toMatch(/Notice: 6 item\(s\) in 6 mini-batch\(es\) came back short/);
  });

  it('error_threshold 10: six empty returns fail mini_batch_error_threshold 5, pass 6', async () => {
    const above = await v2Run(10, 5);
    expect(above.code).toBe(42);
    expect(above.json!.reason).toMatch(/failed mini-batch\(es\), more than the 5 allowed/);
    const below = await v2Run(10, 6);
    expect(below.code).toBe(0);
    expect(below.json!.mini_batches).toEqual({ total: 6, succeeded: 0, failed: 6 });
    expect(below.json!.items).toEqual({ succeeded: 0, failed: 6 });
  });
});
