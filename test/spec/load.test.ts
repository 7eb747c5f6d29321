import { chmodSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSpec, resolveSpec, type LoadResult } from '../../src/engine/spec/load';
import { tempTree, type TempTree } from './fixtures';

let t: TempTree;
beforeEach(() => {
  t = tempTree();
});
afterEach(() => t.remove());

function ok(r: LoadResult) {
  if (!r.ok) throw new Error(`expected a valid spec, got:\n${r.problems.join('\n')}`);
  return r;
}
function problemsOf(r: LoadResult): string[] {
  if (r.ok) throw new Error('expected problems, the spec loaded');
  return r.problems;
}

describe('loadSpec: paths', () => {
  it('resolves paths against the spec folder, entry_script against source_directory', async () => {
    t.file('job/src/score.py', 'def run(b): return b\n');
    t.file('job/data/a.png');
    t.file('job/labels/l.txt');
    t.file('job/models/iris.pkl');
    const specPath = t.file(
      'job/job.yaml',
      [
        'name: score-digits',
        'source_directory: ./src',
        'entry_script: score.py',
        'inputs:',
        '  - path: ./data',
        'side_inputs:',
        '  - {name: labels, path: labels}',
        'models: {iris: ./models/iris.pkl}',
        'mini_batch_size: 4',
        '',
      ].join('\n'),
    );
    const { spec, warnings } = ok(await loadSpec(specPath));
    const job = path.join(t.dir, 'job');
    expect(warnings).toEqual([]);
    expect(spec).toMatchObject({
      name: 'score-digits',
      spec_path: specPath,
      source_directory: path.join(job, 'src'),
      entry_script: path.join(job, 'src', 'score.py'),
      runtime: 'python',
      inputs: [{ path: path.join(job, 'data'), type: 'files' }],
      input_type: 'files',
      side_inputs: [{ name: 'labels', path: path.join(job, 'labels') }],
      models: { iris: path.join(job, 'models', 'iris.pkl') },
      mini_batch_size: 4,
    });
    expect(spec.python).toBeUndefined();
  });

  it('defaults source_directory to the spec folder and fills every default', async () => {
    t.file('score.js', 'export function run(b) { return b; }\n');
    t.file('data/x.txt');
    const specPath = t.file(
      'job.json',
      JSON.stringify({ name: 'abc', entry_script: 'score.js', inputs: [{ path: 'data' }] }),
    );
    const { spec } = ok(await loadSpec(specPath));
    expect(spec).toEqual({
      name: 'abc',
      spec_path: specPath,
      entry_script: path.join(t.dir, 'score.js'),
      source_directory: t.dir,
      runtime: 'node',
      inputs: [{ path: path.join(t.dir, 'data'), type: 'files' }],
      input_type: 'files',
      side_inputs: [],
      mini_batch_size: 10,
      error_threshold: -1,
      allowed_failed_count: -1,
      allowed_failed_percent: 100,
      output_action: 'append_row',
      append_row_file_name: 'parallel_run_step.txt',
      node_count: 1,
      process_count_per_node: 'auto',
      gpus: 'auto',
      run_invocation_timeout: 60,
      run_max_try: 3,
      logging_level: 'INFO',
      arguments: [],
      models: {},
      environment_variables: {},
      resource_monitor_interval: 600,
      allow_reuse: true,
    });
  });

  it('reports every disk problem at once, with the schema problems', async () => {
    t.folder('venv');
    t.file('src.txt');
    const specPath = t.file(
      'job.yaml',
      [
        'name: ab',
        'entry_script: missing.py',
        'python: ./venv',
        'inputs:',
        '  - path: ./nope',
        '  - path: ./data/*.png',
        'side_inputs: [{name: labels, path: ./labels}]',
        'models: {m: ./m.pkl}',
      ].join('\n'),
    );
    const problems = problemsOf(await loadSpec(specPath));
    expect(problems).toEqual([
      'name: "ab" is not a valid job name (expected 3-32 characters: lowercase letters, digits and dashes, starting with a letter and not ending with a dash)',
      `entry_script: "missing.py" does not exist at ${path.join(t.dir, 'missing.py')} (expected a file, relative to source_directory)`,
      'python: "./venv" is a folder without bin/python or bin/python3 (expected an interpreter, a venv folder or a conda env folder)',
      `inputs.0.path: "./nope" does not exist at ${path.join(t.dir, 'nope')} (expected a folder, a file or a glob)`,
      `inputs.1.path: the folder of glob "./data/*.png" does not exist at ${path.join(t.dir, 'data')} (expected a folder, a file or a glob)`,
      `side_inputs.0.path: "./labels" does not exist at ${path.join(t.dir, 'labels')} (expected a file or folder)`,
      `models.m: "./m.pkl" does not exist at ${path.join(t.dir, 'm.pkl')} (expected a model file or folder)`,
    ]);
  });

  it('needs a glob to match a file and a pattern to match in its folder', async () => {
    t.file('score.py');
    t.file('data/a.jpg');
    t.file('data/sub/b.png');
    const base = { name: 'abc', entry_script: 'score.py' };
    expect(problemsOf(await resolveSpec({ ...base, inputs: [{ path: 'data/*.png' }] }, t.dir))).toEqual([
      'inputs.0.path: glob "data/*.png" matches no file (expected at least one file)',
    ]);
    expect(
      ok(await resolveSpec({ ...base, inputs: [{ path: 'data/**/*.png' }] }, t.dir)).spec.inputs,
    ).toEqual([{ path: path.join(t.dir, 'data/**/*.png'), type: 'files' }]);
    expect(
      problemsOf(await resolveSpec({ ...base, inputs: [{ path: 'data', pattern: '*.png' }] }, t.dir)),
    ).toEqual([
      `inputs.0.pattern: "*.png" matches no file under ${path.join(t.dir, 'data')} (expected at least one file)`,
    ]);
    const r = ok(await resolveSpec({ ...base, inputs: [{ path: 'data', pattern: '**/*.png' }] }, t.dir));
    expect(r.spec.inputs[0].pattern).toBe('**/*.png');
    t.folder('empty');
    const empty = ok(await resolveSpec({ ...base, inputs: [{ path: 'empty' }] }, t.dir));
    expect(empty.warnings).toEqual([`inputs.0.path: folder ${path.join(t.dir, 'empty')} has no files`]);
  });
});

