// examples/batch-deployment as its README runs it: prepare.py, then both deployments, from a copy
// (so that the repository's example folder gets no model, data or runs from a test).

import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEBIAN_PYTHON, ROOT } from '../helpers';
import { prsIn, readLines, workspace } from './helpers';

describe('examples/batch-deployment', () => {
  it('scores its data with the scoring script, and as an MLflow model without one', async () => {
    const { dir, dataDir } = workspace();
    const example = path.join(dir, 'batch-deployment');
    cpSync(path.join(ROOT, 'examples', 'batch-deployment'), example, {
      recursive: true,
      filter: (src) => !/[\\/](model|data|runs)$/.test(src),
    });
    execFileSync(DEBIAN_PYTHON, [path.join(example, 'prepare.py')]);

    const custom = await prsIn(dir, dataDir, [
      'run',
      'batch-deployment/deployment.yml',
      '--input',
      'batch-deployment/data',
      '--json',
    ]);
    expect(custom.code).toBe(0);
    expect(custom.json!.mini_batches).toEqual({ total: 3, succeeded: 3, failed: 0 });
    const lines = readLines(custom.json!.output_file!).sort();
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['iris-0.csv', 'iris-1.csv', 'iris-2.csv']);
    // Ten flowers a file, each given a species.
    for (const line of lines) {
      const counts = line
        .split(' ')
        .slice(1)
        .map((kv) => Number(kv.split('=')[1]));
      expect(counts.reduce((a, b) => a + b, 0)).toBe(10);
    }
    expect(readdirSync(path.dirname(custom.json!.output_file!)).sort()).toEqual(
      expect.arrayContaining([
        'iris-0-scored.csv',
        'iris-1-scored.csv',
        'iris-2-scored.csv',
        'predictions.csv',
      ]),
    );

    const mlflow = await prsIn(dir, dataDir, [
      'run',
      'batch-deployment/deployment-mlflow.yml',
      '--input',
      'batch-deployment/data',
      '--output',
      'scores',
      '--json',
    ]);
    expect(mlflow.code).toBe(0);
    const scored = readLines(path.join(dir, 'scores', 'predictions.csv'));
    expect(scored).toHaveLength(30);
    for (const line of scored) expect(line).toMatch(/^\d,[012],iris-[012]\.csv$/);
  });
});
