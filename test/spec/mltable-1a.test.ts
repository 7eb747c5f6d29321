// A pipeline in the shape of the published 1a_oj_sales_prediction example (test/azuremlShapes.ts
// writes its YAML and our own scripts), with small generated sales data: its command node's script
// writes the MLTable folder (Store/Brand/*.csv plus an MLTable file with
// extract_columns_from_partition_format), and its parallel node trains one model per (Store, Brand)
// partition from that MLTable input.
//
// The parallel node is run on its own here (the pipeline runner binds
// ${{parent.jobs.partition_job.outputs.tabular_output_data}} to the command node's output folder;
// this test does the same binding by hand). Its script imports mlflow, whose compatibility module
// lives in resources/python/mlflow: that part runs where the module is present.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { OJ_PARTITION_DIR, OJ_PARTITION_SCRIPT, writeOjExample } from '../azuremlShapes';
import { DEBIAN_PYTHON, ROOT, prs, tempDir } from '../helpers';

const RESOURCES = path.join(ROOT, 'resources/python');
const STORES = ['1000', '1001'];
const BRANDS = ['dominicks', 'tropicana'];
const WEEKS = 30;

/** oj_sales_data.csv with the published columns, WEEKS rows per store and brand. */
function salesData(): string {
  const rows = ['WeekStarting,Store,Brand,Quantity,Advert,Price,Revenue'];
  let seed = 7;
  const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (const store of STORES)
    for (const brand of BRANDS)
      for (let w = 0; w < WEEKS; w++) {
        const day = new Date(Date.UTC(1990, 5, 14 + 7 * w)).toISOString().slice(0, 10);
        const quantity = 9000 + Math.floor(next() * 11000);
        const price = (1.5 + next() * 1.5).toFixed(2);
        rows.push(`${day},${store},${brand},${quantity},1,${price},${(quantity * Number(price)).toFixed(2)}`);
      }
  return rows.join('\n') + '\n';
}

/** The 1a-shaped files in a temp folder, with the command node's output written by its own script. */
function prepare(): { dir: string; table: string } {
  const dir = tempDir('prs-1a-');
  writeOjExample(dir);
  mkdirSync(path.join(dir, 'oj_sales_data'));
  writeFileSync(path.join(dir, 'oj_sales_data', 'oj_sales_data.csv'), salesData());
  // What the command node runs (its component's command), in its code folder; `import mltable`
  // there is the compatibility module.
  const table = path.join(dir, 'tabular_output_data');
  execFileSync(
    DEBIAN_PYTHON,
    [
      OJ_PARTITION_SCRIPT,
      '--data_source',
      path.join(dir, 'oj_sales_data/oj_sales_data.csv'),
      '--partition_keys',
      'Store,Brand',
      '--tabular_output_data',
      table,
    ],
    { cwd: path.join(dir, OJ_PARTITION_DIR), env: { ...process.env, PYTHONPATH: RESOURCES } },
  );
  return { dir, table };
}

/** The pipeline's parallel_train node as a job of its own, its input bound to the MLTable folder. */
function parallelNode(dir: string, table: string): string {
  const pipeline = parse(readFileSync(path.join(dir, 'pipeline.yml'), 'utf8'));
  const node = pipeline.jobs.parallel_train;
  expect(node.inputs.data_source.path).toBe('${{parent.jobs.partition_job.outputs.tabular_output_data}}');
  node.inputs.data_source.path = table;
  const spec = path.join(dir, 'parallel_train.yml');
  writeFileSync(spec, stringify({ name: 'parallel-train', ...node }));
  return spec;
}

describe('a pipeline in the published 1a_oj_sales_prediction shape', () => {
  it('the partition command script writes an MLTable that reads back with Store and Brand from the folder names', () => {
    const { table } = prepare();
    expect(readdirSync(table).sort()).toEqual(['1000', '1001', 'MLTable']);
    const out = execFileSync(
      DEBIAN_PYTHON,
      [
        '-c',
        'import sys, mltable; df = mltable.load(sys.argv[1]).to_pandas_dataframe(); print(list(df.columns)); print(len(df)); print(sorted(set(zip(df.Store, df.Brand))))',
        table,
      ],
      { env: { ...process.env, PYTHONPATH: RESOURCES }, encoding: 'utf8' },
    );
    expect(out.trim().split('\n')).toEqual([
      "['WeekStarting', 'Quantity', 'Advert', 'Price', 'Revenue', 'Store', 'Brand']",
      String(STORES.length * BRANDS.length * WEEKS),
      "[('1000', 'dominicks'), ('1000', 'tropicana'), ('1001', 'dominicks'), ('1001', 'tropicana')]",
    ]);
  });

  it.skipIf(!existsSync(path.join(RESOURCES, 'mlflow/__init__.py')))(
    'the parallel node trains one model per Store and Brand and completes (run() returns [] with error_threshold -1)',
    async () => {
      const { dir, table } = prepare();
      const r = await prs(['run', parallelNode(dir, table), '--runs-dir', path.join(dir, 'runs'), '--json'], {
        env: { PATH: `${path.dirname(DEBIAN_PYTHON)}:${process.env.PATH}` },
      });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.json?.mini_batches).toEqual({ total: 4, succeeded: 4, failed: 0 });
      const models = path.join(r.json!.run_dir, 'outputs/model_folder');
      for (const store of STORES)
        for (const brand of BRANDS) expect(existsSync(path.join(models, store, brand, 'MLmodel'))).toBe(true);
    },
  );
});
