// `prs run pipeline.yml`: Azure ML v2 pipelines through the real CLI, real shells, real Python
// (Debian's, with numpy and Pillow: first on PATH, as "the job's interpreter") and real files.
// The YAML has the keys and layout of the published Azure ML examples (cli/jobs/pipelines-with-
// components/basics/1a_e2e_local_components, cli/jobs/parallel/3a_mnist_batch_identification),
// with our own names; the data is made small and local by the test, the scripts are our own of the
// same contract (the published 3a script needs TensorFlow).

import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, prs, startPrs, tempDir, writeFiles, type PrsResult } from '../helpers';

const PATH_WITH_DEBIAN_PYTHON = `/usr/bin:${process.env.PATH ?? ''}`;

interface PipelineJson {
  status: string;
  exit_code: number;
  run_dir: string;
  reason?: string;
  mini_batches: { total: number; succeeded: number; failed: number };
  items: { succeeded: number; failed: number };
  jobs: Record<string, { type: string; status: string; run_dir: string; reason?: string; log_file?: string }>;
}

async function run(dir: string, file = 'pipeline.yml', extra: Record<string, string> = {}) {
  const r = await prs(['run', path.join(dir, file), '--runs-dir', path.join(dir, 'runs'), '--json'], {
    env: { PATH: PATH_WITH_DEBIAN_PYTHON, PRS_DATA_DIR: path.join(dir, 'data-dir'), ...extra },
  });
  return { ...r, pipeline: r.json as unknown as PipelineJson | undefined };
}

const notices = (r: PrsResult, key: string) =>
  r.stderr.split('\n').filter((l) => l.startsWith(`notice: ${key}:`));

// --- 1a_e2e_local_components: three command components, literals, defaults, parent outputs ----------

