// v2 `type: mltable` inputs through the real CLI, the real planner and real Python (and Node)
// workers: what run() gets for every key of the MLTable file, and what a script's own
// `mltable.load(...).to_pandas_dataframe()` gets from the same folder.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEBIAN_PYTHON, ROOT, prs, tempDir, writeFiles } from '../helpers';
import { writeParquet } from '../partition/parquetWriter';

// One line per mini-batch: the columns run() got, its rows (null for a missing value), and the key.
const DUMP = `
import json

def run(df, ctx):
    rows = json.loads(df.to_json(orient="values", date_format="iso"))
    return [json.dumps({"columns": [str(c) for c in df.columns], "rows": rows, "key": ctx.partition_key_value})]
`;

interface Dumped {
  columns: string[];
  rows: unknown[][];
  key: Record<string, string>;
}

async function runMltable(
  files: Record<string, string | Buffer>,
  job: {
    extra?: string;
    script?: string;
    entry?: string;
    env?: Record<string, string>;
    miniBatch?: string;
  } = {},
): Promise<{
  tables: Dumped[];
  lines: string[];
  stdout: string;
  stderr: string;
  code: number | null;
  dir: string;
}> {
  const dir = tempDir('prs-mltable-');
  writeFiles(dir, { [`src/${job.entry ?? 'score.py'}`]: job.script ?? DUMP });
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  const spec = path.join(dir, 'job.yml');
  writeFileSync(
    spec,
    `$schema: https://azuremlschemas.azureedge.net/latest/parallelJob.schema.json
type: parallel
name: mltable-job
inputs:
  table: {type: mltable, path: ./table}
outputs:
  out: {type: uri_file, path: ./out.txt}
input_data: \${{inputs.table}}
mini_batch_size: "${job.miniBatch ?? '1mb'}"
max_concurrency_per_instance: 1
retry_settings: {max_retries: 0, timeout: 60}
task:
  type: run_function
  code: ./src
  entry_script: ${job.entry ?? 'score.py'}
  append_row_to: \${{outputs.out}}
${job.extra ?? ''}`,
  );
  const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json'], {
    // Debian's python3 has pandas; the python3 first on PATH may not.
    env: { PATH: `${path.dirname(DEBIAN_PYTHON)}:${process.env.PATH}`, ...job.env },
  });
  const lines = r.json?.output_file
    ? readFileSync(r.json.output_file, 'utf8').trim().split('\n').filter(Boolean)
    : [];
  const tables = lines
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Dumped)
    .sort((a, b) => JSON.stringify(a.key).localeCompare(JSON.stringify(b.key)));
  return { tables, lines, stdout: r.stdout, stderr: r.stderr, code: r.code, dir };
}

const expectOk = (r: { code: number | null; stdout: string; stderr: string }) =>
  expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);

