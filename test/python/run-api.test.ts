// The v1 Run API offline and the run's metrics: what entry scripts log (mlflow and Run.log) ends
// up in run.json, uploads in outputs/, registered models in the local model registry of the data
// folder; azureml names with no local meaning fail to import in one line. Real `prs run`, Debian's
// /usr/bin/python3.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { LoggedMetrics } from '../../src/common/events';
import { DEBIAN_PYTHON, ROOT, prs, tempDir, writeFiles } from '../helpers';

/** A job folder with src/score.py over three text files, one per mini-batch; its own data folder. */
function job(script: string, spec: Record<string, unknown> = {}, files: Record<string, string> = {}) {
  const dir = tempDir('prs-runapi-');
  writeFiles(dir, {
    'src/score.py': script,
    'data/a.txt': 'a\n',
    'data/b.txt': 'b\n',
    'data/c.txt': 'c\n',
    ...files,
  });
  const specPath = path.join(dir, 'job.json');
  writeFileSync(
    specPath,
    JSON.stringify({
      name: 'run-api',
      entry_script: 'score.py',
      source_directory: './src',
      python: DEBIAN_PYTHON,
      inputs: [{ path: './data' }],
      mini_batch_size: 1,
      process_count_per_node: 2,
      ...spec,
    }),
  );
  return { dir, spec: specPath, env: { PRS_DATA_DIR: path.join(dir, 'appdata') } };
}

const run = (j: { dir: string; spec: string; env: NodeJS.ProcessEnv }, runsDir = 'runs') =>
  prs(['run', j.spec, '--json', '--runs-dir', path.join(j.dir, runsDir)], { env: j.env });

function runJson(runDir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as Record<string, unknown>;
}

describe("what scripts log is the run's logged_metrics in run.json's summary", () => {
  it('mlflow.log_metric/log_metrics/log_param/set_tag/start_run and Run.log/log_list/log_row/tag/add_properties/child_run, a subprocess too', async () => {
    const j = job(`
import subprocess, sys
import mlflow
from azureml.core import Run

def init():
    mlflow.autolog()
    with mlflow.start_run() as active:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_params({"depth": 3})
        mlflow.set_tag("owner", "tests")
    assert active.info.status == "FINISHED"
    ctx = Run.get_context()
    ctx.tag("stage", "local")
    ctx.add_properties({"dataset": "abc"})
    ctx.log_list("classes", [0, 1, 2])
    ctx.child_run("fold1").log("auc", 0.75)

def run(mini_batch):
    mlflow.log_metric("files", len(mini_batch))
    mlflow.log_metrics({"loss": 0.25})
    Run.get_context().log_row("per_batch", file=mini_batch[0].rsplit("/", 1)[-1])
    # A subprocess of the entry script records into the same run (it inherits the metrics file).
    subprocess.run([sys.executable, "-c", "import mlflow; mlflow.log_metric('from_child_process', 1)"], check=True)
    return mini_batch

def shutdown():
    Run.get_context().log("shutdown_metric", 1)
`);
    const r = await run(j);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json!.items).toEqual({ succeeded: 3, failed: 0 });
    const record = runJson(r.json!.run_dir) as { summary: { logged_metrics: LoggedMetrics } };
    const { metrics, params, tags, properties } = record.summary.logged_metrics;
    expect(metrics!.files).toEqual([1, 1, 1]);
    expect(metrics!.loss).toEqual([0.25, 0.25, 0.25]);
    expect(metrics!.from_child_process).toEqual([1, 1, 1]);
    expect((metrics!.per_batch as Array<{ file: string }>).map((row) => row.file).sort()).toEqual([
      'a.txt',
      'b.txt',
      'c.txt',
    ]);
    // Once per worker (two workers): init() and shutdown() each ran twice.
    expect(metrics!.classes).toEqual([
      [0, 1, 2],
      [0, 1, 2],
    ]);
    expect(metrics!['fold1/auc']).toEqual([0.75, 0.75]);
    expect(metrics!.shutdown_metric).toEqual([1, 1]);
    expect(params).toEqual({ alpha: 0.5, depth: 3 });
    expect(tags).toEqual({ owner: 'tests', stage: 'local' });
    expect(properties).toEqual({ dataset: 'abc' });
  });

  it('a run whose script logs nothing has no logged_metrics in run.json', async () => {
    const r = await run(job('def run(mini_batch):\n    return mini_batch\n'));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(runJson(r.json!.run_dir).summary).not.toHaveProperty('logged_metrics');
  });
});

