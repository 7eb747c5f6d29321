// Tabular inputs through the real CLI and the Node runtime: size-based mini-batches that never
// split a record (quoted newlines included), a tiny file as one mini-batch, and partition keys.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prs, tempDir, writeFiles } from '../helpers';

const SCRIPT = `
export function run(table, ctx) {
  const id = table.columns.indexOf('id');
  const note = table.columns.indexOf('note');
  const key = ctx.partitionKeyValue ? JSON.stringify(ctx.partitionKeyValue) : '-';
  return table.rows.map((r) => [ctx.miniBatchId, r[id], JSON.stringify(r[note]), key].join('|'));
}`;

function bigCsv(rows: number): string {
  const lines = ['id,store,note'];
  for (let i = 0; i < rows; i++) {
    // Every 7th record has a quoted field with a newline and a comma in it.
    const note = i % 7 === 0 ? `"line one, of ${i}\nline two ""quoted"""` : `plain ${i}`;
    lines.push(`${i},s${i % 3},${note}`);
  }
  return lines.join('\n') + '\n';
}

describe('prs run on tabular input', () => {
  it('splits by size without splitting a record; a tiny file is one mini-batch', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'src/score.mjs': SCRIPT,
      'data/a.csv': bigCsv(3000),
      'data/b.csv': 'id,store,note\n9999,s9,tiny\n',
    });
    const spec = {
      name: 'tabular-job',
      entry_script: 'score.mjs',
      source_directory: './src',
      inputs: [{ path: './data', type: 'tabular', format: 'csv' }],
      mini_batch_size: '8KB',
      process_count_per_node: 2,
    };
    writeFileSync(path.join(dir, 'job.json'), JSON.stringify(spec));
    const r = await prs(['run', path.join(dir, 'job.json'), '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(0);
    expect(r.json!.items).toEqual({ succeeded: 3001, failed: 0 });
    const rows = readFileSync(r.json!.output_file!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('|'));
    const ids = rows.map((r) => Number(r[1])).sort((a, b) => a - b);
    expect(ids).toEqual([...Array.from({ length: 3000 }, (_, i) => i), 9999]);
    // Quoted newlines and doubled quotes arrive resolved, in one record.
    const seven = rows.find((r) => r[1] === '7')!;
    expect(JSON.parse(seven[2]!)).toBe('line one, of 7\nline two "quoted"');
    // a.csv is ~90 KB: several mini-batches; the tiny file is a mini-batch of its own.
    const batches = new Set(rows.map((r) => r[0]));
    expect(batches.size).toBeGreaterThan(8);
    const tinyBatch = rows.find((r) => r[1] === '9999')![0];
    expect(rows.filter((r) => r[0] === tinyBatch).length).toBe(1);
  });

  it('partition_keys: one mini-batch per distinct value, carrying partition_key_value', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'src/score.mjs': SCRIPT, 'data/a.csv': bigCsv(300) });
    const spec = {
      name: 'tabular-keys',
      entry_script: 'score.mjs',
      source_directory: './src',
      inputs: [{ path: './data/a.csv', type: 'tabular' }],
      partition_keys: ['store'],
      process_count_per_node: 2,
    };
    writeFileSync(path.join(dir, 'job.json'), JSON.stringify(spec));
    const r = await prs(['run', path.join(dir, 'job.json'), '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(0);
    expect(r.json!.mini_batches.total).toBe(3);
    const rows = readFileSync(r.json!.output_file!, 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('|'));
    for (const row of rows) {
      const id = Number(row[1]);
      expect(JSON.parse(row[3]!)).toEqual({ store: `s${id % 3}` });
    }
    expect(rows.length).toBe(300);
  });
});

describe('prs validate', () => {
  it('reports every problem of a spec at once and exits 2', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'job.yaml': [
        'name: X_bad',
        'entry_script: missing.py',
        'inputs:',
        '  - path: ./nowhere',
        '    type: files',
        'mini_batch_size: 0',
        'run_max_try: many',
        'logging_level: LOUD',
        'surprise: 1',
      ].join('\n'),
    });
    const r = await prs(['validate', path.join(dir, 'job.yaml')]);
    expect(r.code).toBe(2);
    for (const key of ['name', 'mini_batch_size', 'run_max_try', 'logging_level', 'surprise']) {
      expect(r.stderr).toMatch(new RegExp(`^  ${key}: .+\\(.+\\)$`, 'm'));
    }
    // The same spec is refused by prs run, before anything runs.
    const run = await prs(['run', path.join(dir, 'job.yaml'), '--runs-dir', path.join(dir, 'runs')]);
    expect(run.code).toBe(2);
  });

  it('accepts the bundled example', async () => {
    const r = await prs(['validate', 'examples/hello-files/job.yaml']);
    expect(r.stdout).toMatch(/valid \(hello-files, node runtime, files input\)/);
    expect(r.code).toBe(0);
  });

  it('exits 2 on a usage error', async () => {
    const r = await prs(['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Usage: prs/);
  });
});