describe('loadSpec: runtime and python', () => {
  it.each([
    ['score.py', 'python'],
    ['score.js', 'node'],
    ['score.mjs', 'node'],
    ['score.cjs', 'node'],
    ['score.ts', 'node'],
  ])('%s runs in %s', async (file, runtime) => {
    t.file(file);
    t.file('d/x');
    const r = ok(await resolveSpec({ name: 'abc', entry_script: file, inputs: [{ path: 'd' }] }, t.dir));
    expect(r.spec.runtime).toBe(runtime);
  });

  it('refuses an unknown extension unless runtime is given', async () => {
    t.file('score.rb');
    t.file('run_me');
    t.file('d/x');
    expect(
      problemsOf(
        await resolveSpec({ name: 'abc', entry_script: 'score.rb', inputs: [{ path: 'd' }] }, t.dir),
      ),
    ).toEqual([
      'entry_script: "score.rb" has no known runtime (expected a .py, .js, .mjs, .cjs or .ts file, or runtime: python | node)',
    ]);
    const r = ok(
      await resolveSpec(
        { name: 'abc', entry_script: 'run_me', runtime: 'python', inputs: [{ path: 'd' }] },
        t.dir,
      ),
    );
    expect(r.spec.runtime).toBe('python');
  });

  it('resolves python: an executable, a venv folder, a name on PATH', async () => {
    t.file('score.py');
    t.file('d/x');
    const exe = t.file('venv/bin/python3', '#!/bin/sh\n');
    chmodSync(exe, 0o755);
    const base = { name: 'abc', entry_script: 'score.py', inputs: [{ path: 'd' }] };
    expect(ok(await resolveSpec({ ...base, python: 'venv' }, t.dir)).spec.python).toBe(exe);
    expect(ok(await resolveSpec({ ...base, python: './venv' }, t.dir)).spec.python).toBe(exe);
    expect(ok(await resolveSpec({ ...base, python: 'venv/bin/python3' }, t.dir)).spec.python).toBe(exe);
    const notExe = t.file('venv/bin/other', '');
    chmodSync(notExe, 0o644);
    expect(problemsOf(await resolveSpec({ ...base, python: './venv/bin/other' }, t.dir))).toEqual([
      'python: "./venv/bin/other" is not executable (expected an interpreter, a venv folder or a conda env folder)',
    ]);
    const onPath = ok(await resolveSpec({ ...base, python: 'sh' }, t.dir)).spec.python;
    expect(onPath && path.isAbsolute(onPath) && path.basename(onPath)).toBe('sh');
    expect(problemsOf(await resolveSpec({ ...base, python: 'no-such-python-9.99' }, t.dir))).toEqual([
      'python: "no-such-python-9.99" is not on PATH (expected an interpreter, a venv folder or a conda env folder)',
    ]);
  });
});

