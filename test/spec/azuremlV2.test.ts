import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fromAzureMlV2, toAzureMlV2 } from '../../src/engine/spec/azuremlV2';
import type { SpecFileInput } from '../../src/common/specSchema';
import { loadSpec, resolveSpec, type LoadResult } from '../../src/engine/spec/load';
import { splitShellWords, joinShellWords } from '../../src/engine/spec/shellWords';
import { tempTree, type TempTree } from './fixtures';

let t: TempTree;
beforeEach(() => {
  t = tempTree();
});
afterEach(() => t.remove());

function ok(r: LoadResult) {
  if (!r.ok) throw new Error(`expected a valid spec, got:\n${r.problems.join('\n')}`);
  return r;
}

// Shaped like Microsoft's own example (azureml-examples, iris batch prediction with mltable).
const IRIS_V2 = `
$schema: https://azuremlschemas.azureedge.net/latest/parallelJob.schema.json
type: parallel
name: iris-batch-prediction
display_name: Iris batch prediction
compute: azureml:cpu-cluster
inputs:
  job_data_path:
    type: mltable
    path: ./neural-iris-mltable
    mode: eval_mount
  iris_model:
    type: custom_model
    path: ./iris-model
  score_threshold: 0.5
outputs:
  job_output_path:
    type: uri_folder
    mode: rw_mount
input_data: \${{inputs.job_data_path}}
mini_batch_size: "100 kb"
resources:
  instance_count: 2
max_concurrency_per_instance: 4
mini_batch_error_threshold: 5
logging_level: "debug"
error_threshold: 7
retry_settings:
  max_retries: 1
  timeout: 45
environment_variables:
  AZUREML_PARALLEL_EXAMPLE: "1"
task:
  type: run_function
  code: ./script
  entry_script: iris_prediction.py
  environment:
    image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04
    conda_file: ./environment-parallel.yml
  program_arguments: >-
    --model \${{inputs.iris_model}}
    --threshold \${{inputs.score_threshold}}
    --allowed_failed_percent 30
    --task_overhead_timeout 1200
    --resource_monitor_interval 20
  append_row_to: \${{outputs.job_output_path}}
`;

