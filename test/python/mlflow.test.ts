// MLflow models and tracking through the mlflow stand-in (resources/python/mlflow), with v2
// parallel jobs in the shapes of the published Azure ML examples (test/azuremlShapes.ts: their YAML
// keys, our own scripts and models made here) and Debian's /usr/bin/python3 (scikit-learn, no
// mlflow; cloudpickle only where python3-dask brought it, so the tests that need it absent hide it).

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { OJ_PIPELINE, OJ_TRAIN_PY, writeIrisExample, writeOldSklearnModel } from '../azuremlShapes';
import { DEBIAN_PYTHON, ROOT, prs, tempDir, writeFiles } from '../helpers';

const RESOURCES = path.join(ROOT, 'resources', 'python');

/** Python code run by Debian's interpreter with the compatibility packages on its path. */
function python(
  code: string,
  env: NodeJS.ProcessEnv = {},
  cwd?: string,
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(DEBIAN_PYTHON, ['-c', code], {
    cwd,
    env: { ...process.env, PYTHONPATH: RESOURCES, ...env },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Whether Debian's interpreter has cloudpickle (python3-cloudpickle comes with python3-dask). */
const HAS_CLOUDPICKLE = spawnSync(DEBIAN_PYTHON, ['-c', 'import cloudpickle']).status === 0;

/** PYTHONPATH on which `import cloudpickle` fails as if it were not installed. */
function withoutCloudpickle(dir: string): NodeJS.ProcessEnv {
  const shadow = path.join(dir, 'no-cloudpickle');
  writeFiles(shadow, {
    'cloudpickle.py': 'raise ModuleNotFoundError("No module named \'cloudpickle\'", name="cloudpickle")\n',
  });
  return { PYTHONPATH: `${shadow}${path.delimiter}${RESOURCES}` };
}

/** A folder whose python3 is Debian's: a v2 job has no `python:` key, so it runs the python3 on PATH. */
function debianPythonPath(dir: string): NodeJS.ProcessEnv {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(DEBIAN_PYTHON, path.join(bin, 'python3'));
  return { PATH: `${bin}${path.delimiter}${process.env.PATH}` };
}

/** A pipeline's parallel node as a v2 parallel job of its own (the node's keys as the pipeline has them). */
function parallelNode(
  pipelineYml: string,
  node: string,
  over: (job: Record<string, unknown>) => void,
): string {
  const doc = parse(pipelineYml) as { jobs: Record<string, Record<string, unknown>> };
  const job = { name: node, ...doc.jobs[node]! };
  over(job);
  return stringify(job);
}

const installedSklearn = (): string =>
  execFileSync(DEBIAN_PYTHON, ['-c', 'import sklearn; print(sklearn.__version__)'], {
    encoding: 'utf8',
  }).trim();

/** A 2a-shaped folder: pipeline, scoring script and MLTable; a small local iris-like table. */
function irisExample(dir: string): string {
  writeIrisExample(dir);
  // "Neural iris": the 4 iris measurements and 40 noise columns, the header first (MLTable: all_files_same_headers).
  execFileSync(DEBIAN_PYTHON, [
    '-c',
    `
import numpy as np, pandas as pd
from sklearn.datasets import load_iris
x, y = load_iris(return_X_y=True)
x = np.hstack([x, np.random.default_rng(0).normal(size=(len(x), 40))])
pd.DataFrame(x, columns=["c%d" % i for i in range(44)]).to_csv("${dir}/neural-iris-mltable/iris.csv", index=False)
`,
  ]);
  const job = path.join(dir, 'job.yml');
  writeFileSync(
    job,
    parallelNode(readFileSync(path.join(dir, 'pipeline.yml'), 'utf8'), 'batch_prediction', () => undefined),
  );
  return job;
}

describe('a parallel job in the published 2a_iris_batch_prediction shape', () => {
  it('the scoring script loads the MLflow model folder with mlflow.sklearn.load_model and predicts every row', async () => {
    const dir = tempDir('prs-2a-');
    const job = irisExample(dir);
    // An MLmodel like an older one (sklearn flavor, cloudpickle) over a model.pkl of this scikit-learn.
    writeOldSklearnModel(path.join(dir, 'iris-model'));
    execFileSync(DEBIAN_PYTHON, [
      '-c',
      `
import pickle, numpy as np, pandas as pd
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
x = pd.read_csv("${dir}/neural-iris-mltable/iris.csv").values
y = np.array(["Iris-setosa", "Iris-versicolor", "Iris-virginica"])[load_iris().target]
pickle.dump(LogisticRegression(max_iter=2000).fit(x, y), open("${dir}/iris-model/model.pkl", "wb"))
`,
    ]);
    const r = await prs(['run', job, '--json', '--runs-dir', path.join(dir, 'runs')], {
      env: debianPythonPath(dir),
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json!.items).toEqual({ succeeded: 150, failed: 0 });
    // append_row_to: the uri_file output aggregated_returns.csv; the DataFrame's rows, space-separated.
    expect(path.basename(r.json!.output_file!)).toBe('aggregated_returns.csv');
    const lines = readFileSync(r.json!.output_file!, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(150);
    for (const line of lines) expect(line).toMatch(/^\S+ \S+ \S+ \S+ Iris-(setosa|versicolor|virginica)$/);
    expect(lines.filter((l) => l.endsWith('Iris-setosa')).length).toBeGreaterThan(40);
  });

  it('a model.pkl of scikit-learn 0.20.3 fails init() with one line: the module it names, the versions saved and installed', async () => {
    const dir = tempDir('prs-2a-old-');
    const job = irisExample(dir);
    // Its pickle names sklearn.linear_model.logistic, a module path this scikit-learn lacks.
    writeOldSklearnModel(path.join(dir, 'iris-model'));
    const r = await prs(['run', job, '--json', '--runs-dir', path.join(dir, 'runs')], {
      env: debianPythonPath(dir),
    });
    expect(r.code, r.stdout + r.stderr).toBe(42);
    const result = readFileSync(path.join(r.json!.run_dir, 'logs', 'job_result.txt'), 'utf8');
    const cause = result.split('\n').find((l) => l.startsWith('First cause:'))!;
    expect(cause).toContain('MlflowException: mlflow.sklearn.load_model(');
    expect(cause).toContain('model.pkl names module sklearn.linear_model.logistic');
    expect(cause).toContain('saved with scikit-learn 0.20.3, Python 3.6.8 (MLmodel)');
    expect(cause).toContain(`this interpreter has scikit-learn ${installedSklearn()}`);
  });
});

describe('a parallel_train node in the published 1a_oj_sales_prediction shape', () => {
  it('mlflow.autolog() and mlflow.sklearn.save_model write one MLflow model per partition, which load_model and pyfunc read back', async () => {
    const dir = tempDir('prs-1a-');
    const src = path.join(dir, 'src', 'parallel_train');
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, 'train_partition.py'), OJ_TRAIN_PY);
    // Two stores by two brands, 30 weeks each, in an MLTable folder (the partition step's output).
    writeFiles(dir, {
      'oj/MLTable':
        'paths:\n  - file: ./oj.csv\ntransformations:\n  - read_delimited:\n      delimiter: ","\n      header: all_files_same_headers\n',
    });
    execFileSync(DEBIAN_PYTHON, [
      '-c',
      `
import numpy as np, pandas as pd
rows, rng = [], np.random.default_rng(1)
for store in (1000, 1001):
    for brand in ("dominicks", "tropicana"):
        for week in pd.date_range("1990-06-14", periods=30, freq="7D"):
            q = int(rng.integers(5000, 15000)); p = round(float(rng.uniform(1.5, 3.0)), 2)
            rows.append((week.date().isoformat(), store, brand, q, int(rng.integers(0, 2)), p, q * p))
pd.DataFrame(rows, columns=["WeekStarting", "Store", "Brand", "Quantity", "Advert", "Price", "Revenue"]).to_csv("${dir}/oj/oj.csv", index=False)
`,
    ]);
    const env = debianPythonPath(dir);
    const job = path.join(dir, 'job.yml');
    writeFileSync(
      job,
      parallelNode(OJ_PIPELINE, 'parallel_train', (node) => {
        // The pipeline binds the partition step's output here: a local folder stands in for it.
        (node.inputs as Record<string, Record<string, unknown>>).data_source!.path = './oj';
      }),
    );
    const r = await prs(['run', job, '--json', '--runs-dir', path.join(dir, 'runs')], { env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 4, succeeded: 4, failed: 0 });
    const models = path.join(r.json!.run_dir, 'outputs', 'model_folder');
    const folders = ['1000/dominicks', '1000/tropicana', '1001/dominicks', '1001/tropicana'];
    expect(readdirSync(models).sort()).toEqual(['1000', '1001']);
    for (const f of folders) {
      const mlmodel = readFileSync(path.join(models, f, 'MLmodel'), 'utf8');
      expect(mlmodel).toContain('loader_module: mlflow.sklearn');
      // Saved with cloudpickle where the interpreter has it, else as a plain pickle; the MLmodel says which.
      expect(mlmodel).toContain(`serialization_format: ${HAS_CLOUDPICKLE ? 'cloudpickle' : 'pickle'}`);
      expect(mlmodel).toContain(`sklearn_version: ${installedSklearn()}`);
    }
    const back = python(`
import mlflow, numpy as np, pandas as pd
for f in ${JSON.stringify(folders)}:
    path = "${models}/" + f
    model = mlflow.sklearn.load_model(path)
    x = np.zeros((2, model.n_features_in_))
    same = (mlflow.pyfunc.load_model(path).predict(pd.DataFrame(x)) == model.predict(x)).all()
    print(type(model).__name__, bool(same))
`);
    expect(back.stderr).toBe('');
    expect(back.stdout.trim().split('\n')).toEqual(Array(4).fill('GradientBoostingRegressor True'));
  });
});

describe('mlflow models (the stand-in)', () => {
  it('save_model then load_model and pyfunc.load_model(path).predict(df) give the same predictions', () => {
    const dir = tempDir('prs-mlflow-');
    const r = python(`
import mlflow.sklearn, mlflow.pyfunc, pandas as pd
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier
x, y = load_iris(return_X_y=True, as_frame=True)
mlflow.sklearn.save_model(DecisionTreeClassifier(random_state=0).fit(x, y), "${dir}/model")
a = mlflow.sklearn.load_model("${dir}/model").predict(x)
b = mlflow.pyfunc.load_model("file://${dir}/model").predict(x)
print(len(a), (a == b).all(), sorted(__import__("os").listdir("${dir}/model")))
`);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe("150 True ['MLmodel', 'model.pkl', 'requirements.txt']");
  });

  it('register_model and models:/ URIs, artifacts into outputs/, predict_fn, infer_signature, the older pyfunc.load', () => {
    const dir = tempDir('prs-mlflow-reg-');
    const r = python(
      `
import os
import mlflow, mlflow.pyfunc, mlflow.sklearn
from mlflow.models.signature import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
x, y = load_iris(return_X_y=True, as_frame=True)
model = LogisticRegression(max_iter=500).fit(x, y)
mlflow.sklearn.save_model(model, "saved", signature=infer_signature(x, model.predict(x)))
print(mlflow.register_model("file://" + os.path.abspath("saved"), "iris"))
print(mlflow.register_model("saved", "iris"))
back = mlflow.sklearn.load_model("models:/iris/1")
print((back.predict(x) == mlflow.pyfunc.load("models:/iris/latest").predict(x)).all())
mlflow.log_artifact("saved/MLmodel", "copies")
mlflow.log_text("hello", "notes/readme.txt")
mlflow.log_dict({"a": 1}, "meta.json")
print(sorted(os.listdir("outputs")), os.listdir("outputs/copies"), open("outputs/notes/readme.txt").read())
`,
      { PRS_MODEL_REGISTRY: path.join(dir, 'registry') },
      dir,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([
      "<ModelVersion: name='iris', version=1>",
      "<ModelVersion: name='iris', version=2>",
      'True',
      "['copies', 'meta.json', 'notes'] ['MLmodel'] hello",
    ]);
    expect(existsSync(path.join(dir, 'registry', 'iris', '2', 'saved', 'MLmodel'))).toBe(true);

    // predict_fn in MLmodel: what pyfunc's predict calls.
    const proba = python(
      `
import mlflow.pyfunc, mlflow.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
x, y = load_iris(return_X_y=True, as_frame=True)
mlflow.sklearn.save_model(LogisticRegression(max_iter=500).fit(x, y), "p", pyfunc_predict_fn="predict_proba")
print(mlflow.pyfunc.load_model("p").predict(x).shape)
`,
      {},
      dir,
    );
    expect(proba.stderr).toBe('');
    expect(proba.stdout.trim()).toBe('(150, 3)');
  });

  it('each model that cannot load or be saved says why in one line', () => {
    const dir = tempDir('prs-mlflow-bad-');
    writeFiles(dir, {
      'empty/readme.txt': 'no MLmodel here\n',
      'torch/MLmodel':
        'flavors:\n  python_function:\n    loader_module: mlflow.pytorch\n    data: data\n  pytorch:\n    pytorch_version: 2.1.0\n',
      'cloud/MLmodel':
        'flavors:\n  sklearn:\n    pickled_model: model.pkl\n    serialization_format: cloudpickle\n    sklearn_version: 1.2.1\n',
      // What cloudpickle writes for a function defined in a script: it needs cloudpickle to load.
      'cloud/model.pkl': 'ccloudpickle.cloudpickle\n_builtin_type\n(VCodeType\ntR.',
      'full/model.pkl': 'x',
    });
    const attempts = {
      missing: `mlflow.sklearn.load_model("${dir}/empty")`,
      notSklearn: `mlflow.sklearn.load_model("${dir}/torch")`,
      torch: `mlflow.pyfunc.load_model("${dir}/torch")`,
      cloudpickle: `mlflow.sklearn.load_model("${dir}/cloud")`,
      saveCloudpickle: `mlflow.sklearn.save_model(object(), "${dir}/new", serialization_format="cloudpickle")`,
      notEmpty: `mlflow.sklearn.save_model(object(), "${dir}/full")`,
      remote: `mlflow.sklearn.load_model("runs:/abc/model")`,
    };
    const said: Record<string, string> = {};
    for (const [what, call] of Object.entries(attempts)) {
      const r = python(
        `import mlflow.sklearn, mlflow.pyfunc\ntry:\n    ${call}\nexcept mlflow.MlflowException as e:\n    print(e)`,
        withoutCloudpickle(dir),
      );
      expect(r.stderr, what).toBe('');
      expect(r.stdout.trim().split('\n'), what).toHaveLength(1);
      said[what] = r.stdout.trim();
    }
    expect(said.missing).toContain(`${dir}/empty has no MLmodel file (expected an MLflow model folder`);
    expect(said.notSklearn).toContain('has no sklearn flavor (it has: python_function, pytorch)');
    expect(said.torch).toContain('loader_module mlflow.pytorch has no local equivalent');
    expect(said.cloudpickle).toContain(
      `model.pkl (serialization_format: cloudpickle) needs the cloudpickle package, which ${DEBIAN_PYTHON} lacks`,
    );
    expect(said.saveCloudpickle).toContain(
      "serialization_format='cloudpickle' needs the cloudpickle package",
    );
    expect(said.notEmpty).toContain(`path '${dir}/full' already exists and is not empty`);
    expect(said.remote).toContain('runs URIs have no local equivalent');
  });
});

describe('mlflow_model and custom_model inputs', () => {
  it('an mlflow_model input is AZUREML_MODEL_DIR, ${{inputs.model}} and Model.get_model_path; one without MLmodel is refused, as custom_model it is not', async () => {
    const dir = tempDir('prs-mlflow-input-');
    writeFiles(dir, {
      'src/score.py': `
import argparse, os
import mlflow, pandas as pd
from azureml.core import Model

def init():
    global by_env, by_arg, by_name
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    args, _ = parser.parse_known_args()
    by_env = mlflow.sklearn.load_model(os.environ["AZUREML_MODEL_DIR"])
    by_arg = mlflow.pyfunc.load_model(args.model)
    by_name = mlflow.sklearn.load_model(Model.get_model_path("model"))

def run(mini_batch):
    out = []
    for f in mini_batch:
        x = pd.read_csv(f)
        same = list(by_env.predict(x)) == list(by_arg.predict(x)) == list(by_name.predict(x))
        out.append("%s %s %d" % (os.path.basename(f), same, len(x)))
    return out
`,
      'job.yml': `$schema: https://azuremlschemas.azureedge.net/latest/parallelJob.schema.json
type: parallel
name: mlflow-input
inputs:
  data: {type: uri_folder, path: ./data}
  model: {type: mlflow_model, path: ./model}
input_data: \${{inputs.data}}
mini_batch_size: "1"
task:
  type: run_function
  code: ./src
  entry_script: score.py
  program_arguments: --model \${{inputs.model}}
  append_row_to: \${{outputs.out}}
outputs:
  out: {type: uri_folder}
`,
      'not-mlflow/model.pkl': 'x',
    });
    const made = python(`
import os
import mlflow.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
x, y = load_iris(return_X_y=True, as_frame=True)
mlflow.sklearn.save_model(LogisticRegression(max_iter=500).fit(x, y), "${dir}/model")
os.makedirs("${dir}/data")
for i in range(3):
    x.iloc[i * 50 : (i + 1) * 50].to_csv("${dir}/data/part%d.csv" % i, index=False)
`);
    expect(made.stderr).toBe('');
    const env = debianPythonPath(dir);
    const r = await prs(['run', path.join(dir, 'job.yml'), '--json', '--runs-dir', path.join(dir, 'runs')], {
      env,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(r.json!.output_file!, 'utf8').trim().split('\n').sort()).toEqual([
      'part0.csv True 50',
      'part1.csv True 50',
      'part2.csv True 50',
    ]);

    // A folder without MLmodel: refused before anything runs as mlflow_model, accepted as custom_model.
    const job = readFileSync(path.join(dir, 'job.yml'), 'utf8').replace(
      'path: ./model',
      'path: ./not-mlflow',
    );
    writeFileSync(path.join(dir, 'bad.yml'), job);
    writeFileSync(path.join(dir, 'custom.yml'), job.replace('type: mlflow_model', 'type: custom_model'));
    const bad = await prs(['validate', path.join(dir, 'bad.yml')], { env });
    expect(bad.code).toBe(2);
    expect(bad.stdout + bad.stderr).toContain(
      `inputs.model.path: ${dir}/not-mlflow has no MLmodel file (expected an MLflow model folder for type mlflow_model; any other model folder is type custom_model)`,
    );
    const custom = await prs(['validate', path.join(dir, 'custom.yml')], { env });
    expect(custom.code, custom.stdout + custom.stderr).toBe(0);
  });
});