describe('loadSpec: tabular inputs', () => {
  const base = { name: 'abc', entry_script: 'score.py' };
  beforeEach(() => {
    t.file('score.py');
  });

  it('takes the format from a file extension and the size in bytes', async () => {
    t.file('a.csv', 'x\n1\n');
    t.file('b.ndjson', '{}\n');
    t.file('c.tsv', 'x\n');
    t.file('d.parquet');
    for (const [file, format] of [
      ['a.csv', 'csv'],
      ['b.ndjson', 'jsonl'],
      ['c.tsv', 'tsv'],
      ['d.parquet', 'parquet'],
    ]) {
      const r = ok(
        await resolveSpec(
          { ...base, inputs: [{ path: file, type: 'tabular' }], mini_batch_size: '512KB' },
          t.dir,
        ),
      );
      expect(r.spec.inputs[0]).toEqual({ path: path.join(t.dir, file), type: 'tabular', format });
      expect(r.spec.input_type).toBe('tabular');
      expect(r.spec.mini_batch_size).toBe(512 * 1024);
    }
    const dflt = ok(await resolveSpec({ ...base, inputs: [{ path: 'a.csv', type: 'tabular' }] }, t.dir));
    expect(dflt.spec.mini_batch_size).toBe(1024 * 1024);
  });

  it("decides a folder's format by its files, and asks when it cannot", async () => {
    t.file('pq/part-0.parquet');
    t.file('pq/sub/part-1.parquet');
    t.file('pq/README.md');
    const r = ok(await resolveSpec({ ...base, inputs: [{ path: 'pq', type: 'tabular' }] }, t.dir));
    expect(r.spec.inputs[0]).toEqual({
      path: path.join(t.dir, 'pq'),
      type: 'tabular',
      format: 'parquet',
      pattern: '**/*.parquet',
    });

    t.file('mixed/a.csv');
    t.file('mixed/b.parquet');
    t.file('odd/data.xlsx');
    t.file('x.dat');
    expect(
      problemsOf(
        await resolveSpec(
          {
            ...base,
            inputs: [
              { path: 'mixed', type: 'tabular' },
              { path: 'odd', type: 'tabular' },
              { path: 'x.dat', type: 'tabular' },
            ],
          },
          t.dir,
        ),
      ),
    ).toEqual([
      'inputs.0.format: missing, and "mixed" holds csv and parquet files (expected format: csv, tsv, jsonl or parquet)',
      'inputs.1.format: missing, and no file of "odd" has a .csv, .tsv, .jsonl, .ndjson or .parquet extension (expected format: csv, tsv, jsonl or parquet)',
      'inputs.2.format: missing, and "x.dat" has no known extension (expected format: csv, tsv, jsonl or parquet)',
    ]);
    const explicit = ok(
      await resolveSpec({ ...base, inputs: [{ path: 'x.dat', type: 'tabular', format: 'tsv' }] }, t.dir),
    );
    expect(explicit.spec.inputs[0].format).toBe('tsv');
  });

  it('takes a glob format from its extension', async () => {
    t.file('t/a.tsv');
    const r = ok(await resolveSpec({ ...base, inputs: [{ path: 't/*.tsv', type: 'tabular' }] }, t.dir));
    expect(r.spec.inputs[0]).toEqual({ path: path.join(t.dir, 't/*.tsv'), type: 'tabular', format: 'tsv' });
  });
});

