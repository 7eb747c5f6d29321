// Azure ML files in the shapes the published examples use (the same keys, nesting and ${{...}}
// binding forms, which are the interface), written by the tests at run time. The names, values
// and Python scripts here are this project's own: the scripts call the APIs such jobs call
// (mltable.load, mlflow.autolog, mlflow.sklearn.save_model / load_model, AZUREML_MODEL_DIR).

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeFiles } from './helpers';

// --- a pipeline whose parallel node scores an MLTable with an MLflow model (the "2a" shape) -------

/** Pipeline with one inline parallel node, `batch_prediction`, appending rows to a uri_file output. */
export const IRIS_PIPELINE = `$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: iris-scoring
description: Scores an iris table with a scikit-learn model, row by row
experiment_name: prs-iris
tags:
  suite: prs
  shape: 2a

settings:
  default_compute: azureml:cpu-cluster

jobs:
  batch_prediction:
    type: parallel
    compute: azureml:cpu-cluster
    inputs:
      input_data:
        type: mltable
        path: ./neural-iris-mltable
        mode: direct
      score_model:
        type: uri_folder
        path: ./iris-model
        mode: download
    outputs:
      job_output_file:
        type: uri_file
        path: azureml://datastores/\${{default_datastore}}/paths/\${{name}}/aggregated_returns.csv
        mode: rw_mount
    input_data: \${{inputs.input_data}}
    mini_batch_size: "10kb"
    resources:
      instance_count: 2
    max_concurrency_per_instance: 2
    logging_level: "DEBUG"
    error_threshold: 5
    mini_batch_error_threshold: 5
    retry_settings:
      max_retries: 2
      timeout: 60
    environment_variables:
      "PRS_SHAPE": "2a"
    task:
      type: run_function
      code: "./script"
      entry_script: score_iris.py
      environment:
        name: "iris-env"
        version: 1
        image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04
        conda_file: ./environment/conda.yml
      program_arguments: >-
        --model \${{inputs.score_model}}
        --allowed_failed_percent 30
        --task_overhead_timeout 1200
        --progress_update_timeout 600
        --first_task_creation_timeout 600
        --resource_monitor_interval 20
      append_row_to: \${{outputs.job_output_file}}
`;

/** An MLTable over one delimited file with a header row. */
export const IRIS_MLTABLE = `paths:
  - file: ./iris.csv
transformations:
  - read_delimited:
      delimiter: ","
      encoding: utf8
      header: all_files_same_headers
`;

/** init() loads the --model folder as an MLflow sklearn model; run() keeps 4 columns plus the label. */
export const IRIS_SCORE_PY = `import argparse

from mlflow.sklearn import load_model

classifier = None


def init():
    global classifier
    options = argparse.ArgumentParser(allow_abbrev=False)
    options.add_argument("--model")
    known, _ = options.parse_known_args()
    classifier = load_model(known.model)


def run(table):
    labels = classifier.predict(table)
    kept = table.iloc[:, :4].copy()
    kept["variety"] = labels
    return kept
`;

/** The 2a-shaped folder (pipeline.yml, script/, neural-iris-mltable/MLTable, iris-model/), without data or model. */
export function writeIrisExample(dir: string): void {
  writeFiles(dir, {
    'pipeline.yml': IRIS_PIPELINE,
    'neural-iris-mltable/MLTable': IRIS_MLTABLE,
    'script/score_iris.py': IRIS_SCORE_PY,
  });
}

/**
 * An MLflow model saved by an older scikit-learn: MLmodel records scikit-learn 0.20.3 and Python
 * 3.6.8, and model.pkl names the module path those versions had (sklearn.linear_model.logistic),
 * which today's scikit-learn lacks. The pickle is built opcode by opcode: PROTO 3, GLOBAL, an empty
 * argument tuple, NEWOBJ, an empty state dict, BUILD, STOP.
 */
export function writeOldSklearnModel(modelDir: string): void {
  writeFiles(modelDir, {
    MLmodel: `flavors:
  python_function:
    env: conda.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    python_version: 3.6.8
  sklearn:
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 0.20.3
utc_time_created: '2020-01-01 00:00:00.000000'
`,
  });
  const pickle = Buffer.concat([
    Buffer.from([0x80, 0x03]),
    Buffer.from('csklearn.linear_model.logistic\nLogisticRegression\n', 'latin1'),
    Buffer.from(')\x81}b.', 'latin1'),
  ]);
  writeFileSync(path.join(modelDir, 'model.pkl'), pickle);
}

// --- a pipeline that partitions sales data, then trains one model per partition (the "1a" shape) --

