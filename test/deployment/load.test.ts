// The batch deployment loader on real files: every key, its default, where it comes from (settings:
// or the root of older files), the model's forms, and problems named by the deployment's own keys.

import { mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDeployment } from '../../src/engine/spec/deployment';
import { tempDir, writeFiles } from '../helpers';

function deployment(yaml: string, files: Record<string, string> = {}) {
  const dir = tempDir('prs-deploy-load-');
  writeFiles(dir, {
    'code/score.py': 'def init():\n    pass\n\ndef run(mini_batch):\n    return mini_batch\n',
    'model/model.pkl': 'not really a pickle',
    'data/a.csv': 'x\n1\n',
    ...files,
    'deployment.yml': yaml,
  });
  const dataDir = path.join(dir, 'prs-data');
  const load = (input = path.join(dir, 'data')) =>
    loadDeployment(path.join(dir, 'deployment.yml'), { input, dataDir });
  return { dir, dataDir, load };
}

const CUSTOM = `$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: scorer
endpoint_name: my-endpoint
type: model
model: ./model
code_configuration:
  code: ./code
  scoring_script: score.py
`;

describe('loadDeployment', () => {
  it("gives a deployment without settings Azure's batch endpoint defaults", async () => {
    const { dir, load } = deployment(CUSTOM);
    const r = await load();
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.spec).toMatchObject({
      name: 'scorer',
      entry_script: path.join(dir, 'code', 'score.py'),
      source_directory: path.join(dir, 'code'),
      runtime: 'python',
      inputs: [{ path: path.join(dir, 'data'), type: 'files' }],
      mini_batch_size: 10,
      process_count_per_node: 1,
      output_action: 'append_row',
      append_row_file_name: 'predictions.csv',
      append_row_folder: 'score',
      outputs: { score: { kind: 'folder', path: 'score' } },
      run_max_try: 4,
      run_invocation_timeout: 30,
      error_threshold: -1,
      logging_level: 'INFO',
      node_count: 1,
      allow_reuse: false,
    });
    expect(r.spec.environment_variables).toEqual({ AZUREML_BI_OUTPUT_PATH: '${{outputs.score}}' });
  });

  it('reads every setting under settings:', async () => {
    const { load } = deployment(`${CUSTOM}resources:
  instance_count: 3
settings:
  max_concurrency_per_instance: 4
  mini_batch_size: 5
  output_action: summary_only
  output_file_name: scores.txt
  retry_settings:
    max_retries: 1
    timeout: 90
  error_threshold: 7
  logging_level: debug
  environment_variables:
    LABEL: yes-please
`);
    const r = await load();
    expect(r.ok && r.spec).toMatchObject({
      process_count_per_node: 4,
      mini_batch_size: 5,
      output_action: 'summary_only',
      append_row_file_name: 'scores.txt',
      run_max_try: 2,
      run_invocation_timeout: 90,
      error_threshold: 7,
      logging_level: 'DEBUG',
      node_count: 3,
      environment_variables: { LABEL: 'yes-please', AZUREML_BI_OUTPUT_PATH: '${{outputs.score}}' },
    });
    // resources.instance_count is accepted, and said to be simulated nodes.
    expect(r.ok && r.warnings).toContainEqual(
      expect.stringMatching(/^resources\.instance_count: 3 runs as node_count 3/),
    );
  });

  it('reads the older layout, with the settings at the root; settings: wins when both say it', async () => {
    const { load } =
      deployment(`$schema: https://azuremlschemas.azureedge.net/latest/batchDeployment.schema.json
name: old-style
endpoint_name: e
model:
  path: ./model
code_configuration:
  code: ./code
  scoring_script: score.py
max_concurrency_per_instance: 2
mini_batch_size: 3
output_action: append_row
output_file_name: out.csv
retry_settings:
  max_retries: 0
  timeout: 12
error_threshold: 4
logging_level: warning
environment_variables: {A: "1"}
settings:
  mini_batch_size: 6
`);
    const r = await load();
    expect(r.ok && r.spec).toMatchObject({
      process_count_per_node: 2,
      mini_batch_size: 6,
      append_row_file_name: 'out.csv',
      run_max_try: 1,
      run_invocation_timeout: 12,
      error_threshold: 4,
      logging_level: 'WARNING',
      environment_variables: { A: '1' },
    });
    expect(r.ok && r.warnings).toContain(
      'mini_batch_size: given at the root and in settings; settings.mini_batch_size is used',
    );
  });

  it('gives one notice for each key with no local meaning', async () => {
    const { load } = deployment(`${CUSTOM}compute: azureml:batch-cluster
environment:
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
  conda_file: environment/conda.yaml
settings:
  instance_type: Standard_DS3_v2
`);
    const r = await load();
    if (!r.ok) throw new Error(r.problems.join('\n'));
    for (const key of ['endpoint_name', 'compute', 'environment'])
      expect(r.warnings.filter((w) => w.startsWith(`${key}:`))).toHaveLength(1);
    expect(r.warnings).toContain('settings.instance_type: unknown batch deployment setting, ignored');
  });

  it('puts a local model folder under its own name in AZUREML_MODEL_DIR (a link, nothing copied)', async () => {
    const { dir, load } = deployment(CUSTOM);
    const r = await load();
    if (!r.ok) throw new Error(r.problems.join('\n'));
    const [[name, home]] = Object.entries(r.spec.models) as [[string, string]];
    expect(name).toBe('model');
    expect(readdirSync(home)).toEqual(['model']);
    expect(readlinkSync(path.join(home, 'model'))).toBe(path.join(dir, 'model'));
    // Loading again reuses the same folder.
    const again = await load();
    expect(again.ok && again.spec.models).toEqual(r.spec.models);
  });

  it('takes an inline model with name and path, and a model that is one file', async () => {
    const named = deployment(CUSTOM.replace('model: ./model', 'model:\n  name: my-model\n  path: ./model'));
    const r1 = await named.load();
    expect(r1.ok && Object.keys(r1.spec.models)).toEqual(['my-model']);
    const file = deployment(CUSTOM.replace('model: ./model', 'model: ./model/model.pkl'));
    const r2 = await file.load();
    if (!r2.ok) throw new Error(r2.problems.join('\n'));
    expect(readdirSync(Object.values(r2.spec.models)[0]!)).toEqual(['model.pkl']);
  });

  it('resolves azureml:<name>:<version>, @latest (the highest version) and {name, version} in the local registry', async () => {
    const { dataDir, load, dir } = deployment(CUSTOM);
    for (const v of ['1', '2', '10']) {
      mkdirSync(path.join(dataDir, 'models', 'clf', v, 'model'), { recursive: true });
      writeFileSync(path.join(dataDir, 'models', 'clf', v, 'model', 'model.pkl'), v);
    }
    const cases: Array<[string, string]> = [
      ['azureml:clf:2', '2'],
      ['azureml:clf@latest', '10'],
      ['azureml:clf', '10'],
      ['\n  name: clf\n  version: 1', '1'],
    ];
    for (const [model, version] of cases) {
      writeFileSync(path.join(dir, 'deployment.yml'), CUSTOM.replace('model: ./model', `model: ${model}`));
      const r = await load();
      if (!r.ok) throw new Error(r.problems.join('\n'));
      expect(r.spec.models).toEqual({ clf: path.join(dataDir, 'models', 'clf', version) });
    }
  });

  it('reads the registry a job spec reads: PRS_MODEL_REGISTRY, where the workers register models', async () => {
    const { dir } = deployment(CUSTOM.replace('model: ./model', 'model: azureml:clf@latest'));
    const registry = path.join(dir, 'elsewhere');
    mkdirSync(path.join(registry, 'clf', '3'), { recursive: true });
    writeFileSync(path.join(registry, 'clf', '3', 'model.pkl'), '3');
    const before = process.env.PRS_MODEL_REGISTRY;
    process.env.PRS_MODEL_REGISTRY = registry;
    try {
      const r = await loadDeployment(path.join(dir, 'deployment.yml'), { input: path.join(dir, 'data') });
      if (!r.ok) throw new Error(r.problems.join('\n'));
      expect(r.spec.models).toEqual({ clf: path.join(registry, 'clf', '3') });
    } finally {
      if (before === undefined) delete process.env.PRS_MODEL_REGISTRY;
      else process.env.PRS_MODEL_REGISTRY = before;
    }
  });

  it('says how to give a local model when the registry lacks it, or it is in the cloud', async () => {
    const { dataDir, load, dir } = deployment(CUSTOM.replace('model: ./model', 'model: azureml:heart:3'));
    const r = await load();
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toEqual([
      `model: "azureml:heart:3": the local model registry has no model "heart" (no folder ${path.join(dataDir, 'models', 'heart')}) (expected a local path such as model: ./model or model: {path: ./model}, or put the model's files in ${path.join(dataDir, 'models', '<name>', '<version>')})`,
    ]);
    mkdirSync(path.join(dataDir, 'models', 'heart', '1'), { recursive: true });
    const r2 = await load();
    expect(!r2.ok && r2.problems[0]).toMatch(/has no version 3 of "heart" \(.* has 1\)/);
    writeFileSync(
      path.join(dir, 'deployment.yml'),
      CUSTOM.replace('model: ./model', 'model: azureml://registries/azureml/models/heart/versions/1'),
    );
    const r3 = await load();
    expect(!r3.ok && r3.problems[0]).toMatch(
      /^model: "azureml:\/\/registries.*" is a model in an Azure ML registry or workspace, which is not reachable here \(expected a local path/,
    );
  });

  it('names the deployment keys in its problems, every one at once', async () => {
    const { load, dir } = deployment(`type: model
name: scorer
model: ./no-such-model
code_configuration:
  code: ./code
  scoring_script: missing.py
settings:
  mini_batch_size: ten
  retry_settings: {max_retries: -1}
  output_action: write_everything
`);
    const r = await load(path.join(dir, 'no-data'));
    expect(r.ok).toBe(false);
    const problems = !r.ok ? r.problems : [];
    expect(problems).toEqual(
      expect.arrayContaining([
        `model: "./no-such-model" does not exist at ${path.join(dir, 'no-such-model')} (expected a model file or folder)`,
        'settings.mini_batch_size: "ten" is not a valid mini-batch size (expected a number of files such as 10)',
        'settings.retry_settings.max_retries: -1 is not a valid retry count (expected a whole number >= 0)',
        expect.stringMatching(/^code_configuration\.scoring_script: "missing\.py" does not exist/),
        expect.stringMatching(/^settings\.output_action: /),
        expect.stringMatching(/^--input: .*no-data.* does not exist/),
      ]),
    );
  });

  it('refuses a data asset or a URL as --input, as the published deploy-and-run.sh scripts give it', async () => {
    const { load } = deployment(CUSTOM);
    for (const input of [
      'azureml:heart-dataset-unlabeled@latest',
      'https://azuremlexampledata.blob.core.windows.net/data/heart-disease-uci/data',
    ]) {
      const r = await load(input);
      expect(!r.ok && r.problems).toEqual([
        `--input: "${input}" is a cloud location (expected a local file or folder: download the data first)`,
      ]);
    }
  });

  it('refuses a model that is not MLflow without a scoring script, and gives an MLflow one the generated scoring', async () => {
    const bare = `type: model\nname: scorer\nmodel: ./model\n`;
    const plain = deployment(bare);
    const r = await plain.load();
    expect(!r.ok && r.problems).toEqual([
      'code_configuration: missing, and the model at ./model is not an MLflow model (no MLmodel file in it) (expected code_configuration: {code: ./code, scoring_script: score.py}; only MLflow models get a generated scoring script)',
    ]);
    const mlflow = deployment(bare, { 'model/MLmodel': 'flavors: {}\n' });
    const r2 = await mlflow.load();
    if (!r2.ok) throw new Error(r2.problems.join('\n'));
    expect(path.basename(r2.spec.entry_script)).toBe('score.py');
    expect(r2.spec.source_directory).toMatch(/resources[\\/]mlflow-batch-scoring$/);
  });

  it('names the job after the deployment, reshaped to a job name', async () => {
    const { load } = deployment(CUSTOM.replace('name: scorer', 'name: Classifier_XGBoost_Custom'));
    const r = await load();
    expect(r.ok && r.spec.name).toBe('classifier-xgboost-custom');
  });
});
