// Batch deployment test plumbing: small MLflow-format scikit-learn models and CSV files made by
// Debian's Python, the real `prs` with that Python first on PATH, and a data folder per test.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEBIAN_PYTHON, prs, tempDir, writeFiles } from '../helpers';

// Trains a classifier on made-up rows of the given columns and saves it as mlflow.sklearn does
// (MLmodel with a signature, model.pkl); writes `files` CSVs of `rows` rows to score, and
// expected.json: each file's predictions by the model itself, to compare the scoring with.
const MAKE = String.raw`
import json, os, pickle, sys
import numpy as np, pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
a = json.loads(sys.argv[1])
rng = np.random.default_rng(7)
cols = a["columns"]
def frame(n):
    d = {}
    for c in cols:
        t = c["type"]
        if t == "string": d[c["name"]] = rng.choice(["normal", "fixed", "reversible"], n)
        elif t in ("double", "float"): d[c["name"]] = (rng.random(n) * 10).round(2)
        else: d[c["name"]] = rng.integers(0, 5, n)
    return pd.DataFrame(d)
text = [c["name"] for c in cols if c["type"] == "string"]
x = frame(80)
y = (x[cols[0]["name"]].astype(float) > x[cols[0]["name"]].astype(float).median()).astype(int)
model = Pipeline([
    ("prep", ColumnTransformer([("text", OneHotEncoder(handle_unknown="ignore"), text)], remainder="passthrough")),
    ("clf", LogisticRegression(max_iter=1000)),
]).fit(x, y)
os.makedirs(a["model_dir"], exist_ok=True)
with open(os.path.join(a["model_dir"], "model.pkl"), "wb") as f:
    pickle.dump(model, f)
with open(os.path.join(a["model_dir"], "MLmodel"), "w") as f:
    f.write("artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"
            "    model_path: model.pkl\n  sklearn:\n    pickled_model: model.pkl\n"
            "    serialization_format: cloudpickle\n    sklearn_version: 1.1.2\n"
            "signature:\n  inputs: '%s'\n  outputs: '[{\"type\": \"long\"}]'\n" % json.dumps(cols))
expected = {}
if a.get("data_dir"):
    os.makedirs(a["data_dir"], exist_ok=True)
    for i in range(a["files"]):
        name = "%s-%d.csv" % (a.get("prefix", "part"), i)
        part = frame(a["rows"])
        # A column the model does not take, as unlabeled data often has: the scoring drops it.
        part.insert(0, "id", range(len(part)))
        part.to_csv(os.path.join(a["data_dir"], name), index=False)
        expected[name] = [int(v) for v in model.predict(part[[c["name"] for c in cols]])]
print(json.dumps(expected))
`;

export interface MadeModel {
  /** file name -> the model's own predictions, row by row. */
  expected: Record<string, number[]>;
}

export function makeMlflowModel(opts: {
  modelDir: string;
  columns: Array<{ name: string; type: string }>;
  dataDir?: string;
  files?: number;
  rows?: number;
  prefix?: string;
}): MadeModel {
  const args = {
    model_dir: opts.modelDir,
    columns: opts.columns,
    data_dir: opts.dataDir,
    files: opts.files ?? 0,
    rows: opts.rows ?? 0,
    prefix: opts.prefix,
  };
  const out = execFileSync(DEBIAN_PYTHON, ['-c', MAKE, JSON.stringify(args)], { encoding: 'utf8' });
  return { expected: JSON.parse(out.trim().split('\n').pop()!) as Record<string, number[]> };
}

/** Heart-disease columns, as the published heart-classifier-mlflow model's signature names them. */
export const HEART_COLUMNS = [
  ...['age', 'sex', 'cp', 'trestbps', 'chol', 'fbs', 'restecg', 'thalach', 'exang'].map((name) => ({
    name,
    type: 'long',
  })),
  { name: 'oldpeak', type: 'double' },
  { name: 'slope', type: 'long' },
  { name: 'ca', type: 'long' },
  { name: 'thal', type: 'string' },
];

/** A temp folder holding the given files ({ 'relative/path': content }), and a data folder. */
export function workspace(files: Record<string, string> = {}): { dir: string; dataDir: string } {
  const dir = tempDir('prs-deploy-');
  writeFiles(dir, files);
  return { dir, dataDir: path.join(dir, 'prs-data') };
}

/** prs with Debian's Python (pandas, scikit-learn) as python3 on PATH, and its own data folder. */
export function prsIn(dir: string, dataDir: string, args: string[], env: Record<string, string> = {}) {
  return prs(args, {
    cwd: dir,
    env: {
      PATH: `${path.dirname(DEBIAN_PYTHON)}${path.delimiter}${process.env.PATH ?? ''}`,
      PRS_DATA_DIR: dataDir,
      ...env,
    },
  });
}

export const readLines = (file: string) => readFileSync(file, 'utf8').trim().split('\n');