const TRAIN_YML = `$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: train
display_name: Train
version: 10
type: command
inputs:
  training_data:
    type: uri_folder
  max_epocs:
    type: integer
  learning_rate:
    type: number
    default: 0.01
  learning_rate_schedule:
    type: string
    default: time-based
outputs:
  model_output:
    type: uri_folder
code: ./train_src
environment: azureml:AzureML-sklearn-0.24-ubuntu18.04-py37-cpu@latest
command: >-
  python train.py
  --training_data \${{inputs.training_data}}
  --max_epocs \${{inputs.max_epocs}}
  --learning_rate \${{inputs.learning_rate}}
  --learning_rate_schedule \${{inputs.learning_rate_schedule}}
  --model_output \${{outputs.model_output}}
`;
const SCORE_YML = `$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: Score
version: 10
display_name: Score
type: command
inputs:
  model_input:
    type: path
  test_data:
    type: path
outputs:
  score_output:
    type: path
environment: azureml:AzureML-sklearn-0.24-ubuntu18.04-py37-cpu:5
code:
  local_path: ./score_src
command: >-
  python score.py
  --model_input \${{inputs.model_input}}
  --test_data \${{inputs.test_data}}
  --score_output \${{outputs.score_output}}
`;
const EVAL_YML = `$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: Eval
version: 10
display_name: Eval
type: command
inputs:
  scoring_result:
    type: path
outputs:
  eval_output:
    type: path
environment: azureml:AzureML-sklearn-0.24-ubuntu18.04-py37-cpu:5
code: ./eval_src
command: >-
  python eval.py
  --scoring_result \${{inputs.scoring_result}}
  --eval_output \${{outputs.eval_output}}
`;
const E2E_PIPELINE = `$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline

display_name: train-score-eval-local
description: Three local command components, one after another

inputs:
  pipeline_job_training_max_epocs: 20
  pipeline_job_training_learning_rate: 1.8
  pipeline_job_learning_rate_schedule: 'time-based'

outputs:
  pipeline_job_trained_model:
    mode: upload
  pipeline_job_evaluation_report:
    mode: upload

jobs:
  train_job:
    type: command
    compute: azureml:cpu-cluster
    component: ./train.yml
    inputs:
      training_data:
        type: uri_folder
        path: ./data
      max_epocs: \${{parent.inputs.pipeline_job_training_max_epocs}}
      learning_rate: \${{parent.inputs.pipeline_job_training_learning_rate}}
      learning_rate_schedule: \${{parent.inputs.pipeline_job_learning_rate_schedule}}
    outputs:
      model_output: \${{parent.outputs.pipeline_job_trained_model}}

  score_job:
    type: command
    component: ./score.yml
    compute: azureml:cpu-cluster
    inputs:
      model_input: \${{parent.jobs.train_job.outputs.model_output}}
      test_data:
        type: uri_folder
        path: ./data
    outputs:
      score_output:
        mode: upload

  evaluate_job:
    type: command
    component: ./eval.yml
    compute: azureml:cpu-cluster
    inputs:
      scoring_result: \${{parent.jobs.score_job.outputs.score_output}}
    outputs:
      eval_output: \${{parent.outputs.pipeline_job_evaluation_report}}
`;
// Stand-ins with the published scripts' arguments: each writes what it was given into its output.
const TRAIN_PY = `import argparse, os
from pathlib import Path
p = argparse.ArgumentParser("train")
p.add_argument("--training_data"); p.add_argument("--max_epocs", type=int)
p.add_argument("--learning_rate", type=float); p.add_argument("--learning_rate_schedule")
p.add_argument("--model_output")
a = p.parse_args()
files = sorted(os.listdir(a.training_data))
(Path(a.model_output) / "model.txt").write_text(f"epocs={a.max_epocs} lr={a.learning_rate} schedule={a.learning_rate_schedule} data={','.join(files)}\\n")
`;
const SCORE_PY = `import argparse
from pathlib import Path
p = argparse.ArgumentParser("score")
p.add_argument("--model_input"); p.add_argument("--test_data"); p.add_argument("--score_output")
a = p.parse_args()
model = (Path(a.model_input) / "model.txt").read_text()
(Path(a.score_output) / "score.txt").write_text("Scored with: " + model)
`;
const EVAL_PY = `import argparse
from pathlib import Path
p = argparse.ArgumentParser("eval")
p.add_argument("--scoring_result"); p.add_argument("--eval_output")
a = p.parse_args()
(Path(a.eval_output) / "eval_result.txt").write_text("Eval of: " + (Path(a.scoring_result) / "score.txt").read_text())
`;

function e2eLocalComponents(): string {
  const dir = tempDir('prs-pipeline-');
  writeFiles(dir, {
    'pipeline.yml': E2E_PIPELINE,
    'train.yml': TRAIN_YML,
    'score.yml': SCORE_YML,
    'eval.yml': EVAL_YML,
    'train_src/train.py': TRAIN_PY,
    'score_src/score.py': SCORE_PY,
    'eval_src/eval.py': EVAL_PY,
    'data/sample1.csv': '"Month", "Average"\n"May", 0.1\n',
  });
  return dir;
}

// --- 3a_mnist_batch_identification: a command node prepares images, a parallel node scores them ---