describe('Azure ML v2 import', () => {
  it('maps a type: parallel job onto the spec', async () => {
    t.file('script/iris_prediction.py', 'def run(b): return b\n');
    t.file(
      'neural-iris-mltable/MLTable',
      'paths:\n  - file: ./iris.csv\ntransformations:\n  - read_delimited:\n      delimiter: ","\n',
    );
    t.file('neural-iris-mltable/iris.csv', 'a,b\n1,2\n');
    t.file('iris-model/model.pkl');
    const specPath = t.file('iris.yml', IRIS_V2);
    const { spec, warnings } = ok(await loadSpec(specPath));
    expect(spec).toEqual({
      name: 'iris-batch-prediction',
      spec_path: specPath,
      entry_script: path.join(t.dir, 'script/iris_prediction.py'),
      source_directory: path.join(t.dir, 'script'),
      runtime: 'python',
      inputs: [
        {
          // The MLTable file says which file holds the table, and how to read it.
          path: path.join(t.dir, 'neural-iris-mltable/iris.csv'),
          type: 'tabular',
          format: 'csv',
          mltable: {
            file: path.join(t.dir, 'neural-iris-mltable/MLTable'),
            header: 'all_files_same_headers',
          },
        },
      ],
      input_type: 'tabular',
      side_inputs: [],
      mini_batch_size: 100 * 1024,
      error_threshold: 7,
      allowed_failed_count: 5,
      allowed_failed_percent: 30,
      output_action: 'append_row',
      append_row_file_name: 'parallel_run_step.txt',
      // append_row_to names a folder output: the file goes inside it.
      append_row_folder: 'job_output_path',
      outputs: { job_output_path: { kind: 'folder', path: 'job_output_path' } },
      node_count: 2,
      process_count_per_node: 4,
      gpus: 'auto',
      run_invocation_timeout: 45,
      run_max_try: 2,
      logging_level: 'DEBUG',
      arguments: [
        '--model',
        path.join(t.dir, 'iris-model'),
        '--threshold',
        '0.5',
        '--task_overhead_timeout',
        '1200',
      ],
      models: { iris_model: path.join(t.dir, 'iris-model') },
      environment_variables: { AZUREML_PARALLEL_EXAMPLE: '1' },
      resource_monitor_interval: 20,
      allow_reuse: true,
    });
    expect(warnings).toEqual([
      'task.environment: not used locally; workers run the python of the spec (default: python3 on PATH)',
    ]);
  });

  it('uses retry defaults (max_retries 2 -> 3 attempts) and summary_only without append_row_to', () => {
    const r = fromAzureMlV2({
      type: 'parallel',
      name: 'abc',
      inputs: { data: { type: 'uri_folder', path: './data' } },
      input_data: '${{inputs.data}}',
      mini_batch_size: '10',
      task: { type: 'run_function', code: '.', entry_script: 'score.py' },
    });
    expect(r.problems).toEqual([]);
    expect(r.spec).toEqual({
      name: 'abc',
      inputs: [{ path: './data', type: 'files' }],
      mini_batch_size: 10,
      source_directory: '.',
      entry_script: 'score.py',
      output_action: 'summary_only',
    });
  });

  it('names the v2 key path in its problems, the mapping ones and the later ones', async () => {
    t.file('score.py');
    const doc = {
      type: 'parallel',
      name: 'batch_job_1',
      inputs: {
        data: { type: 'uri_folder', path: './missing' },
        cloud: { type: 'uri_folder', path: 'azureml:iris:1' },
        odd: { type: 'dataset', path: './x' },
      },
      input_data: '${{inputs.data}}',
      mini_batch_size: '1mb',
      resources: { instance_count: 0 },
      max_concurrency_per_instance: 'many',
      retry_settings: { max_retries: -1, timeout: 0 },
      mini_batch_error_threshold: 'x',
      task: { type: 'command', entry_script: 'nope.py', program_arguments: '--a "unclosed' },
    };
    const r = await resolveSpec(doc, t.dir);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.sort()).toEqual(
      [
        'inputs.cloud.path: "azureml:iris:1" is a cloud location (expected a local file or folder path)',
        'inputs.odd.type: "dataset" is not a valid input type (expected one of uri_folder, uri_file, mltable, custom_model, mlflow_model, triton_model, string, integer, number, boolean)',
        'mini_batch_size: "1mb" is not a valid mini-batch size for a file input (expected a number of files such as "10")',
        'retry_settings.max_retries: -1 is not a valid retry count (expected a whole number >= 0)',
        'task.type: "command" is not a supported task type (expected run_function)',
        'task.program_arguments: unterminated " quote at character 5 (expected balanced quotes)',
        'resources.instance_count: 0 is not a valid node count (expected a whole number >= 1)',
        'max_concurrency_per_instance: "many" is not a valid process count (expected auto or a whole number from 1 to 1024)',
        'retry_settings.timeout: 0 is not a valid timeout (expected a number of seconds > 0)',
        'mini_batch_error_threshold: "x" is not a valid failed mini-batch count (expected -1 to ignore, or a whole number >= 0)',
        `task.entry_script: "nope.py" does not exist at ${path.join(t.dir, 'nope.py')} (expected a file, relative to source_directory)`,
        `inputs.data.path: "./missing" does not exist at ${path.join(t.dir, 'missing')} (expected a folder, a file or a glob)`,
      ].sort(),
    );
  });

  it('requires input_data to name a data input', () => {
    const r = fromAzureMlV2({
      type: 'parallel',
      name: 'abc',
      inputs: { data: { type: 'uri_folder', path: './d' } },
      input_data: '${{inputs.other}}',
      task: { entry_script: 'score.py' },
    });
    expect(r.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'input_data: "${{inputs.other}}" names no data input (expected ${{inputs.<name>}} of one of: data)',
    ]);
  });

  it('refuses other job types', () => {
    const r = fromAzureMlV2({ type: 'command', command: 'python x.py' });
    expect(r.problems[0]).toEqual({
      path: 'type',
      message: '"command" is not a supported job type (expected parallel)',
    });
  });

  it('reshapes an Azure name that does not fit ours, with a warning', () => {
    const r = fromAzureMlV2({
      type: 'parallel',
      name: 'Batch_Job_2024',
      inputs: { d: { type: 'uri_file', path: 'a.txt' } },
      input_data: '${{inputs.d}}',
      task: { entry_script: 'score.py' },
    });
    expect(r.spec.name).toBe('batch-job-2024');
    expect(r.warnings).toContain('name: "Batch_Job_2024" is used as the job name "batch-job-2024"');
  });
});

