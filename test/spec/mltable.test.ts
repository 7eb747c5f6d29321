// The MLTable file of a v2 `type: mltable` input, as the spec loader reads it: the inputs it makes,
// and a clear problem, naming the MLTable file and its key, for every way it can be wrong.

import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSpec } from '../../src/engine/spec/load';
import { DEBIAN_PYTHON, prs } from '../helpers';
import { tempTree, type TempTree } from './fixtures';

let t: TempTree;
beforeEach(() => {
  t = tempTree();
});
afterEach(() => t.remove());

function job(mltable: string, extra = ''): string {
  t.file('src/score.py', 'def run(b):\n    return b\n');
  t.file('table/MLTable', mltable);
  t.file('table/a.csv', 'x,y\n1,2\n');
  return t.file(
    'job.yml',
    `type: parallel
name: mltable-spec
inputs:
  rows: {type: mltable, path: ./table}
input_data: \${{inputs.rows}}
task: {type: run_function, code: ./src, entry_script: score.py}
${extra}`,
  );
}

async function problems(mltable: string): Promise<string[]> {
  const r = await loadSpec(job(mltable));
  if (r.ok) throw new Error('expected problems, the spec loaded');
  return r.problems;
}

describe('the MLTable file of a type: mltable input', () => {
  it('makes one tabular input per path, with what the read step and transformations say', async () => {
    t.file('table/more/b.csv', 'x,y\n');
    t.file('table/c/d.tsv', 'x\ty\n');
    const r = await loadSpec(
      job(`paths:
  - file: ./a.csv
  - folder: ./more
  - pattern: ./**/*.tsv
transformations:
  - read_delimited:
      delimiter: "\\t"
      header: from_first_file
      encoding: iso88591
      empty_as_string: true
      include_path_column: true
      support_multi_line: true
  - extract_columns_from_partition_format: "{a}/{b}.tsv"
  - take: 5
  - keep_columns: [x, a]
  - drop_columns: a
`),
    );
    if (!r.ok) throw new Error(r.problems.join('\n'));
    const read = {
      file: path.join(t.dir, 'table/MLTable'),
      delimiter: '\t',
      header: 'from_first_file',
      emptyAsString: true,
      includePathColumn: true,
      partitionFormat: '{a}/{b}.tsv',
      take: 5,
      columnSteps: [{ keep: ['x', 'a'] }, { drop: ['a'] }],
    };
    const common = { type: 'tabular', format: 'csv', encoding: 'latin1', mltable: read };
    expect(r.spec.input_type).toBe('tabular');
    expect(r.spec.inputs).toEqual([
      { path: path.join(t.dir, 'table/a.csv'), ...common },
      // The MLTable file itself is not data.
      { path: path.join(t.dir, 'table/more'), pattern: '**/!(MLTable)', ...common },
      { path: path.join(t.dir, 'table/**/*.tsv'), ...common },
    ]);
  });

  it('read_parquet and read_json_lines name their formats; no read step makes a files input', async () => {
    const pq = await loadSpec(job('paths:\n  - file: ./a.csv\ntransformations:\n  - read_parquet\n'));
    expect(pq.ok && pq.spec.inputs[0].format).toBe('parquet');
    const jl = await loadSpec(
      job('paths:\n  - file: ./a.csv\ntransformations:\n  - read_json_lines: {encoding: utf8}\n'),
    );
    expect(jl.ok && jl.spec.inputs[0].format).toBe('jsonl');
    const files = await loadSpec(job('paths:\n  - folder: ./\n', 'mini_batch_size: "3"\n'));
    if (!files.ok) throw new Error(files.problems.join('\n'));
    expect(files.spec.input_type).toBe('files');
    expect(files.spec.mini_batch_size).toBe(3);
    expect(files.spec.inputs).toEqual([
      { path: path.join(t.dir, 'table'), type: 'files', pattern: '**/!(MLTable)' },
    ]);
  });

  it('names the MLTable file and the key of every problem, with what was expected', async () => {
    const file = path.join(t.dir, 'table/MLTable');
    const got = await problems(`paths:
  - file: ./a.csv
    folder: ./b
  - pattern: https://example.com/x.csv
transformations:
  - read_delimited:
      header: first_line
      encoding: utf16
      delimiter: ",,"
      empty_as_string: "no"
      quoting: true
  - take: 0
  - keep_columns: []
  - extract_columns_from_partition_format: "{when:yyyy/MM/dd}/x.csv"
  - filter: 'col("a") > 1'
  - shuffle: true
`);
    const at = (key: string) => `inputs.rows: ${file}: ${key}: `;
    expect(got).toEqual([
      `${at('paths.0')}a mapping is not valid (expected one of file: <path>, folder: <path> or pattern: <glob>)`,
      `${at('paths.1.pattern')}"https://example.com/x.csv" is a cloud location (expected a local path relative to the MLTable file)`,
      `${at('transformations.0.read_delimited.quoting')}unknown option (expected one of delimiter, header, encoding, empty_as_string, include_path_column, support_multi_line, infer_column_types)`,
      `${at('transformations.0.read_delimited.encoding')}"utf16" is not supported here (expected one of utf8, utf8bom, ascii, latin1, iso88591, windows1252)`,
      `${at('transformations.0.read_delimited.delimiter')}",," is not valid (expected one character, such as "," or "\\t")`,
      `${at('transformations.0.read_delimited.header')}"first_line" is not valid (expected one of all_files_same_headers, all_files_different_headers, from_first_file, no_header)`,
      `${at('transformations.0.read_delimited.empty_as_string')}"no" is not valid (expected true or false)`,
      `${at('transformations.1.take')}0 is not valid (expected a whole number of records >= 1)`,
      `${at('transformations.2.keep_columns')}an empty list is not valid (expected a list of column names)`,
      `${at('transformations.3.extract_columns_from_partition_format')}"{when:yyyy/MM/dd}": date placeholders are not supported here (expected {name} placeholders, read as text)`,
      `${at('transformations.4.filter')}not supported here (expected only read_delimited, read_parquet, read_json_lines, take, keep_columns, drop_columns, extract_columns_from_partition_format)`,
      `${at('transformations.5.shuffle')}unknown step (expected one of read_delimited, read_parquet, read_json_lines, take, keep_columns, drop_columns, extract_columns_from_partition_format)`,
    ]);
  });

  it('refuses paths that name nothing: a missing file or folder, a pattern that matches no file', async () => {
    const file = path.join(t.dir, 'table/MLTable');
    expect(
      await problems(
        'paths:\n  - file: ./nope.csv\n  - folder: ./a.csv\n  - pattern: ./*.parquet\n  - pattern: ./no/**/*.csv\ntransformations:\n  - read_delimited\n',
      ),
    ).toEqual([
      `inputs.rows: ${file}: paths.0.file: "./nope.csv" does not exist at ${path.join(t.dir, 'table/nope.csv')} (expected a file)`,
      `inputs.rows: ${file}: paths.1.folder: "./a.csv" is not a folder at ${path.join(t.dir, 'table/a.csv')} (expected a folder)`,
      `inputs.rows: ${file}: paths.2.pattern: "./*.parquet" matches no file (expected at least one, relative to the MLTable file)`,
      `inputs.rows: ${file}: paths.3.pattern: "./no/**/*.csv" matches no file (expected at least one, relative to the MLTable file)`,
    ]);
  });

  it('refuses a missing paths, a second read step, a read step not first, and YAML that does not parse', async () => {
    const file = path.join(t.dir, 'table/MLTable');
    expect(await problems('transformations:\n  - read_parquet\n')).toEqual([
      `inputs.rows: ${file}: paths: missing (expected a list of {file: …}, {folder: …} or {pattern: …})`,
    ]);
    expect(
      await problems(
        'paths:\n  - file: ./a.csv\ntransformations:\n  - take: 1\n  - read_json_lines\n  - read_parquet\n',
      ),
    ).toEqual([
      `inputs.rows: ${file}: transformations.1.read_json_lines: not the first step (expected the read step before the others)`,
      `inputs.rows: ${file}: transformations.2.read_parquet: a second read step (expected one of read_delimited, read_parquet, read_json_lines)`,
    ]);
    const bad = await problems('paths: [\n');
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatch(new RegExp(`^inputs\\.rows: ${file}:\\d+:\\d+: .* \\(expected valid YAML\\)$`));
  });

  it('prs validate exits 2 with the problem; a data problem at planning names the MLTable file and key', async () => {
    const spec = job('paths:\n  - file: ./a.csv\ntransformations:\n  - read_delimited: {header: none}\n');
    const v = await prs(['validate', spec]);
    expect(v.code).toBe(2);
    expect(v.stdout + v.stderr).toContain(
      `${path.join(t.dir, 'table/MLTable')}: transformations.0.read_delimited.header: "none" is not valid`,
    );

    const missingColumn = job(
      'paths:\n  - file: ./a.csv\ntransformations:\n  - read_delimited\n  - drop_columns: [z]\n',
    );
    const r = await prs(['run', missingColumn, '--runs-dir', path.join(t.dir, 'runs'), '--json'], {
      env: { PATH: `${path.dirname(DEBIAN_PYTHON)}:${process.env.PATH}` },
    });
    expect(r.code).toBe(42);
    expect(r.stdout + r.stderr).toContain(
      `${path.join(t.dir, 'table/MLTable')}: drop_columns: no column "z" (the columns: x, y)`,
    );
  });
});
