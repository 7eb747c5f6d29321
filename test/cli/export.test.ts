// `prs export <run-dir> --format csv|jsonl|parquet [--out FILE]` on a run the real engine made:
// the same files the app's exports give, to stdout or a file, and refusals that name what is wrong.

import { appendFileSync, cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { beforeAll, describe, expect, it } from 'vitest';
import { collect, nodeJob, startPrs, tempDir, type PrsResult } from '../helpers';

process.env.PRS_DATA_DIR ??= tempDir('prs-data-');

const SCORE = `import path from 'node:path';
export async function run(batch) { return batch.map((f) => path.basename(f) + ' ' + f.length); }\n`;

let dir: string;
let runDir: string;
beforeAll(async () => {
  dir = tempDir('prs-export-');
  const spec = nodeJob(dir, { script: SCORE, files: 6, name: 'export-job' });
  const r = await collect(startPrs(['run', spec, '--json']));
  expect(r.code, r.stderr).toBe(0);
  runDir = r.json!.run_dir;
}, 120_000);

const prs = (...args: string[]) => collect(startPrs(['export', ...args]));

function expectRefused(r: PrsResult, message: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
}

describe('prs export', () => {
  it('writes CSV and JSON Lines to stdout', async () => {
    const csv = await prs(runDir, '--format', 'csv');
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('col1,col2');
    expect(lines.slice(1).sort()[0]).toMatch(/^f0000\.txt,\d+$/);
    expect(lines.length).toBe(7);
    const jsonl = await prs(runDir, '--format', 'jsonl');
    expect(jsonl.code, jsonl.stderr).toBe(0);
    const rows = jsonl.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(rows.map((r) => r.col1).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `f000${i}.txt`));
  });

  it('writes Parquet to --out, read back by an independent reader', async () => {
    const out = path.join(dir, 'scores.parquet');
    const r = await prs(runDir, '--format', 'parquet', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Wrote ${out}`);
    expect(readFileSync(out).subarray(0, 4).toString()).toBe('PAR1');
    const rows = await parquetReadObjects({ file: await asyncBufferFromFile(out) });
    expect(rows.length).toBe(6);
    // The second column is a number in every row: an integer column, not text.
    expect(typeof rows[0]!.col2).toBe('bigint');
  });

  it('stops quietly, exit 0, when the reader of stdout goes away (prs export ... | head)', async () => {
    // A copy of the run whose output is far larger than a pipe holds.
    const big = path.join(dir, 'big-run');
    cpSync(runDir, big, { recursive: true });
    const output = path.join(big, 'outputs', 'parallel_run_step.txt');
    appendFileSync(output, readFileSync(output, 'utf8').repeat(200_000));
    const child = startPrs(['export', big, '--format', 'csv']);
    child.stdout!.once('data', () => child.stdout!.destroy());
    const r = await collect(child);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('refuses what it cannot do with exit 2 and one sentence', async () => {
    expectRefused(await prs(runDir), /--format is required \(csv, jsonl or parquet\)/);
    expectRefused(await prs(runDir, '--format', 'xml'), /--format "xml" is not one of csv, jsonl, parquet/);
    expectRefused(await prs(dir, '--format', 'csv'), /not a run folder/);
    expectRefused(
      await prs(runDir, '--format', 'csv', '--out', path.join(dir, 'no', 'such', 'x.csv')),
      /--out .*x\.csv: the folder above it does not exist/,
    );
  });
});