describe('Azure ML v2 outputs and program_arguments', () => {
  const job = (extra: Record<string, unknown>, task: Record<string, unknown> = {}) => ({
    type: 'parallel',
    name: 'outs',
    inputs: { data: { type: 'uri_folder', path: './data' } },
    input_data: '${{inputs.data}}',
    ...extra,
    task: { type: 'run_function', code: '.', entry_script: 'score.py', ...task },
  });
  beforeEach(() => {
    t.file('score.py');
    t.file('data/a.txt');
  });

  it('keeps ${{outputs.x}} in the arguments for the run folder, and declares each output there', async () => {
    const r = ok(
      await resolveSpec(
        job(
          {
            outputs: {
              model_folder: { type: 'uri_folder', mode: 'rw_mount' },
              scores: {
                type: 'uri_file',
                path: 'azureml://datastores/${{default_datastore}}/paths/${{name}}/s.csv',
              },
              bare_file: { type: 'uri_file' },
              table: { type: 'mltable' },
            },
          },
          { program_arguments: '--model_folder ${{ outputs.model_folder }} --out=${{outputs.scores}}' },
        ),
        t.dir,
      ),
    );
    expect(r.spec.arguments).toEqual([
      '--model_folder',
      '${{outputs.model_folder}}',
      '--out=${{outputs.scores}}',
    ]);
    expect(r.spec.outputs).toEqual({
      model_folder: { kind: 'folder', path: 'model_folder' },
      scores: { kind: 'file', path: 's.csv' },
      bare_file: { kind: 'file', path: 'bare_file' },
      table: { kind: 'folder', path: 'table' },
    });
    expect(r.spec.output_action).toBe('summary_only');
    expect(r.warnings).toContain(
      'outputs.scores.path: "azureml://datastores/${{default_datastore}}/paths/${{name}}/s.csv" is not written here; the output is outputs/s.csv in the run folder',
    );
  });

  it('takes a pipeline binding or an empty entry as a folder output of its own', async () => {
    const r = ok(
      await resolveSpec(job({ outputs: { bound: '${{parent.outputs.scored}}', empty: null } }), t.dir),
    );
    expect(r.spec.outputs).toEqual({
      bound: { kind: 'folder', path: 'bound' },
      empty: { kind: 'folder', path: 'empty' },
    });
    expect(r.warnings).toContain(
      'outputs.bound: ${{parent.outputs.scored}} binds a pipeline output; run alone, the output is outputs/bound',
    );
  });

  it('append_row_to a uri_file output writes the file its path names (outputs/<file>)', async () => {
    const r = ok(
      await resolveSpec(
        job(
          {
            outputs: {
              job_output_file: {
                type: 'uri_file',
                path: 'azureml://datastores/${{default_datastore}}/paths/${{name}}/aggregated_returns.csv',
              },
            },
          },
          { append_row_to: '${{outputs.job_output_file}}' },
        ),
        t.dir,
      ),
    );
    expect(r.spec.output_action).toBe('append_row');
    expect(r.spec.append_row_file_name).toBe('aggregated_returns.csv');
    expect(r.spec.append_row_folder).toBeUndefined();
  });

  it('append_row_to a uri_folder output writes parallel_run_step.txt, or --append_row_file_name, inside it', async () => {
    const folder = job({ outputs: { out: { type: 'uri_folder' } } }, { append_row_to: '${{outputs.out}}' });
    const r = ok(await resolveSpec(folder, t.dir));
    expect([r.spec.append_row_folder, r.spec.append_row_file_name]).toEqual(['out', 'parallel_run_step.txt']);
    const named = ok(
      await resolveSpec(
        { ...folder, task: { ...folder.task, program_arguments: '--append_row_file_name preds.txt' } },
        t.dir,
      ),
    );
    expect([named.spec.append_row_folder, named.spec.append_row_file_name]).toEqual(['out', 'preds.txt']);
  });

  it('acts on --error_threshold in program_arguments; the error_threshold key wins over it', async () => {
    const flag = ok(await resolveSpec(job({}, { program_arguments: '--error_threshold 5 --n 1' }), t.dir));
    expect(flag.spec.error_threshold).toBe(5);
    expect(flag.spec.arguments).toEqual(['--n', '1']);
    const both = ok(
      await resolveSpec(job({ error_threshold: 7 }, { program_arguments: '--error_threshold 5' }), t.dir),
    );
    expect(both.spec.error_threshold).toBe(7);
    expect(both.warnings).toContain(
      'task.program_arguments: --error_threshold 5 is overridden by error_threshold: 7',
    );
    const bad = await resolveSpec(job({}, { program_arguments: '--n 1 --error_threshold lots' }), t.dir);
    expect(bad.ok ? [] : bad.problems).toEqual([
      'task.program_arguments.3: "lots" is not a valid value for --error_threshold (expected a whole number of items >= -1)',
    ]);
  });

  it('refuses what names no output, an output type it does not know, and two outputs in one place', async () => {
    const r = await resolveSpec(
      job(
        {
          outputs: {
            a: { type: 'uri_file', path: './x/same.csv' },
            b: { type: 'uri_file', path: './y/same.csv' },
            c: { type: 'string' },
            'bad.name': { type: 'uri_folder' },
          },
        },
        { program_arguments: '--out ${{outputs.missing}}', append_row_to: '${{outputs.nope}}' },
      ),
      t.dir,
    );
    expect(r.ok ? [] : r.problems.sort()).toEqual(
      [
        'outputs.b.path: outputs/same.csv is where output a goes too (expected outputs with distinct names or file names)',
        'outputs.c.type: "string" is not a valid output type (expected one of uri_folder, uri_file, mltable, custom_model, mlflow_model, triton_model)',
        'outputs.bad.name: "bad.name" is not a valid output name (expected letters, digits, _ and -, not first a digit)',
        'task.program_arguments: ${{outputs.missing}} names no output (expected one of a)',
        'task.append_row_to: "${{outputs.nope}}" names no output (expected ${{outputs.<name>}} of one of: a)',
      ].sort(),
    );
  });
});