/** Command node `partition_job` writes an MLTable folder; parallel node `parallel_train` reads it by keys. */
export const OJ_PIPELINE = `$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: sales-by-store-and-brand
description: One regression model per store and brand
experiment_name: prs-sales
tags:
  suite: prs
  shape: 1a

settings:
  default_compute: azureml:cpu-cluster

jobs:
  partition_job:
    type: command
    component: ./src/partition_data/partition_data.yml
    inputs:
      data_source:
        type: uri_file
        path: ./oj_sales_data/oj_sales_data.csv
      partition_keys: Store,Brand
    outputs:
      tabular_output_data:
        type: mltable
        mode: rw_mount

  parallel_train:
    type: parallel
    compute: azureml:cpu-cluster
    inputs:
      data_source:
        path: \${{parent.jobs.partition_job.outputs.tabular_output_data}}
        type: mltable
        mode: direct
      drop_cols: "Revenue,Advert,Store,Brand"
      target_col: "Quantity"
      date_col: "WeekStarting"
      lagging_orders: "1,2,3"
    outputs:
      model_folder:
        type: uri_folder
        mode: rw_mount
    partition_keys:
      - Store
      - Brand
    resources:
      instance_count: 2
    error_threshold: -1
    mini_batch_error_threshold: 5
    logging_level: "INFO"
    input_data: \${{inputs.data_source}}
    max_concurrency_per_instance: 2
    retry_settings:
      max_retries: 2
      timeout: 60
    environment_variables:
      "PRS_SHAPE": "1a"
    task:
      type: run_function
      code: ./src/parallel_train
      entry_script: train_partition.py
      environment:
        image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04
        conda_file: ./src/parallel_train/conda.yml
      program_arguments: >-
        --drop_cols \${{inputs.drop_cols}}
        --target_col \${{inputs.target_col}}
        --date_col \${{inputs.date_col}}
        --lagging_orders \${{inputs.lagging_orders}}
        --model_folder \${{outputs.model_folder}}
`;

/** The command component of `partition_job`. */
export const OJ_PARTITION_COMPONENT = `$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: split_sales
display_name: Split sales rows into key folders
version: 1
inputs:
  data_source:
    type: uri_file
  partition_keys:
    type: string
outputs:
  tabular_output_data:
    type: mltable
code: ./
environment:
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04
  conda_file: ./conda.yml
command: >-
  python split_sales.py
  --data_source \${{inputs.data_source}}
  --partition_keys \${{inputs.partition_keys}}
  --tabular_output_data \${{outputs.tabular_output_data}}
`;

/**
 * One folder per key value (<Store>/<Brand>/rows.csv, the key columns left out) and an MLTable
 * that reads them back with the keys as columns, checked with mltable.load before it exits.
 */
export const OJ_PARTITION_PY = `import argparse
import os

import mltable
import pandas as pd
import yaml

options = argparse.ArgumentParser()
options.add_argument("--data_source")
options.add_argument("--partition_keys")
options.add_argument("--tabular_output_data")
given = options.parse_args()

keys = given.partition_keys.split(",")
out = given.tabular_output_data
rows = pd.read_csv(given.data_source)
for values, group in rows.groupby(keys):
    folder = os.path.join(out, *[str(v) for v in values])
    os.makedirs(folder, exist_ok=True)
    group.drop(columns=keys).to_csv(os.path.join(folder, "rows.csv"), index=False)

layout = "/".join("{%s}" % k for k in keys) + "/{file_name}.{extension}"
description = {
    "type": "mltable",
    "paths": [{"pattern": "./**/*.csv"}],
    "transformations": [
        {"read_delimited": {"delimiter": ",", "encoding": "utf8", "header": "all_files_same_headers"}},
        {"extract_columns_from_partition_format": {"partition_format": layout}},
        {"drop_columns": ["file_name", "extension"]},
    ],
}
with open(os.path.join(out, "MLTable"), "w") as fh:
    yaml.safe_dump(description, fh, sort_keys=False)

if len(mltable.load(out).to_pandas_dataframe()) != len(rows):
    raise SystemExit("the MLTable does not read back every row")
`;

