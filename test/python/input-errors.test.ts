// Bad input data, through the real CLI: in the Python runtime (Debian's Python with pandas) the
// error names the file and its line (not a line of the mini-batch), in the Node runtime the file and
// byte; both say the data is at fault, not the entry script.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/common/events';
import { DEBIAN_PYTHON, prs, tempDir, writeFiles } from '../helpers';

async function runTable(file: string, text: string, runtime: 'python' | 'node' = 'python') {
  const dir = tempDir('prs-pydata-');
  writeFiles(dir, {
    'src/score.py': 'def run(batch):\n    return [len(batch)]\n',
    'src/score.mjs': 'export function run(t) { return [t.rows.length]; }',
    [`data/${file}`]: text,
  });
  const spec = path.join(dir, 'job.json');
  writeFileSync(
    spec,
    JSON.stringify({
      name: 'py-data',
      entry_script: runtime === 'python' ? 'score.py' : 'score.mjs',
      source_directory: './src',
      python: DEBIAN_PYTHON,
      inputs: [{ path: `./data/${file}`, type: 'tabular' }],
      // Many mini-batches: the bad record is far from the start of its mini-batch's bytes.
      mini_batch_size: '16KB',
      process_count_per_node: 1,
      run_max_try: 1,
    }),
  );
  const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
  const record = JSON.parse(readFileSync(path.join(r.json!.run_dir, 'run.json'), 'utf8'));
  return { r, findings: record.summary.findings as Finding[], dataFile: path.join(dir, 'data', file) };
}

describe('bad records in tabular inputs (Python runtime)', () => {
  it('a ragged CSV row is named by its file and line, and the remedy is to fix the data', async () => {
    const lines = ['id,name,score'];
    for (let i = 1; i <= 5000; i++) lines.push(i === 4001 ? `${i},n${i},0.5,extra` : `${i},n${i},0.5`);
    const { r, findings, dataFile } = await runTable('scores.csv', lines.join('\n') + '\n');
    expect(r.json!.mini_batches.failed).toBe(1);
    const f = findings.find((x) => x.title.startsWith('An input record'))!;
    expect(f, JSON.stringify(findings)).toBeDefined();
    // Line 4002 of the file: the header is line 1.
    expect(f.detail).toContain(`${dataFile} line 4002: 4 fields where there are 3 columns (id, name, score)`);
    expect(f.remedy).toContain(`fix or drop the bad record in ${dataFile} line 4002`);
    expect(f.remedy).not.toMatch(/Fix the entry script/);
    expect(f.traceback).toBeUndefined();
    expect(r.stderr + r.stdout).toContain(`${dataFile} line 4002`);
  });

  it('a JSON Lines line that is not JSON is named by its file and line', async () => {
    const lines: string[] = [];
    for (let i = 1; i <= 3000; i++)
      lines.push(i === 2500 ? `{"id": ${i}, "name": "n${i}"` : JSON.stringify({ id: i, name: `n${i}` }));
    const { r, findings, dataFile } = await runTable('rows.jsonl', lines.join('\n') + '\n');
    expect(r.json!.mini_batches.failed).toBe(1);
    const f = findings.find((x) => x.title.startsWith('An input record'))!;
    expect(f, JSON.stringify(findings)).toBeDefined();
    expect(f.detail).toMatch(
      new RegExp(`${dataFile.replace(/[.]/g, '\\.')} line 2500: not a JSON object \\(`),
    );
    expect(f.remedy).toContain(`fix or drop the bad record in ${dataFile} line 2500`);
  });

  it('Node runtime: a ragged CSV row is named by its file and byte, and the remedy is to fix the data', async () => {
    const lines = ['id,name,score'];
    for (let i = 1; i <= 5000; i++) lines.push(i === 4001 ? `${i},n${i},0.5,extra` : `${i},n${i},0.5`);
    const text = lines.join('\n') + '\n';
    const { r, findings, dataFile } = await runTable('scores.csv', text, 'node');
    expect(r.json!.mini_batches.failed).toBe(1);
    const f = findings.find((x) => x.title.startsWith('An input record'))!;
    expect(f, JSON.stringify(findings)).toBeDefined();
    const byte = text.indexOf('4001,n4001');
    expect(f.detail).toContain(`${dataFile}: byte ${byte}: a record with 4 fields (expected at most 3`);
    expect(f.remedy).toContain(`fix or drop the bad record in ${dataFile} byte ${byte}`);
    expect(f.traceback).toBeUndefined();
  });

  it('TSV: a quote is data in the Python runtime as in the Node runtime (no quoting in TSV)', async () => {
    const text = 'id\tnote\n1\t"quoted" word\n2\tsay "hi\n3\tend"\n';
    const script = {
      python: 'def run(df):\n    return [f"{r.id}|{r.note}" for r in df.itertuples()]\n',
      node: "export function run(t) { return t.rows.map((r) => r.join('|')); }",
    };
    const outputs: string[] = [];
    for (const runtime of ['python', 'node'] as const) {
      const dir = tempDir('prs-tsv-');
      writeFiles(dir, {
        [runtime === 'python' ? 'src/score.py' : 'src/score.mjs']: script[runtime],
        'data/notes.tsv': text,
      });
      const spec = path.join(dir, 'job.json');
      writeFileSync(
        spec,
        JSON.stringify({
          name: 'tsv-quotes',
          entry_script: runtime === 'python' ? 'score.py' : 'score.mjs',
          source_directory: './src',
          python: DEBIAN_PYTHON,
          inputs: [{ path: './data/notes.tsv', type: 'tabular' }],
          mini_batch_size: '1MB',
        }),
      );
      const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
      expect(r.code, r.stderr).toBe(0);
      outputs.push(readFileSync(r.json!.output_file!, 'utf8'));
    }
    expect(outputs[0]).toBe('1|"quoted" word\n2|say "hi\n3|end"\n');
    expect(outputs[1]).toBe(outputs[0]);
  });
});