const PREPARE_YML = `$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command

name: prepare_data
display_name: Make grey digit images
version: 1

command: >-
      python prepare_data.py --output_folder \${{outputs.mnist_png}}
code: ./
outputs:
  mnist_png:
    type: uri_folder
    mode: rw_mount

environment:
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04
  conda_file: ./environment_prepare.yml
`;
const MNIST_PIPELINE = `$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: digits-by-grey-level
description: A command node makes images, a parallel node labels them
experiment_name: prs-digits
tags:
  suite: prs
  shape: 3a

jobs:
  prepare_data:
    type: command
    compute: azureml:cpu-cluster
    component: ./script/prepare_data.yml

  predict_digits_mnist:
    type: parallel
    compute: azureml:cpu-cluster
    inputs:
      job_data_path:
        type: uri_folder
        path: \${{parent.jobs.prepare_data.outputs.mnist_png}}
        mode: ro_mount
      score_model:
        type: uri_folder
        path: ./mnist_models
        mode: download
    outputs:
      job_output_file:
        type: uri_file
        path: azureml://datastores/\${{default_datastore}}/paths/\${{name}}/aggregated_returns.csv
        mode: rw_mount

    mini_batch_size: "5"
    resources:
      instance_count: 2
    mini_batch_error_threshold: 5
    logging_level: "DEBUG"
    input_data: \${{inputs.job_data_path}}
    max_concurrency_per_instance: 2
    retry_settings:
      max_retries: 2
      timeout: 60

    environment_variables:
      "AZUREML_PARALLEL_EXAMPLE": "3a_yaml"

    task:
      type: run_function
      code: ./script
      entry_script: digit_identification.py
      environment:
        image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04
        conda_file: ./script/environment_parallel.yml
      program_arguments: >-
        --model \${{inputs.score_model}}
      append_row_to: \${{outputs.job_output_file}}
`;
// 30 28x28 grey PNGs (6 mini-batches: one more than mini_batch_error_threshold), each a flat image whose grey level encodes its digit.
const PREPARE_PY = `import argparse, os
import numpy as np
from PIL import Image
p = argparse.ArgumentParser()
p.add_argument("--output_folder")
a = p.parse_args()
count = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prepare_runs.txt")
with open(count, "a") as fh:
    fh.write("ran\\n")
for i in range(30):
    Image.fromarray(np.full((28, 28), (i % 10) * 20, dtype=np.uint8)).save(os.path.join(a.output_folder, f"img_{i:02d}.png"))
`;
// Same contract as the published script (init() reads --model, run() returns "name: digit" per image).
const DIGITS_PY = `import os, argparse
import numpy as np
from PIL import Image

def init():
    global scale
    options = argparse.ArgumentParser(allow_abbrev=False)
    options.add_argument("--model")
    known, _ = options.parse_known_args()
    scale = int(open(os.path.join(known.model, "scale.txt")).read())

def run(mini_batch):
    marker = os.environ.get("FAIL_WHILE")
    if marker and os.path.exists(marker):
        raise RuntimeError("marker file present: " + marker)
    result = []
    for image in mini_batch:
        np_im = np.array(Image.open(image)).reshape((1, 784))
        result.append("{}: {}".format(os.path.basename(image), int(np_im.mean()) // scale))
    return result
`;

function mnistPipeline(): string {
  const dir = tempDir('prs-pipeline-');
  writeFiles(dir, {
    'pipeline.yml': MNIST_PIPELINE,
    'script/prepare_data.yml': PREPARE_YML,
    'script/prepare_data.py': PREPARE_PY,
    'script/digit_identification.py': DIGITS_PY,
    'mnist_models/scale.txt': '20\n',
  });
  return dir;
}