describe('type: mltable inputs, read by their MLTable file', () => {
  it('read_delimited: delimiter, header all_files_same_headers, empty fields null, include_path_column', async () => {
    const r = await runMltable({
      'table/MLTable': `paths:
  - pattern: ./data/*.csv
transformations:
  - read_delimited:
      delimiter: ";"
      header: all_files_same_headers
      include_path_column: true
`,
      'table/data/a.csv': 'x;y\n1;"p;q"\n2;\n',
      'table/notes.txt': 'not data, not matched by the pattern\n',
    });
    expectOk(r);
    const file = path.join(r.dir, 'table/data/a.csv');
    expect(r.tables).toEqual([
      {
        columns: ['x', 'y', 'Path'],
        rows: [
          [1, 'p;q', file],
          [2, null, file],
        ],
        key: {},
      },
    ]);
  });

  it('read_delimited: empty_as_string keeps "" (and NA as text); no_header names columns Column1..N', async () => {
    const r = await runMltable({
      'table/MLTable': `paths:
  - file: ./a.csv
transformations:
  - read_delimited:
      header: no_header
      empty_as_string: true
`,
      'table/a.csv': 'a,,NA\nb,c,d\n',
    });
    expectOk(r);
    expect(r.tables[0]).toMatchObject({
      columns: ['Column1', 'Column2', 'Column3'],
      rows: [
        ['a', '', 'NA'],
        ['b', 'c', 'd'],
      ],
    });
  });

  it('read_delimited: from_first_file reads the header of the first file only; encoding latin1', async () => {
    const r = await runMltable({
      'table/MLTable': `paths:
  - folder: ./data
transformations:
  - read_delimited:
      header: from_first_file
      encoding: latin1
`,
      'table/data/1.csv': Buffer.from('name,n\ncaf\xe9,1\n', 'latin1'),
      'table/data/2.csv': 'tea,2\n',
    });
    expectOk(r);
    const rows = r.tables.flatMap((t) => t.rows);
    expect(r.tables.every((t) => t.columns.join() === 'name,n')).toBe(true);
    expect(rows.sort()).toEqual([
      ['café', 1],
      ['tea', 2],
    ]);
  });

  it('read_delimited: all_files_different_headers reads each file by its own header; utf8bom', async () => {
    const r = await runMltable({
      'table/MLTable': `paths:
  - pattern: ./*.csv
transformations:
  - read_delimited:
      header: all_files_different_headers
      encoding: utf8bom
      delimiter: ";"
`,
      'table/a.csv': '\ufeffx;y\n1;2\n',
      'table/b.csv': 'y;z\n3;4\n',
    });
    expectOk(r);
    expect(r.tables.map((t) => [t.columns, t.rows]).sort()).toEqual([
      [['x', 'y'], [[1, 2]]],
      [['y', 'z'], [[3, 4]]],
    ]);
  });

  it('extract_columns_from_partition_format gives columns that partition_keys use; drop_columns, keep order', async () => {
    const files: Record<string, string> = {
      'table/MLTable': `type: mltable
paths:
  - pattern: ./**/*.csv
transformations:
  - read_delimited:
      delimiter: ","
      encoding: ascii
      header: all_files_same_headers
      empty_as_string: false
      include_path_column: true
  - extract_columns_from_partition_format:
      partition_format: "{Store}/{Brand}/{file_name}.{extension}"
  - drop_columns: [Path, file_name, extension]
`,
    };
    for (const store of ['1000', '1001'])
      for (const brand of ['dominicks', 'tropicana'])
        files[`table/${store}/${brand}/partitioned_data.csv`] =
          `Week,Quantity\n1,${store}${brand.length}\n2,7\n`;
    const r = await runMltable(files, { extra: 'partition_keys: [Store, Brand]\n' });
    expectOk(r);
    expect(r.tables.map((t) => t.key)).toEqual([
      { Store: '1000', Brand: 'dominicks' },
      { Store: '1000', Brand: 'tropicana' },
      { Store: '1001', Brand: 'dominicks' },
      { Store: '1001', Brand: 'tropicana' },
    ]);
    expect(r.tables[0].columns).toEqual(['Week', 'Quantity', 'Store', 'Brand']);
    expect(r.tables[0].rows).toEqual([
      [1, 10009, '1000', 'dominicks'],
      [2, 7, '1000', 'dominicks'],
    ]);
  });

  it('take: the first n records of the whole table; keep_columns', async () => {
    const r = await runMltable({
      'table/MLTable': `paths:
  - file: ./a.csv
  - file: ./b.csv
transformations:
  - read_delimited: {}
  - take: 3
  - keep_columns: [v]
`,
      'table/a.csv': 'k,v\n1,a\n2,b\n',
      'table/b.csv': 'k,v\n3,c\n4,d\n',
    });
    expectOk(r);
    expect(r.tables.every((t) => t.columns.join() === 'v')).toBe(true);
    expect(r.tables.flatMap((t) => t.rows).sort()).toEqual([['a'], ['b'], ['c']]);
  });

  it('read_json_lines and read_parquet, with include_path_column', async () => {
    const json = await runMltable({
      'table/MLTable':
        'paths:\n  - file: ./a.jsonl\ntransformations:\n  - read_json_lines:\n      include_path_column: true\n',
      'table/a.jsonl': '{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n',
    });
    expectOk(json);
    const jf = path.join(json.dir, 'table/a.jsonl');
    expect(json.tables[0]).toMatchObject({
      columns: ['a', 'b', 'Path'],
      rows: [
        [1, 'x', jf],
        [2, 'y', jf],
      ],
    });

    const dir = tempDir('prs-mltable-pq-');
    writeParquet(
      path.join(dir, 'p.parquet'),
      [
        { name: 'n', type: 'int32' },
        { name: 's', type: 'string' },
      ],
      [
        [
          [1, 'one'],
          [2, 'two'],
        ],
      ],
    );
    const pq = await runMltable({
      'table/MLTable': `paths:\n  - file: ${path.join(dir, 'p.parquet')}\ntransformations:\n  - read_parquet:\n      include_path_column: true\n  - drop_columns: [s]\n`,
    });
    expectOk(pq);
    expect(pq.tables[0]).toMatchObject({
      columns: ['n', 'Path'],
      rows: [
        [1, path.join(dir, 'p.parquet')],
        [2, path.join(dir, 'p.parquet')],
      ],
    });
  });

  it('an MLTable of files with no read step is a files input: run() gets the paths', async () => {
    const r = await runMltable(
      {
        'table/MLTable': 'paths:\n  - pattern: ./images/*.png\n',
        'table/images/a.png': 'A',
        'table/images/b.png': 'B',
        'table/images/c.txt': 'not matched',
      },
      {
        script: 'import os\n\ndef run(files):\n    return [os.path.basename(f) for f in files]\n',
        miniBatch: '1',
      },
    );
    expectOk(r);
    expect(r.lines.sort()).toEqual(['a.png', 'b.png']);
  });

  it('a Node entry script gets the same columns and values', async () => {
    const r = await runMltable(
      {
        'table/MLTable': `paths:
  - pattern: ./*/*.csv
transformations:
  - read_delimited:
      delimiter: "|"
  - extract_columns_from_partition_format: "{region}/{file_name}.csv"
  - drop_columns: file_name
`,
        'table/eu/x.csv': 'a|b\n1|\n',
      },
      {
        entry: 'score.mjs',
        script:
          'export function run(t) { return [JSON.stringify({ columns: t.columns, rows: t.rows, key: {} })]; }\n',
      },
    );
    expectOk(r);
    // Text as in the file (Node does no type guessing); an empty field is null in an MLTable.
    expect(r.tables[0]).toMatchObject({ columns: ['a', 'b', 'region'], rows: [['1', null, 'eu']] });
  });
});