describe('Azure ML v2 export and round trip', () => {
  it('exports the v2 keys', () => {
    const { doc, warnings } = toAzureMlV2({
      name: 'score-digits',
      entry_script: 'score.py',
      source_directory: 'src',
      inputs: [{ path: './data' }],
      side_inputs: [{ name: 'labels', path: './labels.csv' }],
      models: { digits: './models/digits.pkl' },
      mini_batch_size: 5,
      run_max_try: 4,
      run_invocation_timeout: 30,
      process_count_per_node: 2,
      allowed_failed_count: 3,
      allowed_failed_percent: 25,
      arguments: ['--name', 'two words'],
    });
    expect(doc).toEqual({
      $schema: 'https://azuremlschemas.azureedge.net/latest/parallelJob.schema.json',
      type: 'parallel',
      name: 'score-digits',
      inputs: {
        input_data: { type: 'uri_folder', path: './data' },
        labels: { type: 'uri_file', path: './labels.csv' },
        digits: { type: 'custom_model', path: './models/digits.pkl' },
      },
      // The output file is a uri_file output whose path names it, as the published examples write it.
      outputs: {
        job_output: {
          type: 'uri_file',
          path: 'azureml://datastores/${{default_datastore}}/paths/${{name}}/parallel_run_step.txt',
          mode: 'rw_mount',
        },
      },
      input_data: '${{inputs.input_data}}',
      mini_batch_size: '5',
      mini_batch_error_threshold: 3,
      error_threshold: -1,
      logging_level: 'INFO',
      resources: { instance_count: 1 },
      max_concurrency_per_instance: 2,
      retry_settings: { max_retries: 3, timeout: 30 },
      task: {
        type: 'run_function',
        code: 'src',
        entry_script: 'score.py',
        program_arguments: "--name 'two words' --allowed_failed_percent 25",
        append_row_to: '${{outputs.job_output}}',
      },
    });
    expect(warnings).toEqual([
      'task.environment and compute are left out: add them before submitting to Azure ML',
    ]);
  });

  it('throws on a spec with problems', () => {
    expect(() => toAzureMlV2({ name: 'x', entry_script: 'a.py', inputs: [{ path: 'd' }] })).toThrow(
      /^the spec has problems:\nname: "x"/,
    );
  });

  it.each([
    [
      'files',
      {
        name: 'score-files',
        entry_script: 'score.py',
        source_directory: './src',
        inputs: [{ path: './data' }],
        side_inputs: [{ name: 'labels', path: './labels' }],
        models: { digits: './models/digits.pkl' },
        mini_batch_size: 3,
        error_threshold: 2,
        allowed_failed_count: 1,
        allowed_failed_percent: 40,
        output_action: 'summary_only',
        node_count: 2,
        process_count_per_node: 3,
        run_invocation_timeout: 12.5,
        run_max_try: 1,
        logging_level: 'WARNING',
        arguments: ['--label dir', './labels', '--n', 4],
        environment_variables: { A: 'x y', B: 2 },
        resource_monitor_interval: 0,
        profiling_module: 'cProfile',
      },
    ],
    [
      'tabular',
      {
        name: 'score-table',
        entry_script: 'score.py',
        source_directory: './src',
        inputs: [{ path: './table.csv', type: 'tabular' }],
        mini_batch_size: '2MB',
        partition_keys: ['store'],
        append_row_file_name: 'scores.txt',
        arguments: ['--resource_monitor_interval', '30'],
      },
    ],
    [
      'flags',
      {
        name: 'score-flags',
        entry_script: 'score.py',
        source_directory: './src',
        inputs: [{ path: './data' }],
        // Both move to their v2 places: the error_threshold key, the output file's path.
        arguments: ['--error_threshold', '4', '--append_row_file_name', 'out.csv', '--n', '1'],
      },
    ],
  ] as Array<[string, SpecFileInput]>)('a %s spec survives spec -> v2 -> spec', async (_kind, original) => {
    t.file('src/score.py');
    t.file('data/a.png');
    t.file('labels/l.txt');
    t.file('models/digits.pkl');
    t.file('table.csv', 'store,x\n1,2\n');
    const specPath = t.file('job.yaml', stringify(original));
    const direct = ok(await loadSpec(specPath));
    const { doc } = toAzureMlV2(original);
    const v2Path = t.file('job.v2.yml', stringify(doc));
    const viaV2 = ok(await loadSpec(v2Path));
    // The v2 document declares its output file as an output; the spec format has it implicitly.
    expect({ ...viaV2.spec, spec_path: specPath, outputs: undefined }).toEqual(direct.spec);
  });
});

describe('shell words', () => {
  it('splits like sh and joins back', () => {
    const text = `--a 1 --b "two words" --c 'it''s' --d a\\ b --e "q\\"x" --f ''`;
    const split = splitShellWords(text);
    expect(split).toEqual({
      ok: true,
      words: ['--a', '1', '--b', 'two words', '--c', 'its', '--d', 'a b', '--e', 'q"x', '--f', ''],
    });
    if (!split.ok) return;
    expect(splitShellWords(joinShellWords(split.words))).toEqual(split);
    expect(splitShellWords(joinShellWords(["it's", 'a\nb', '$HOME']))).toEqual({
      ok: true,
      words: ["it's", 'a\nb', '$HOME'],
    });
  });
});