describe('Run.get_context() offline', () => {
  it('upload_file/upload_folder into outputs/, register_model into the local registry, status, parent, experiment.workspace', async () => {
    const j = job(
      `
import os, pickle
from azureml.core import Run, Model

def run(mini_batch):
    ctx = Run.get_context()
    assert ctx.get_status() == "Running" and ctx.parent is None
    assert ctx.experiment.workspace.name == "local"
    child = ctx.child_run("child")
    assert child.parent is ctx
    child.complete()
    assert child.get_status() == "Completed"
    failed = ctx.child_run("other")
    failed.fail(error_details="bad fold")
    assert failed.get_status() == "Failed" and failed.get_tags() == {"error": "bad fold"}
    name = os.path.basename(mini_batch[0])
    with open("/tmp/prs-runapi-%d.pkl" % os.getpid(), "wb") as f:
        pickle.dump({"trained_on": name}, f)
    ctx.upload_file("outputs/models/" + name + ".pkl", f.name)
    ctx.upload_folder("folder_" + name, os.path.dirname(os.path.abspath(__file__)))
    model = ctx.register_model("tiny", model_path="outputs/models/" + name + ".pkl", tags={"from": name})
    return ["%s %s:%s" % (name, model.name, model.version)]
`,
      { process_count_per_node: 1 },
    );
    const r = await run(j);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const outputs = path.join(r.json!.run_dir, 'outputs');
    for (const name of ['a.txt', 'b.txt', 'c.txt']) {
      expect(existsSync(path.join(outputs, 'models', `${name}.pkl`))).toBe(true);
      expect(existsSync(path.join(outputs, `folder_${name}`, 'score.py'))).toBe(true);
    }
    const lines = readFileSync(r.json!.output_file!, 'utf8').trim().split('\n').sort();
    expect(lines).toEqual(['a.txt tiny:1', 'b.txt tiny:2', 'c.txt tiny:3']);
    const registry = path.join(j.env.PRS_DATA_DIR, 'models', 'tiny');
    const meta = JSON.parse(readFileSync(path.join(registry, '3.json'), 'utf8')) as Record<string, unknown>;
    expect(meta).toMatchObject({ name: 'tiny', version: 3, path: 'c.txt.pkl', tags: { from: 'c.txt' } });
    expect(existsSync(path.join(registry, '3', 'c.txt.pkl'))).toBe(true);

    // A later job finds the registered model through Model.get_model_path and through models:.
    const later = job(
      `
import pickle
from azureml.core import Model

def run(mini_batch):
    latest = pickle.load(open(Model.get_model_path("tiny"), "rb"))["trained_on"]
    first = pickle.load(open(Model.get_model_path("tiny", version=1), "rb"))["trained_on"]
    pinned = pickle.load(open(Model.get_model_path("pinned"), "rb"))["trained_on"]
    return ["latest %s first %s pinned %s" % (latest, first, pinned) for _ in mini_batch]
`,
      { models: { pinned: 'azureml:tiny:2' } },
    );
    later.env = j.env;
    const r2 = await run(later);
    expect(r2.code, r2.stdout + r2.stderr).toBe(0);
    const said = readFileSync(r2.json!.output_file!, 'utf8').trim().split('\n');
    expect(new Set(said)).toEqual(new Set(['latest c.txt first a.txt pinned b.txt']));

    // A v2 job's model input may name it too: \${{inputs.model}} is the version's folder, as Azure ML mounts it.
    writeFiles(later.dir, {
      'v2.yml': `type: parallel
name: registered-input
inputs:
  data: {type: uri_folder, path: ./data}
  model: {type: custom_model, path: "azureml:tiny:2"}
input_data: \${{inputs.data}}
task:
  code: ./src
  entry_script: v2.py
  program_arguments: --model \${{inputs.model}}
  append_row_to: \${{outputs.out}}
outputs:
  out: {type: uri_folder}
`,
      'src/v2.py': `
import argparse, os, pickle
from azureml.core import Model

def run(mini_batch):
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    folder = parser.parse_known_args()[0].model
    (name,) = os.listdir(folder)
    assert Model.get_model_path("model") == os.path.join(folder, name)
    return [pickle.load(open(os.path.join(folder, name), "rb"))["trained_on"] for _ in mini_batch]
`,
    });
    const r4 = await prs(
      ['run', path.join(later.dir, 'v2.yml'), '--json', '--runs-dir', path.join(later.dir, 'runs-v2')],
      { env: { ...j.env, PATH: `${path.dirname(DEBIAN_PYTHON)}${path.delimiter}${process.env.PATH}` } },
    );
    expect(r4.code, r4.stdout + r4.stderr).toBe(0);
    expect(new Set(readFileSync(r4.json!.output_file!, 'utf8').trim().split('\n'))).toEqual(
      new Set(['b.txt']),
    );

    // A reference to a model the registry lacks is a spec error: exit 2, the key and what is registered.
    const missing = job('def run(b):\n    return b\n', { models: { gone: 'azureml:tiny:9' } });
    missing.env = j.env;
    const r3 = await prs(['validate', missing.spec], { env: j.env });
    expect(r3.code).toBe(2);
    expect(r3.stdout + r3.stderr).toContain(
      `models.gone: "azureml:tiny:9": the local model registry has no version 9 of "tiny" (${path.join(j.env.PRS_DATA_DIR, 'models', 'tiny')} has 1, 2, 3) (expected a model registered with Run.register_model, or a path)`,
    );
  });

  it('an azureml import with no local meaning fails in one line naming it', async () => {
    for (const [statement, name] of [
      ['from azureml.core import Workspace', 'azureml.core.Workspace'],
      ['from azureml.core import Datastore', 'azureml.core.Datastore'],
      ['import azureml._restclient.models', 'azureml._restclient'],
      ['from azureml.core.workspace import Workspace', 'azureml.core.workspace'],
    ] as const) {
      const j = job(`${statement}\n\ndef run(mini_batch):\n    return mini_batch\n`);
      const r = await run(j);
      expect(r.code, statement).toBe(42);
      const result = readFileSync(path.join(r.json!.run_dir, 'logs', 'job_result.txt'), 'utf8');
      const cause = result.split('\n').find((l) => l.startsWith('First cause:'))!;
      expect(cause, statement).toContain(`ModuleNotFoundError: `);
      expect(cause, statement).toContain(`${name} has no local equivalent in Parallel Run Studio`);
    }
  });
});