describe('prs run of a v2 pipeline', () => {
  it('runs the command components of 1a_e2e_local_components in order, binding literals, defaults and outputs', async () => {
    const dir = e2eLocalComponents();
    const r = await run(dir);
    expect(r.code, r.stderr).toBe(0);
    const p = r.pipeline!;
    expect(p.status).toBe('completed');
    expect(Object.values(p.jobs).map((j) => j.status)).toEqual(['completed', 'completed', 'completed']);
    const model = readFileSync(
      path.join(p.jobs.train_job!.run_dir, 'outputs/model_output/model.txt'),
      'utf8',
    );
    expect(model).toBe('epocs=20 lr=1.8 schedule=time-based data=sample1.csv\n');
    // ${{parent.outputs.x}}: the pipeline's outputs/ shows the node output bound to it.
    expect(
      readFileSync(path.join(p.run_dir, 'outputs/pipeline_job_evaluation_report/eval_result.txt'), 'utf8'),
    ).toBe(`Eval of: Scored with: ${model}`);
    expect(readFileSync(path.join(p.run_dir, 'outputs/pipeline_job_trained_model/model.txt'), 'utf8')).toBe(
      model,
    );
    // Keys with no local meaning: one notice each, naming where they were.
    for (const key of ['compute', 'environment', 'mode']) expect(notices(r, key)).toHaveLength(1);
    expect(notices(r, 'compute')[0]).toContain('jobs.train_job.compute, jobs.score_job.compute');
    expect(readFileSync(path.join(p.run_dir, 'logs/job_result.txt'), 'utf8')).toContain(
      'Pipeline completed.',
    );
  });

  it('runs a command node that prepares images, then a parallel node that scores them as a full run inside the pipeline folder (3a)', async () => {
    const dir = mnistPipeline();
    const r = await run(dir);
    expect(r.code, r.stderr).toBe(0);
    const p = r.pipeline!;
    const node = p.jobs.predict_digits_mnist!;
    expect(node.type).toBe('parallel');
    expect(node.run_dir).toBe(path.join(p.run_dir, 'jobs/predict_digits_mnist'));
    // A full run folder: its run.json, log tree and the append_row_to file named by the uri_file output.
    expect(existsSync(path.join(node.run_dir, 'run.json'))).toBe(true);
    expect(existsSync(path.join(node.run_dir, 'logs/job_result.txt'))).toBe(true);
    const out = readFileSync(path.join(node.run_dir, 'outputs/aggregated_returns.csv'), 'utf8');
    const rows = out.trim().split('\n').sort();
    expect(rows).toHaveLength(30);
    expect(rows).toContain('img_03.png: 3');
    expect(rows).toContain('img_11.png: 1');
    expect(p.mini_batches).toEqual({ total: 6, succeeded: 6, failed: 0 });
    expect(p.items).toEqual({ succeeded: 30, failed: 0 });
    for (const key of ['compute', 'environment', 'experiment_name', 'tags', 'mode'])
      expect(notices(r, key)).toHaveLength(1);
  });

  it('resumes a pipeline run: the completed command node is not run again, the failed parallel node is', async () => {
    const dir = mnistPipeline();
    const marker = path.join(dir, 'fail-now');
    writeFileSync(marker, 'x');
    const first = await run(dir, 'pipeline.yml', { FAIL_WHILE: marker });
    expect(first.code).toBe(42);
    const p = first.pipeline!;
    expect(p.jobs.prepare_data!.status).toBe('completed');
    expect(p.jobs.predict_digits_mnist!.status).toBe('failed');
    // The cause names the node, why, and the file to open.
    expect(p.reason).toMatch(/^jobs\.predict_digits_mnist \(parallel\) failed: /);
    expect(p.reason).toContain(p.run_dir);
    expect(p.reason).toContain('RuntimeError: marker file present');
    expect(p.jobs.predict_digits_mnist!.log_file).toBeDefined();
    expect(existsSync(p.jobs.predict_digits_mnist!.log_file!)).toBe(true);

    rmSync(marker);
    const resumed = await prs(['resume', p.run_dir, '--json'], {
      env: { PATH: PATH_WITH_DEBIAN_PYTHON, PRS_DATA_DIR: path.join(dir, 'data-dir'), FAIL_WHILE: marker },
    });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'script/prepare_runs.txt'), 'utf8')).toBe('ran\n');
    const out = readFileSync(
      path.join(p.run_dir, 'jobs/predict_digits_mnist/outputs/aggregated_returns.csv'),
      'utf8',
    );
    expect(out.trim().split('\n')).toHaveLength(30);
    // Once completed, there is nothing left to resume.
    const again = await prs(['resume', p.run_dir], { env: { PRS_DATA_DIR: path.join(dir, 'data-dir') } });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already completed');
  });

  it('lists the pipeline run in prs history, its folder present', async () => {
    const dir = e2eLocalComponents();
    const r = await run(dir);
    expect(r.code).toBe(0);
    const h = await prs(['history', '--json'], { env: { PRS_DATA_DIR: path.join(dir, 'data-dir') } });
    const entries = JSON.parse(h.stdout) as Array<{
      name: string;
      runDir: string;
      status: string;
      folder: string;
    }>;
    // The pipeline, not its nodes one by one.
    expect(entries.map((e) => [e.name, e.runDir, e.status, e.folder])).toEqual([
      ['train-score-eval-local', r.pipeline!.run_dir, 'completed', 'present'],
    ]);
  });
});