/** run(df, context) fits a regressor on lagged targets and saves it under model_folder/<key values>; returns []. */
export const OJ_TRAIN_PY = `import argparse
import os

import mlflow
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor

given = None


def init():
    global given
    options = argparse.ArgumentParser()
    for name in ("--drop_cols", "--target_col", "--date_col", "--lagging_orders", "--model_folder"):
        options.add_argument(name)
    given, _ = options.parse_known_args()


def run(table, context):
    mlflow.autolog()
    if not isinstance(table, pd.DataFrame):
        raise TypeError("expected a DataFrame, got %s" % type(table).__name__)
    target, when = given.target_col, given.date_col
    for column in (target, when):
        if column not in table.columns:
            raise KeyError("no column %s in the input" % column)
    frame = table.assign(**{when: pd.to_datetime(table[when])}).sort_values(when)
    frame = frame.drop(columns=[c for c in given.drop_cols.split(",") if c in frame.columns])
    for lag in (int(n) for n in given.lagging_orders.split(",")):
        frame["lag_%d" % lag] = frame[target].shift(lag)
    frame = frame.dropna()
    features = frame.drop(columns=[target, when]).values
    regressor = GradientBoostingRegressor(random_state=3).fit(features, frame[target].values)
    where = os.path.join(given.model_folder, *[str(v) for v in context.partition_key_value.values()])
    os.makedirs(where, exist_ok=True)
    mlflow.sklearn.save_model(regressor, where)
    return []
`;

export const OJ_PARTITION_DIR = 'src/partition_data';
export const OJ_PARTITION_SCRIPT = 'split_sales.py';

/** The 1a-shaped folder: pipeline.yml, the command component and its script, the training script. */
export function writeOjExample(dir: string): void {
  writeFiles(dir, {
    'pipeline.yml': OJ_PIPELINE,
    [`${OJ_PARTITION_DIR}/partition_data.yml`]: OJ_PARTITION_COMPONENT,
    [`${OJ_PARTITION_DIR}/${OJ_PARTITION_SCRIPT}`]: OJ_PARTITION_PY,
    'src/parallel_train/train_partition.py': OJ_TRAIN_PY,
  });
}

// --- batch deployments ---------------------------------------------------------------------------

/** A model deployment (type: model, settings nested) of azureml:heart-classifier-mlflow@latest. */
export const HEART_DEPLOYMENT = `$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
endpoint_name: heart-scoring
name: heart-simple
description: Heart condition rows scored by the latest registered model
type: model
model: azureml:heart-classifier-mlflow@latest
compute: azureml:batch-cluster
resources:
  instance_count: 2
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: 2
  output_action: append_row
  output_file_name: predictions.csv
  retry_settings:
    max_retries: 3
    timeout: 300
  error_threshold: -1
  logging_level: info
`;

/** The older layout: an inline MLflow model path and nothing else to say. */
export const LEGACY_MLFLOW_DEPLOYMENT = `$schema: https://azuremlschemas.azureedge.net/latest/batchDeployment.schema.json
name: taxi-mlflow
endpoint_name: taxi-scoring
model:
  path: ./taxi-model
compute: azureml:batch-cluster
`;

/** The older layout with code_configuration and settings at the root. */
export const LEGACY_CODE_DEPLOYMENT = `$schema: https://azuremlschemas.azureedge.net/latest/batchDeployment.schema.json
name: digits-custom
endpoint_name: digits-scoring
model:
  path: ./digits/model/
code_configuration:
  code: ./digits/code/
  scoring_script: score_digits.py
environment:
  conda_file: ./digits/environment/conda.yml
  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest
compute: azureml:batch-cluster
resources:
  instance_count: 1
max_concurrency_per_instance: 2
mini_batch_size: 10
output_action: append_row
output_file_name: predictions.csv
retry_settings:
  max_retries: 3
  timeout: 30
error_threshold: -1
logging_level: info
`;

/**
 * LEGACY_CODE_DEPLOYMENT's scoring script: a pickled scikit-learn digits classifier under
 * $AZUREML_MODEL_DIR/model, 8x8 grey PNGs in, "<file>: <digit>" lines out. init() also leaves
 * the AZUREML_MODEL_DIR it saw in the output folder, one file per process.
 */
export const DIGITS_SCORE_PY = `import os
import pickle

import numpy as np
from PIL import Image

classifier = None


def init():
    global classifier
    model_dir = os.environ["AZUREML_MODEL_DIR"]
    with open(os.path.join(model_dir, "model", "digits.pkl"), "rb") as fh:
        classifier = pickle.load(fh)
    seen = os.path.join(os.environ["AZUREML_BI_OUTPUT_PATH"], "seen-%d.txt" % os.getpid())
    with open(seen, "w") as fh:
        fh.write(model_dir)


def run(mini_batch):
    lines = []
    for name in mini_batch:
        pixels = np.asarray(Image.open(name), dtype=float).reshape(1, -1) / 255.0 * 16.0
        lines.append("%s: %d" % (os.path.basename(name), classifier.predict(pixels)[0]))
    return lines
`;