describe('the mlflow stand-in gives way to a real mlflow', () => {
  it('an mlflow installed on the path is imported instead; without one, the stand-in', async () => {
    const script =
      'import mlflow\n\ndef run(mini_batch):\n    return [mlflow.__file__ for _ in mini_batch]\n';
    const real = job(script, {}, { 'site/mlflow/__init__.py': 'REAL = True\n' });
    // After resources/python on the interpreter's path, as an installed package would be.
    writeFileSync(
      real.spec,
      JSON.stringify({
        ...JSON.parse(readFileSync(real.spec, 'utf8')),
        environment_variables: { PYTHONPATH: path.join(real.dir, 'site') },
      }),
    );
    const r = await run(real);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(new Set(readFileSync(r.json!.output_file!, 'utf8').trim().split('\n'))).toEqual(
      new Set([path.join(real.dir, 'site', 'mlflow', '__init__.py')]),
    );
    const ours = await run(job(script));
    expect(ours.code, ours.stdout + ours.stderr).toBe(0);
    expect(new Set(readFileSync(ours.json!.output_file!, 'utf8').trim().split('\n'))).toEqual(
      new Set([path.join(ROOT, 'resources', 'python', 'mlflow', '__init__.py')]),
    );
  });
});

it('outside a worker too (a shell, a command with resources/python first on PYTHONPATH), a real mlflow wins', () => {
  const dir = tempDir('prs-realmlflow-');
  writeFiles(dir, {
    'site/mlflow/__init__.py': 'REAL = True\n',
    'site/mlflow/sklearn.py': 'FLAVOR = "real"\n',
  });
  const resources = path.join(ROOT, 'resources', 'python');
  const code =
    'import mlflow, mlflow.sklearn; print(getattr(mlflow, "REAL", False), getattr(mlflow.sklearn, "FLAVOR", "ours"))';
  const withReal = spawnSync(DEBIAN_PYTHON, ['-c', code], {
    env: { ...process.env, PYTHONPATH: `${resources}${path.delimiter}${path.join(dir, 'site')}` },
    encoding: 'utf8',
  });
  expect(withReal.stderr).toBe('');
  expect(withReal.stdout.trim()).toBe('True real');
  const without = spawnSync(DEBIAN_PYTHON, ['-c', code], {
    env: { ...process.env, PYTHONPATH: resources },
    encoding: 'utf8',
  });
  expect(without.stdout.trim()).toBe('False ours');
});

it('the interpreter has no mlflow of its own (else the stand-in tests test nothing)', () => {
  const r = spawnSync(DEBIAN_PYTHON, ['-c', 'import mlflow'], { encoding: 'utf8' });
  expect(r.status).not.toBe(0);
});