// --- bindings, optional inputs, side by side, failure propagation, problems ------------------------

const OPTIONAL_YML = `$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: echo_args
inputs:
  required_text:
    type: string
  extra:
    type: string
    optional: true
  data:
    type: uri_folder
    optional: true
outputs:
  out:
    type: uri_file
command: >-
  python -c "import sys; open(sys.argv[1], 'w').write(' '.join(sys.argv[2:]))"
  \${{outputs.out}} --text \${{inputs.required_text}}
  $[[--extra \${{inputs.extra}}]]
  $[[--data \${{inputs.data}}]]
`;

describe('v2 pipeline bindings and graph', () => {
  it('drops $[[ ]] parts whose optional input is unset and keeps them when it is set', async () => {
    const dir = tempDir('prs-pipeline-');
    writeFiles(dir, {
      'echo.yml': OPTIONAL_YML,
      'data/a.txt': 'a',
      'pipeline.yml': `type: pipeline
name: optional-parts
inputs:
  maybe:
    type: string
    optional: true
jobs:
  without:
    component: ./echo.yml
    inputs:
      required_text: hello
      extra: \${{parent.inputs.maybe}}
  with:
    component: ./echo.yml
    inputs:
      required_text: hello
      extra: more
      data:
        type: uri_folder
        path: ./data
`,
    });
    const r = await run(dir);
    expect(r.code, r.stderr).toBe(0);
    const read = (node: string) =>
      readFileSync(path.join(r.pipeline!.jobs[node]!.run_dir, 'outputs/out'), 'utf8');
    expect(read('without')).toBe('--text hello');
    expect(read('with')).toBe(`--text hello --extra more --data ${path.join(dir, 'data')}`);
  });

  it('runs nodes whose inputs are ready side by side', async () => {
    const dir = tempDir('prs-pipeline-');
    // Each node marks that it started, then waits for the other's mark: both complete only together.
    const WAIT_PY = `import os, sys, time
me, other = sys.argv[1], sys.argv[2]
open(me + ".started", "w").close()
deadline = time.time() + 120
while not os.path.exists(other + ".started") and time.time() < deadline:
    time.sleep(0.05)
sys.exit(0 if os.path.exists(other + ".started") else 5)
`;
    const node = (me: string, other: string) =>
      `\n  ${me}:\n    type: command\n    code: .\n    command: python wait.py ${me} ${other}`;
    writeFiles(dir, {
      'wait.py': WAIT_PY,
      'pipeline.yml': `type: pipeline\nname: side-by-side\njobs:${node('left', 'right')}${node('right', 'left')}\n`,
    });
    const r = await run(dir);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(Object.values(r.pipeline!.jobs).map((j) => j.status)).toEqual(['completed', 'completed']);
  });

  it('stops the dependants of a failed node, runs the others, and names the node, its cause and its log', async () => {
    const dir = tempDir('prs-pipeline-');
    writeFiles(dir, {
      'pipeline.yml': `type: pipeline
name: failing
jobs:
  broken:
    type: command
    code: .
    command: python -c "import sys; print('loading the table'); sys.exit('no column named Store')"
    outputs:
      table: {type: uri_folder}
  downstream:
    type: command
    code: .
    command: ls \${{inputs.t}}
    inputs:
      t: \${{parent.jobs.broken.outputs.table}}
  further:
    type: command
    code: .
    command: ls \${{inputs.t}}
    inputs:
      t: \${{parent.jobs.downstream.outputs.o}}
    outputs:
      o: {type: uri_folder}
  independent:
    type: command
    code: .
    command: echo fine
`,
    });
    // downstream has no output o: the problem is found before anything runs.
    const bad = await run(dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      'jobs.further.inputs.t: ${{parent.jobs.downstream.outputs.o}}: node downstream has no output "o"',
    );
    expect(existsSync(path.join(dir, 'runs'))).toBe(false);

    writeFileSync(
      path.join(dir, 'pipeline.yml'),
      readFileSync(path.join(dir, 'pipeline.yml'), 'utf8').replace(
        '      t: ${{parent.jobs.broken.outputs.table}}\n',
        '      t: ${{parent.jobs.broken.outputs.table}}\n    outputs:\n      o: {type: uri_folder}\n',
      ),
    );
    const r = await run(dir);
    expect(r.code).toBe(42);
    const p = r.pipeline!;
    expect(p.status).toBe('failed');
    expect(p.jobs.broken!.status).toBe('failed');
    expect(p.jobs.downstream!.status).toBe('skipped');
    expect(p.jobs.downstream!.reason).toBe('not run: jobs.broken failed');
    expect(p.jobs.further!.status).toBe('skipped');
    expect(p.jobs.independent!.status).toBe('completed');
    const log = path.join(p.run_dir, 'jobs/broken/logs/std_log.txt');
    expect(p.reason).toBe(
      `jobs.broken (command) failed: the command exited with code 1; its last output line: no column named Store (log: ${log})`,
    );
    expect(readFileSync(log, 'utf8')).toContain('loading the table');
    expect(readFileSync(path.join(p.run_dir, 'logs/job_result.txt'), 'utf8')).toContain(p.reason!);
    expect(readdirSync(path.join(p.run_dir, 'jobs')).sort()).toEqual(['broken', 'independent']);
  });

  it('refuses a pipeline with problems before anything runs, every problem naming its key', async () => {
    const dir = tempDir('prs-pipeline-');
    writeFiles(dir, {
      'echo.yml': OPTIONAL_YML,
      'pipeline.yml': `type: pipeline
name: problems
jobs:
  registered:
    component: azureml:my_component:1
  missing_required:
    component: ./echo.yml
  unknown_parent:
    component: ./echo.yml
    inputs:
      required_text: \${{parent.inputs.nope}}
  a:
    type: command
    command: echo \${{inputs.x}}
    inputs:
      x: \${{parent.jobs.b.outputs.y}}
    outputs:
      y: {type: uri_folder}
  b:
    type: command
    command: echo \${{inputs.x}}
    inputs:
      x: \${{parent.jobs.a.outputs.y}}
    outputs:
      y: {type: uri_folder}
  sweep_node:
    type: sweep
`,
    });
    const r = await prs(['validate', path.join(dir, 'pipeline.yml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'jobs.registered.component: "azureml:my_component:1" is a registered component',
    );
    expect(r.stderr).toContain(
      "jobs.missing_required.inputs.required_text: missing (the component's input is not optional",
    );
    expect(r.stderr).toContain(
      'jobs.unknown_parent.inputs.required_text: ${{parent.inputs.nope}} names no pipeline input',
    );
    expect(r.stderr).toContain('jobs: the nodes a -> b -> a read each other');
    expect(r.stderr).toContain(
      'jobs.sweep_node.type: "sweep" is not a node type that runs locally (expected command or parallel)',
    );
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('a parallel component from its own YAML', () => {
  it('binds literal, path and optional inputs into program_arguments, $[[ ]] parts included', async () => {
    const dir = tempDir('prs-pipeline-');
    writeFiles(dir, {
      'components/score.yml': `$schema: http://azureml/sdk-2-0/ParallelComponent.json
name: score_files
type: parallel
version: 1.0.0
inputs:
  files:
    type: uri_folder
    optional: false
  label:
    type: string
  suffix:
    type: string
    optional: true
outputs:
  scored:
    type: uri_file
input_data: \${{inputs.files}}
mini_batch_size: "2"
max_concurrency_per_instance: 2
retry_settings:
  max_retries: 0
  timeout: 60
task:
  type: run_function
  code: ./src
  entry_script: score.py
  program_arguments: >-
    --label \${{inputs.label}}
    $[[--suffix \${{inputs.suffix}}]]
  append_row_to: \${{outputs.scored}}
`,
      'components/src/score.py': `import argparse, os
def init():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--label"); p.add_argument("--suffix", default="none")
    args, _ = p.parse_known_args()
def run(mini_batch):
    return ["%s %s %s" % (args.label, os.path.basename(f), args.suffix) for f in mini_batch]
`,
      'data/a.txt': 'a',
      'data/b.txt': 'b',
      'data/c.txt': 'c',
      'pipeline.yml': `type: pipeline
display_name: parallel-component
inputs:
  images:
    type: uri_folder
    path: ./data
  suffix:
    type: string
    optional: true
jobs:
  plain:
    type: parallel
    component: ./components/score.yml
    inputs:
      files: \${{parent.inputs.images}}
      label: first
      suffix: \${{parent.inputs.suffix}}
  suffixed:
    type: parallel
    component: ./components/score.yml
    inputs:
      files:
        type: uri_folder
        path: ./data
      label: second
      suffix: x1
`,
    });
    const r = await run(dir);
    expect(r.code, r.stderr).toBe(0);
    const rows = (node: string) =>
      readFileSync(path.join(r.pipeline!.jobs[node]!.run_dir, 'outputs/scored'), 'utf8')
        .trim()
        .split('\n')
        .sort();
    expect(rows('plain')).toEqual(['first a.txt none', 'first b.txt none', 'first c.txt none']);
    expect(rows('suffixed')).toEqual(['second a.txt x1', 'second b.txt x1', 'second c.txt x1']);
    expect(r.pipeline!.mini_batches).toEqual({ total: 4, succeeded: 4, failed: 0 });
  });
});

describe('a cancelled pipeline run', () => {
  it('stops its running node on Ctrl-C (exit 130), and prs resume runs only what did not complete', async () => {
    const dir = tempDir('prs-pipeline-');
    writeFiles(dir, {
      'first.py': `open("first_runs.txt", "a").write("ran\\n")\n`,
      // Marks that it started, then waits (at most two minutes) for a go file.
      'second.py': `import os, sys, time
open("second.started", "w").close()
deadline = time.time() + 120
while not os.path.exists("go") and time.time() < deadline:
    time.sleep(0.05)
sys.exit(0 if os.path.exists("go") else 7)
`,
      'pipeline.yml': `type: pipeline
name: cancel-me
jobs:
  first:
    type: command
    code: .
    command: python first.py
    outputs:
      done: {type: uri_folder}
  second:
    type: command
    code: .
    command: python second.py --after \${{inputs.after}}
    inputs:
      after: \${{parent.jobs.first.outputs.done}}
`,
    });
    const env = { PATH: PATH_WITH_DEBIAN_PYTHON, PRS_DATA_DIR: path.join(dir, 'data-dir') };
    const child = startPrs(
      ['run', path.join(dir, 'pipeline.yml'), '--runs-dir', path.join(dir, 'runs'), '--json'],
      { env },
    );
    const result = collect(child);
    await until(() => existsSync(path.join(dir, 'second.started')));
    child.kill('SIGINT');
    const r = await result;
    expect(r.code).toBe(130);
    const p = r.json as unknown as PipelineJson;
    expect(p.status).toBe('cancelled');
    expect(p.jobs.first!.status).toBe('completed');
    expect(p.jobs.second!.status).toBe('cancelled');

    writeFileSync(path.join(dir, 'go'), '');
    const resumed = await prs(['resume', p.run_dir, '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((resumed.json as unknown as PipelineJson).jobs.second!.status).toBe('completed');
    expect(readFileSync(path.join(dir, 'first_runs.txt'), 'utf8')).toBe('ran\n');
  });
});

/** Waits for a condition on the file system (the marker a process writes), checking every 50 ms. */
async function until(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('the condition did not come true within the time allowed');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("a component's declared input type", () => {
  it('decides how a parallel node reads a pipeline input: an mltable input is a table, though the pipeline calls it a folder', async () => {
    const dir = tempDir('prs-pipeline-');
    writeFiles(dir, {
      'table/part.csv': 'id,value\n1,a\n2,b\n3,c\n',
      'score.yml': `type: parallel
inputs:
  table: {type: mltable}
outputs:
  rows: {type: uri_file}
input_data: \${{inputs.table}}
mini_batch_size: "1mb"
max_concurrency_per_instance: 1
task:
  type: run_function
  code: ./src
  entry_script: score.py
  append_row_to: \${{outputs.rows}}
`,
      'src/score.py': `def run(mini_batch):
    return ["%s=%s" % (r["id"], r["value"]) for _, r in mini_batch.iterrows()]
`,
      'pipeline.yml': `type: pipeline
name: typed
inputs:
  data: {type: uri_folder, path: ./table}
jobs:
  score:
    component: ./score.yml
    inputs:
      table: \${{parent.inputs.data}}
`,
    });
    const r = await run(dir);
    expect(r.code, r.stderr).toBe(0);
    const out = readFileSync(path.join(r.pipeline!.jobs.score!.run_dir, 'outputs/rows'), 'utf8');
    expect(out.trim().split('\n').sort()).toEqual(['1=a', '2=b', '3=c']);
  });
});

describe('settings.continue_on_step_failure', () => {
  // waiter completes only once the pipeline has recorded broken's failure; after reads its output.
  const WAITER_PY = `import json, os, sys, time
record = os.path.join(sys.argv[1], "..", "..", "..", "..", "pipeline.json")
deadline = time.time() + 120
while time.time() < deadline:
    try:
        if json.load(open(record))["nodes"]["broken"]["status"] == "failed":
            sys.exit(0)
    except (OSError, ValueError, KeyError):
        pass
    time.sleep(0.05)
sys.exit(4)
`;
  const pipeline = (settings: string) => `type: pipeline
name: continue-or-not
${settings}
jobs:
  broken:
    type: command
    code: .
    command: exit 3
  waiter:
    type: command
    code: .
    command: python waiter.py \${{outputs.o}}
    outputs:
      o: {type: uri_folder}
  after:
    type: command
    code: .
    command: ls \${{inputs.i}}
    inputs:
      i: \${{parent.jobs.waiter.outputs.o}}
`;

  it('by default (as in Azure ML), no node starts after a failure, even one that does not depend on it', async () => {
    const dir = tempDir('prs-pipeline-');
    writeFiles(dir, { 'waiter.py': WAITER_PY, 'pipeline.yml': pipeline('') });
    const r = await run(dir);
    expect(r.code).toBe(42);
    const jobs = r.pipeline!.jobs;
    expect([jobs.broken!.status, jobs.waiter!.status, jobs.after!.status]).toEqual([
      'failed',
      'completed',
      'skipped',
    ]);
    expect(jobs.after!.reason).toBe(
      'not run: jobs.broken failed (settings.continue_on_step_failure is not true)',
    );
  });

  it('with true, nodes that do not depend on the failed one still run', async () => {
    const dir = tempDir('prs-pipeline-');
    writeFiles(dir, {
      'waiter.py': WAITER_PY,
      'pipeline.yml': pipeline('settings:\n  continue_on_step_failure: true'),
    });
    const r = await run(dir);
    expect(r.code).toBe(42);
    expect(r.pipeline!.jobs.after!.status).toBe('completed');
    expect(r.pipeline!.reason).toMatch(/^jobs\.broken \(command\) failed: the command exited with code 3/);
    expect(notices(r, 'settings.continue_on_step_failure')).toHaveLength(0);
  });
});