describe('the mltable compatibility module', () => {
  const SCRIPT = `
import json, os, mltable

def init():
    global table
    table = mltable.load(os.environ["TABLE"]).to_pandas_dataframe()

def run(df):
    return [json.dumps({"module": mltable.__file__, "columns": list(table.columns), "rows": json.loads(table.to_json(orient="values"))})]
`;
  const TABLE = {
    'table/MLTable': `paths:
  - pattern: ./**/*.csv
transformations:
  - read_delimited:
      include_path_column: true
  - extract_columns_from_partition_format: {partition_format: "{Store}/{file_name}.csv"}
  - drop_columns: [Path, file_name]
  - take: 2
`,
    'table/1/a.csv': 'q\n10\n11\n',
    'table/2/a.csv': 'q\n20\n',
  };

  it('mltable.load(folder).to_pandas_dataframe() reads the MLTable file as the input does', async () => {
    const ok = await runMltableWithTableEnv(TABLE, SCRIPT);
    expectOk(ok);
    const line = JSON.parse(ok.lines[0]);
    expect(line.module).toBe(path.join(ROOT, 'resources/python/mltable/__init__.py'));
    expect(line.columns).toEqual(['q', 'Store']);
    expect(line.rows).toEqual([
      [10, '1'],
      [11, '1'],
    ]);
  });

  it('from_delimited_files, the column steps and save() write an MLTable file that load() reads back; errors name the file and key', () => {
    const dir = tempDir('prs-mltable-py-');
    writeFiles(dir, { 'data/a.csv': 'k;v\n1;x\n2;\n3;z\n' });
    const py = (code: string) =>
      execFileSync(DEBIAN_PYTHON, ['-c', code], {
        cwd: dir,
        env: { ...process.env, PYTHONPATH: path.join(ROOT, 'resources/python') },
        encoding: 'utf8',
      }).trim();
    const out = py(`
import mltable
t = mltable.from_delimited_files([{"file": "./data/a.csv"}], delimiter=";", include_path_column=True)
t.take(2).drop_columns("Path").save("./saved")
df = mltable.load("./saved").to_pandas_dataframe()
print(list(df.columns), df.values.tolist())
`);
    expect(out).toBe("['k', 'v'] [[1, 'x'], [2, nan]]");
    expect(readFileSync(path.join(dir, 'saved/MLTable'), 'utf8')).toContain(
      // Outside the saved folder, a path stays valid as an absolute one.
      `file: ${path.join(dir, 'data/a.csv')}`,
    );
    writeFiles(dir, {
      'bad/MLTable': 'paths:\n  - file: ./a.csv\ntransformations:\n  - read_delimited:\n      header: nope\n',
      'bad/a.csv': 'x\n1\n',
    });
    const err = py(`
import mltable
try:
    mltable.load("./bad").to_pandas_dataframe()
except mltable.MLTableError as e:
    print(e)
`);
    expect(err).toBe(
      `${path.join(dir, 'bad/MLTable')}: transformations.0.read_delimited.header: 'nope' is not valid (expected one of all_files_same_headers, all_files_different_headers, from_first_file, no_header)`,
    );
  });

  it('an installed mltable wins over the compatibility module', async () => {
    const site = tempDir('prs-mltable-site-');
    writeFiles(site, {
      'mltable/__init__.py':
        'import pandas\nclass _T:\n    def to_pandas_dataframe(self):\n        return pandas.DataFrame({"real": [1]})\ndef load(p):\n    return _T()\n',
    });
    const ok = await runMltableWithTableEnv(TABLE, SCRIPT, { PYTHONPATH: site });
    expectOk(ok);
    const line = JSON.parse(ok.lines[0]);
    expect(line.module).toBe(path.join(site, 'mltable/__init__.py'));
    expect(line.columns).toEqual(['real']);
  });
});

/** runMltable with TABLE naming the job's own MLTable folder (known only once the folder exists). */
async function runMltableWithTableEnv(
  files: Record<string, string>,
  script: string,
  env: Record<string, string> = {},
) {
  // The MLTable folder sits at <dir>/table: point TABLE at it through a small wrapper script.
  const wrapped = `import os\nos.environ["TABLE"] = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "table")\n${script}`;
  return runMltable(files, { script: wrapped, env });
}
