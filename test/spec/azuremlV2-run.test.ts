// Azure ML v2 parallel jobs through the real CLI, real Python workers and real files: outputs in
// program_arguments, append_row_to, and PRS flags among the arguments.

import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prs, tempDir, writeFiles } from '../helpers';

// Writes one file per input into --model_folder; fails the input named in FAIL_MARKER's file
// while that file exists; returns SHORT fewer elements than it was given when SHORT is set.
const SCRIPT = `
import argparse, os

def init():
    global args
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_folder")
    args, _ = parser.parse_known_args()

def run(mini_batch):
    marker = os.environ.get("FAIL_MARKER")
    names = [os.path.basename(f) for f in mini_batch]
    if marker and os.path.exists(marker) and open(marker).read().strip() in names:
        raise RuntimeError("marked input in " + ",".join(names))
    for name in names:
        if args.model_folder:
            with open(os.path.join(args.model_folder, name + ".model"), "w") as fh:
                fh.write(name)
    return names[int(os.environ.get("SHORT", "0")):]
`;

function v2Job(yamlBody: string, files = 4): { dir: string; spec: string } {
  const dir = tempDir();
  const tree: Record<string, string> = { 'src/score.py': SCRIPT };
  for (let i = 0; i < files; i++) tree[`data/f${i}.txt`] = `item ${i}\n`;
  writeFiles(dir, tree);
  const spec = path.join(dir, 'parallel.yml');
  writeFileSync(
    spec,
    `$schema: https://azuremlschemas.azureedge.net/latest/parallelJob.schema.json
type: parallel
name: v2-outputs
inputs:
  data: {type: uri_folder, path: ./data}
input_data: \${{inputs.data}}
mini_batch_size: "2"
max_concurrency_per_instance: 2
retry_settings: {max_retries: 0, timeout: 60}
${yamlBody}`,
  );
  return { dir, spec };
}

const run = (job: { dir: string; spec: string }, env: Record<string, string> = {}) =>
  prs(['run', job.spec, '--runs-dir', path.join(job.dir, 'runs'), '--json'], { env });

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').sort();

describe('prs run of a v2 parallel job', () => {
  it('passes ${{outputs.x}} as a folder in the run folder, and writes append_row_to a folder output inside it', async () => {
    const job = v2Job(`outputs:
  model_folder: {type: uri_folder, mode: rw_mount}
  job_output: {type: uri_folder, mode: rw_mount}
task:
  type: run_function
  code: ./src
  entry_script: score.py
  program_arguments: --model_folder \${{outputs.model_folder}}
  append_row_to: \${{outputs.job_output}}
`);
    const r = await run(job);
    expect(r.code).toBe(0);
    const runDir = r.json!.run_dir;
    expect(r.json!.output_file).toBe(path.join(runDir, 'outputs/job_output/parallel_run_step.txt'));
    expect(lines(r.json!.output_file!)).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt']);
    expect(readdirSync(path.join(runDir, 'outputs/model_folder')).sort()).toEqual([
      'f0.txt.model',
      'f1.txt.model',
      'f2.txt.model',
      'f3.txt.model',
    ]);
    const result = readFileSync(path.join(runDir, 'logs/job_result.txt'), 'utf8');
    expect(result).toContain('Output: outputs/job_output/parallel_run_step.txt');
  });

  it('writes append_row_to a uri_file output to the file its path names', async () => {
    // As azureml-examples' 2a and 3a jobs write it.
    const job = v2Job(`outputs:
  job_output_file:
    type: uri_file
    path: azureml://datastores/\${{default_datastore}}/paths/\${{name}}/aggregated_returns.csv
    mode: rw_mount
task:
  type: run_function
  code: ./src
  entry_script: score.py
  append_row_to: \${{outputs.job_output_file}}
`);
    const r = await run(job);
    expect(r.code).toBe(0);
    expect(r.json!.output_file).toBe(path.join(r.json!.run_dir, 'outputs/aggregated_returns.csv'));
    expect(lines(r.json!.output_file!)).toEqual(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt']);
  });

  it('acts on --error_threshold among program_arguments', async () => {
    const job = v2Job(`task:
  type: run_function
  code: ./src
  entry_script: score.py
  program_arguments: --error_threshold 1
`);
    // Two mini-batches each return one element of two: two failed items, one allowed.
    const r = await run(job, { SHORT: '1' });
    expect(r.code).toBe(42);
    expect(r.json!.reason).toMatch(/^error_threshold exceeded: 2 failed item\(s\), more than the 1 allowed/);
  });

  it('binds outputs to the run folder it runs in: a moved run folder resumes into its own outputs', async () => {
    const job = v2Job(`mini_batch_error_threshold: 0
outputs:
  model_folder: {type: uri_folder}
task:
  type: run_function
  code: ./src
  entry_script: score.py
  program_arguments: --model_folder \${{outputs.model_folder}}
`);
    const marker = path.join(job.dir, 'fail-f0');
    writeFileSync(marker, 'f0.txt');
    const first = await run(job, { FAIL_MARKER: marker });
    expect(first.code).toBe(42);
    const moved = path.join(job.dir, 'elsewhere', path.basename(first.json!.run_dir));
    mkdirSync(path.dirname(moved), { recursive: true });
    renameSync(first.json!.run_dir, moved);
    rmSync(marker);
    const again = await prs(['resume', moved, '--retry-failed', '--json']);
    expect(again.code).toBe(0);
    expect(readdirSync(path.join(moved, 'outputs/model_folder')).sort()).toEqual([
      'f0.txt.model',
      'f1.txt.model',
      'f2.txt.model',
      'f3.txt.model',
    ]);
    expect(existsSync(first.json!.run_dir)).toBe(false);
  });
});
