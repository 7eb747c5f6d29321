// File names that are not valid UTF-8 (bytes, as Linux allows), through the real CLI and real
// workers: Python's run() gets the real path (os.fsdecode's surrogateescape), the Node runtime
// refuses at planning with the file named, and Node can still read a table under such a name.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEBIAN_PYTHON, prs, tempDir, writeFiles } from '../helpers';
import { writeParquet } from './parquetWriter';

/** dir/data/ with "plain.txt" and "caf\xe9.txt" (é in Latin-1: the byte 0xE9, not UTF-8). */
function dataWithRawName(dir: string, ext = 'txt', body = 'hello\n'): string {
  writeFiles(dir, { [`data/plain.${ext}`]: body });
  const raw = Buffer.concat([
    Buffer.from(path.join(dir, 'data') + '/caf'),
    Buffer.from([0xe9]),
    Buffer.from(`.${ext}`),
  ]);
  writeFileSync(raw, body);
  return path.join(dir, 'data');
}

function spec(dir: string, over: Record<string, unknown>): string {
  const file = path.join(dir, 'job.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'raw-names',
      source_directory: './src',
      inputs: [{ path: './data', type: 'files' }],
      mini_batch_size: 10,
      process_count_per_node: 1,
      run_max_try: 1,
      ...over,
    }),
  );
  return file;
}

describe.runIf(process.platform === 'linux')('file names that are not UTF-8', () => {
  it('Python: run() gets the real path, with the bytes os.fsencode gives back', async () => {
    const dir = tempDir('prs-raw-');
    dataWithRawName(dir);
    writeFiles(dir, {
      'src/score.py':
        'import os\n\ndef run(batch):\n' +
        '    return [open(f).read().strip() + "|" + os.fsencode(os.path.basename(f)).hex() for f in batch]\n',
    });
    const r = await prs([
      'run',
      spec(dir, { entry_script: 'score.py', python: DEBIAN_PYTHON }),
      '--runs-dir',
      path.join(dir, 'runs'),
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 1, succeeded: 1, failed: 0 });
    const lines = readFileSync(r.json!.output_file!, 'utf8').trim().split('\n').sort();
    // "caf\xe9.txt" and "plain.txt", as bytes.
    expect(lines).toEqual([
      `hello|${Buffer.from('caf\xe9.txt', 'latin1').toString('hex')}`,
      `hello|${Buffer.from('plain.txt').toString('hex')}`,
    ]);
  });

  it('Node: refused at planning, the file named with its byte shown as \\xe9', async () => {
    const dir = tempDir('prs-raw-');
    const data = dataWithRawName(dir);
    writeFiles(dir, { 'src/score.mjs': 'export function run(b) { return b; }' });
    const r = await prs([
      'run',
      spec(dir, { entry_script: 'score.mjs' }),
      '--runs-dir',
      path.join(dir, 'runs'),
      '--json',
    ]);
    expect(r.code).toBe(42);
    expect(r.json!.reason).toContain(
      `${data}/caf\\xe9.txt: the file name is not valid UTF-8, and the Node runtime`,
    );
    expect(r.json!.reason).toMatch(
      /rename the file, leave it out with the input's pattern, or use a Python entry script/,
    );
  });

  it('Node: a table under such a name is read (run() gets rows, not the name)', async () => {
    const dir = tempDir('prs-raw-');
    dataWithRawName(dir, 'csv', 'id,v\n1,a\n');
    writeFiles(dir, { 'src/score.mjs': "export function run(t) { return t.rows.map((r) => r.join('|')); }" });
    const r = await prs([
      'run',
      spec(dir, {
        entry_script: 'score.mjs',
        inputs: [{ path: './data', type: 'tabular' }],
        mini_batch_size: '1MB',
      }),
      '--runs-dir',
      path.join(dir, 'runs'),
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(readFileSync(r.json!.output_file!, 'utf8')).toBe('1|a\n1|a\n');
  });

  it('Python: a parquet file under such a name is read (its row groups are read on the Node side)', async () => {
    const dir = tempDir('prs-raw-');
    writeFiles(dir, {
      'src/score.py': 'def run(df):\n    return [f"{r.id}|{r.store}" for r in df.itertuples()]\n',
    });
    mkdirSync(path.join(dir, 'data'));
    const plain = path.join(dir, 'data', 'plain.parquet');
    writeParquet(
      plain,
      [
        { name: 'id', type: 'int64' },
        { name: 'store', type: 'string' },
      ],
      [
        [
          [1, 'n'],
          [2, 's'],
        ],
      ],
    );
    renameSync(
      plain,
      Buffer.concat([
        Buffer.from(path.join(dir, 'data') + '/caf'),
        Buffer.from([0xe9]),
        Buffer.from('.parquet'),
      ]),
    );
    const r = await prs([
      'run',
      spec(dir, {
        entry_script: 'score.py',
        python: DEBIAN_PYTHON,
        inputs: [{ path: './data', type: 'tabular' }],
        mini_batch_size: '1MB',
      }),
      '--runs-dir',
      path.join(dir, 'runs'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(r.json!.output_file!, 'utf8')).toBe('1|n\n2|s\n');
  });
});
