// examples/pipeline-digits runs as shipped: a command node prepares images and a model, a parallel
// node scores them, and the pipeline's output is the scored file.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, prs, tempDir } from '../helpers';

it('examples/pipeline-digits: prepares, trains and scores 200 digits with Debian python3 first on PATH', async () => {
  const dir = tempDir('prs-pipeline-example-');
  const r = await prs(
    ['run', path.join(ROOT, 'examples/pipeline-digits/pipeline.yml'), '--runs-dir', dir, '--json'],
    { env: { PATH: `/usr/bin:${process.env.PATH ?? ''}`, PRS_DATA_DIR: path.join(dir, 'data') } },
  );
  expect(r.code, r.stderr).toBe(0);
  const rows = readFileSync(path.join(r.json!.run_dir, 'outputs/predictions'), 'utf8').trim().split('\n');
  expect(rows).toHaveLength(200);
  const right = rows.filter((row) => {
    const [, predicted, label] = row.split(',');
    return predicted === label;
  });
  expect(right.length / rows.length).toBeGreaterThan(0.9);
  expect(r.json!.items).toEqual({ succeeded: 200, failed: 0 });
});
