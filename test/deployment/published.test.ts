// Batch deployments in the shapes of the published Azure ML ones (test/azuremlShapes.ts: their
// keys and layouts, our own names and scoring script) run by the real CLI on real Python workers;
// their models and data are made small by the test.

import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DIGITS_SCORE_PY,
  HEART_DEPLOYMENT,
  LEGACY_CODE_DEPLOYMENT,
  LEGACY_MLFLOW_DEPLOYMENT,
} from '../azuremlShapes';
import { DEBIAN_PYTHON } from '../helpers';
import { HEART_COLUMNS, makeMlflowModel, prsIn, readLines, workspace } from './helpers';
import { execFileSync } from 'node:child_process';

/** predictions.csv of the generated scoring as {file: predictions in row order}. */
function byFile(lines: string[]): Record<string, number[]> {
  const out: Record<string, Array<[number, number]>> = {};
  for (const line of lines) {
    const [row, prediction, file] = line.split(',');
    (out[file!] ??= []).push([Number(row), Number(prediction)]);
  }
  return Object.fromEntries(
    Object.entries(out).map(([f, rows]) => [f, rows.sort((a, b) => a[0] - b[0]).map((r) => r[1])]),
  );
}

describe('batch deployments in the published shapes', () => {
  it('a model deployment in the deployment-simple shape: azureml:<name>@latest from the local registry, scored by the generated MLflow scoring', async () => {
    const { dir, dataDir } = workspace({ 'deployment.yml': HEART_DEPLOYMENT });
    // As `az ml model create --name heart-classifier-mlflow --type mlflow_model --path model`
    // registers it: the version folder holds the model folder. Version 1 is older, 2 is latest.
    const registry = path.join(dataDir, 'models', 'heart-classifier-mlflow');
    mkdirSync(path.join(registry, '1', 'model'), { recursive: true });
    writeFileSync(path.join(registry, '1', 'model', 'MLmodel'), 'not this one\n');
    const { expected } = makeMlflowModel({
      modelDir: path.join(registry, '2', 'model'),
      columns: HEART_COLUMNS,
      dataDir: path.join(dir, 'data'),
      files: 4,
      rows: 6,
      prefix: 'heart-unlabeled',
    });
    const r = await prsIn(dir, dataDir, [
      'run',
      'deployment.yml',
      '--input',
      'data',
      '--output',
      'scores',
      '--json',
    ]);
    expect(r.stderr).not.toMatch(/Traceback/);
    expect(r.code).toBe(0);
    // settings.mini_batch_size: 2 over 4 files.
    expect(r.json!.mini_batches).toEqual({ total: 2, succeeded: 2, failed: 0 });
    expect(r.json!.output_file).toBe(path.join(r.json!.run_dir, 'outputs', 'score', 'predictions.csv'));
    // --output: the score output, as az ml job download --output-name score gets it.
    expect(readdirSync(path.join(dir, 'scores'))).toEqual(['predictions.csv']);
    const lines = readLines(path.join(dir, 'scores', 'predictions.csv'));
    expect(lines).toHaveLength(24);
    expect(byFile(lines)).toEqual(expected);
    // Read as Azure ML's notebook reads it.
    const read = execFileSync(
      DEBIAN_PYTHON,
      [
        '-c',
        'import pandas as pd, sys; s = pd.read_csv(sys.argv[1], names=["row", "prediction", "file"]); print(len(s), s["file"].nunique())',
        path.join(dir, 'scores', 'predictions.csv'),
      ],
      { encoding: 'utf8' },
    );
    expect(read.trim()).toBe('24 4');
    // Keys with no local meaning: one notice each.
    expect(r.stderr.match(/^warning: endpoint_name: /gm)).toHaveLength(1);
    expect(r.stderr.match(/^warning: compute: /gm)).toHaveLength(1);
    expect(r.stderr).toMatch(/^warning: resources\.instance_count: 2 runs as node_count 2/m);
    const record = JSON.parse(readFileSync(path.join(r.json!.run_dir, 'run.json'), 'utf8'));
    expect(record.spec).toMatchObject({
      name: 'heart-simple',
      node_count: 2,
      process_count_per_node: 2,
      mini_batch_size: 2,
      run_max_try: 4,
      run_invocation_timeout: 300,
      error_threshold: -1,
      logging_level: 'INFO',
      append_row_file_name: 'predictions.csv',
      models: { 'heart-classifier-mlflow': path.join(registry, '2') },
    });
  });

  it('the older layout (settings at the root) with an inline model path, generated scoring', async () => {
    const { dir, dataDir } = workspace({ 'mlflow-deployment.yml': LEGACY_MLFLOW_DEPLOYMENT });
    // Taxi-trip columns like the published autolog_nyc_taxi model's: float, integer and string.
    const columns = [
      { name: 'fareAmount', type: 'float' },
      { name: 'paymentType', type: 'integer' },
      { name: 'passengerCount', type: 'integer' },
      { name: 'tripDistance', type: 'float' },
      { name: 'tripTimeSecs', type: 'integer' },
      { name: 'pickupTimeBin', type: 'string' },
    ];
    const { expected } = makeMlflowModel({
      modelDir: path.join(dir, 'taxi-model'),
      columns,
      dataDir: path.join(dir, 'taxi'),
      files: 3,
      rows: 4,
      prefix: 'trips',
    });
    const r = await prsIn(dir, dataDir, ['run', 'mlflow-deployment.yml', '--input', 'taxi', '--json']);
    expect(r.stderr).not.toMatch(/Traceback/);
    expect(r.code).toBe(0);
    // The defaults of a batch endpoint: mini-batches of 10 files, one process, predictions.csv.
    expect(r.json!.mini_batches.total).toBe(1);
    expect(path.basename(r.json!.output_file!)).toBe('predictions.csv');
    expect(byFile(readLines(r.json!.output_file!))).toEqual(expected);
    expect(r.stderr).toMatch(/^warning: endpoint_name: /m);
  });

  it('the older layout with code_configuration and a scoring script of its own (scikit-learn)', async () => {
    const { dir, dataDir } = workspace({
      'nonmlflow-deployment.yml': LEGACY_CODE_DEPLOYMENT,
      'digits/code/score_digits.py': DIGITS_SCORE_PY,
      'digits/environment/conda.yml': 'name: not-used\n',
    });
    // The scoring script loads a pickled scikit-learn digits classifier from
    // $AZUREML_MODEL_DIR/model and reads PNGs (the published one loads a TensorFlow graph).
    execFileSync(DEBIAN_PYTHON, [
      '-c',
      `
import os, pickle, sys
import numpy as np
from PIL import Image
from sklearn import datasets, svm
d = datasets.load_digits()
root = sys.argv[1]
os.makedirs(os.path.join(root, "digits", "model"), exist_ok=True)
pickle.dump(svm.SVC(gamma=0.001).fit(d.data[:1000], d.target[:1000]), open(os.path.join(root, "digits", "model", "digits.pkl"), "wb"))
os.makedirs(os.path.join(root, "images"), exist_ok=True)
for i in range(1000, 1025):
    Image.fromarray((d.data[i].reshape(8, 8) * 255.0 / 16.0).round().astype(np.uint8), mode="L").save(os.path.join(root, "images", "digit_%04d_%d.png" % (i, d.target[i])))
`,
      dir,
    ]);
    const r = await prsIn(dir, dataDir, ['run', 'nonmlflow-deployment.yml', '--input', 'images', '--json']);
    expect(r.stderr).not.toMatch(/Traceback/);
    expect(r.code).toBe(0);
    // Root-level settings: mini_batch_size 10 over 25 images, max_concurrency_per_instance 2.
    expect(r.json!.mini_batches).toEqual({ total: 3, succeeded: 3, failed: 0 });
    const lines = readLines(r.json!.output_file!);
    expect(lines).toHaveLength(25);
    const right = lines.filter((l) =>
      /_(\d)\.png: (\d)$/
        .exec(l)
        ?.slice(1)
        .reduce((a, b) => (a === b ? a : '')),
    );
    expect(right.length).toBeGreaterThan(20);
    const score = path.dirname(r.json!.output_file!);
    const seen = readdirSync(score).filter((f) => f.startsWith('seen-'));
    expect(seen.length).toBeGreaterThanOrEqual(1);
    // AZUREML_MODEL_DIR holds the model folder under its own name ("model"), as on Azure.
    const modelDir = readFileSync(path.join(score, seen[0]!), 'utf8');
    expect(readdirSync(modelDir)).toEqual(['model']);
    expect(existsSync(path.join(modelDir, 'model', 'digits.pkl'))).toBe(true);
    const record = JSON.parse(readFileSync(path.join(r.json!.run_dir, 'run.json'), 'utf8'));
    expect(record.spec).toMatchObject({
      process_count_per_node: 2,
      run_max_try: 4,
      run_invocation_timeout: 30,
    });
    expect(r.stderr).toMatch(/^warning: environment: not used/m);
  });
});
