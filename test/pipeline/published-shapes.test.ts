// Whole v2 pipelines in the shapes of Azure/azureml-examples' 1a_oj_sales_prediction (a command
// component that partitions a table into an MLTable, then a parallel node that trains one MLflow
// model per Store/Brand) and 2a_iris_batch_prediction (a parallel node that scores an MLTable with an
// MLflow model into a uri_file output), run with `prs run pipeline.yml` as a user would. The files
// are our own, written in the published keys and bindings (test/azuremlShapes.ts); data and models
// are made here.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeIrisExample, writeOjExample } from '../azuremlShapes';
import { DEBIAN_PYTHON, prs, tempDir } from '../helpers';

/** The job's interpreter is python3 on PATH: Debian's, which has pandas and scikit-learn. */
function debianPythonFirst(dir: string): NodeJS.ProcessEnv {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(DEBIAN_PYTHON, path.join(bin, 'python3'));
  return { PATH: `${bin}${path.delimiter}${process.env.PATH}` };
}

/** Weekly sales of 2 stores × 2 brands, as the 1a data has its columns. */
function salesCsv(): string {
  const rows = ['WeekStarting,Store,Brand,Quantity,Advert,Price,Revenue'];
  let seed = 7;
  for (const store of [1000, 1001])
    for (const brand of ['dominicks', 'tropicana'])
      for (let w = 0; w < 30; w++) {
        seed = (seed * 48271) % 2147483647;
        const day = new Date(Date.UTC(1990, 5, 14 + 7 * w)).toISOString().slice(0, 10);
        const quantity = 9000 + (seed % 11000);
        rows.push(`${day},${store},${brand},${quantity},1,2.5,${quantity * 2.5}`);
      }
  return rows.join('\n') + '\n';
}

interface PipelineJson {
  status: string;
  jobs: Record<string, { type: string; status: string; run_dir?: string | null }>;
}

function pipelineSummary(stdout: string): PipelineJson {
  return JSON.parse(stdout.trim().split('\n').pop()!) as PipelineJson;
}

describe('whole v2 pipelines in the published shapes, run with prs run pipeline.yml', () => {
  it('1a: the command component partitions the sales into an MLTable; the parallel node trains a model per Store/Brand', async () => {
    const dir = tempDir('prs-1a-pipeline-');
    writeOjExample(dir);
    mkdirSync(path.join(dir, 'oj_sales_data'));
    writeFileSync(path.join(dir, 'oj_sales_data', 'oj_sales_data.csv'), salesCsv());
    const r = await prs(
      ['run', path.join(dir, 'pipeline.yml'), '--json', '--runs-dir', path.join(dir, 'runs')],
      {
        env: debianPythonFirst(dir),
      },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const s = pipelineSummary(r.stdout);
    expect(s.status).toBe('completed');
    expect(s.jobs.partition_job!.status).toBe('completed');
    expect(s.jobs.parallel_train).toMatchObject({ type: 'parallel', status: 'completed' });
    // One mini-batch per Store/Brand partition, each saving an MLflow model folder.
    const train = s.jobs.parallel_train!.run_dir!;
    const run = JSON.parse(readFileSync(path.join(train, 'run.json'), 'utf8')) as {
      summary: { mini_batches: { total: number; succeeded: number } };
    };
    expect(run.summary.mini_batches).toMatchObject({ total: 4, succeeded: 4 });
    const models = execFileSync('find', [dir, '-name', 'MLmodel'], { encoding: 'utf8' }).trim().split('\n');
    expect(models.filter((m) => m.length > 0)).toHaveLength(4);
  }, 180_000);

  it('2a: the parallel node scores an MLTable with an MLflow model into its uri_file output', async () => {
    const dir = tempDir('prs-2a-pipeline-');
    writeIrisExample(dir);
    execFileSync(DEBIAN_PYTHON, [
      '-c',
      `
import os, pickle, numpy as np, pandas as pd
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
x, y = load_iris(return_X_y=True)
pd.DataFrame(x, columns=["c%d" % i for i in range(4)]).to_csv("${dir}/neural-iris-mltable/iris.csv", index=False)
os.makedirs("${dir}/iris-model", exist_ok=True)
pickle.dump(LogisticRegression(max_iter=2000).fit(x, y), open("${dir}/iris-model/model.pkl", "wb"))
open("${dir}/iris-model/MLmodel", "w").write("""flavors:
  python_function:
    loader_module: mlflow.sklearn
    model_path: model.pkl
  sklearn:
    pickled_model: model.pkl
    serialization_format: pickle
""")
`,
    ]);
    const r = await prs(
      ['run', path.join(dir, 'pipeline.yml'), '--json', '--runs-dir', path.join(dir, 'runs')],
      {
        env: debianPythonFirst(dir),
      },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const s = pipelineSummary(r.stdout);
    expect(s.jobs.batch_prediction).toMatchObject({ type: 'parallel', status: 'completed' });
    const node = s.jobs.batch_prediction!.run_dir!;
    const outputs = readdirSync(path.join(node, 'outputs'), { recursive: true }) as string[];
    const file = outputs.find((f) => f.endsWith('aggregated_returns.csv'));
    expect(file, outputs.join(', ')).toBeDefined();
    const lines = readFileSync(path.join(node, 'outputs', file!), 'utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(150);
  }, 180_000);
});