describe('loadSpec: pass-through arguments', () => {
  beforeEach(() => {
    t.file('score.py');
    t.file('d/x');
  });
  const base = { name: 'abc', entry_script: 'score.py', inputs: [{ path: 'd' }] };

  it('moves PRS settings from arguments to their keys', async () => {
    const args = [
      '--model',
      'm',
      '--resource_monitor_interval',
      '20',
      '--profiling_module=cProfile',
      '--allowed_failed_percent',
      '30',
      '--append_row_file_name',
      'out.txt',
      '--append_row_dataframe_header',
      'True',
    ];
    const r = ok(await resolveSpec({ ...base, arguments: args }, t.dir));
    expect(r.spec.resource_monitor_interval).toBe(20);
    expect(r.spec.profiling_module).toBe('cProfile');
    expect(r.spec.allowed_failed_percent).toBe(30);
    expect(r.spec.append_row_file_name).toBe('out.txt');
    expect(r.spec.arguments).toEqual(['--model', 'm', '--append_row_dataframe_header', 'True']);
  });

  it('acts on --error_threshold in arguments, and refuses one below -1', async () => {
    const r = ok(await resolveSpec({ ...base, arguments: ['--error_threshold', '5', '--n', '1'] }, t.dir));
    expect(r.spec.error_threshold).toBe(5);
    expect(r.spec.arguments).toEqual(['--n', '1']);
    expect(problemsOf(await resolveSpec({ ...base, arguments: ['--error_threshold=-2'] }, t.dir))).toEqual([
      'arguments.0: "-2" is not a valid value for --error_threshold (expected a whole number of items >= -1)',
    ]);
  });

  it('lets a spec key win over the flag, with a warning', async () => {
    const r = ok(
      await resolveSpec(
        { ...base, resource_monitor_interval: 5, arguments: ['--resource_monitor_interval', '20'] },
        t.dir,
      ),
    );
    expect(r.spec.resource_monitor_interval).toBe(5);
    expect(r.spec.arguments).toEqual([]);
    expect(r.warnings).toEqual([
      'arguments: --resource_monitor_interval 20 is overridden by resource_monitor_interval: 5',
    ]);
  });

  it('refuses a bad flag value', async () => {
    expect(
      problemsOf(
        await resolveSpec(
          {
            ...base,
            arguments: [
              '--resource_monitor_interval',
              'often',
              '--allowed_failed_percent=120',
              '--profiling_module',
            ],
          },
          t.dir,
        ),
      ),
    ).toEqual([
      'arguments.2: "120" is not a valid value for --allowed_failed_percent (expected a number from 0 to 100)',
      'arguments.1: "often" is not a valid value for --resource_monitor_interval (expected a number of seconds >= 0)',
      'arguments.3: no value after --profiling_module (expected --profiling_module <value>)',
    ]);
  });
});

describe('loadSpec: file syntax', () => {
  it('gives file:line:col for a YAML syntax error', async () => {
    const specPath = t.file('job.yaml', 'name: abc\nentry_script: score.py\ninputs:\n  - path: [data\n');
    const problems = problemsOf(await loadSpec(specPath));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(
      new RegExp(
        `^${specPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:[45]:\\d+: .+ \\(expected valid YAML\\)$`,
      ),
    );
  });

  it('reports a duplicate key with its line', async () => {
    const specPath = t.file('job.yml', 'name: abc\nname: def\n');
    expect(problemsOf(await loadSpec(specPath))).toEqual([
      `${specPath}:2:1: Map keys must be unique (expected valid YAML)`,
    ]);
  });

  it('gives file:line:col for a JSON syntax error', async () => {
    const specPath = t.file('job.json', '{\n  "name": "abc",\n  "entry_script": "x.py" "inputs": []\n}\n');
    const problems = problemsOf(await loadSpec(specPath));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      new RegExp(`^${specPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:\\d+: .+ \\(expected valid JSON\\)$`),
    );
  });

  it('says when the file is missing or empty', async () => {
    const missing = path.join(t.dir, 'nope.yaml');
    expect(problemsOf(await loadSpec(missing))).toEqual([
      `${missing}: does not exist (expected a job spec file, .yaml or .json)`,
    ]);
    const empty = t.file('empty.yaml', '# nothing\n');
    expect(problemsOf(await loadSpec(empty))).toEqual([
      `${empty}: the file is empty (expected a mapping of keys such as name, entry_script, inputs)`,
    ]);
  });
});
