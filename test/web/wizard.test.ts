// The wizard's host requests on real files and real interpreters.

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SPEC_KEYS, validateSpecField } from '../../src/common/specSchema';
import {
  checkInterpreter,
  findInterpreters,
  inspectInputs,
  inspectScript,
  readSpecFile,
  saveSpec,
  validateDraft,
} from '../../src/host/wizard';
import { pythonImports } from '../../src/host/scriptImports';
import { prs, writeFiles } from '../helpers';

/** A spec prs validate accepts, in a folder with src/score.py and data/. */
const GOOD: Record<string, unknown> = {
  name: 'good-job',
  entry_script: 'score.py',
  source_directory: './src',
  inputs: [{ path: './data', type: 'files' }],
  mini_batch_size: 2,
};

/** Bad values for every key of the spec, each tried alone in GOOD. */
const BAD: Record<(typeof SPEC_KEYS)[number], unknown[]> = {
  name: ['Bad_Name', 'ab', 'x'.repeat(33), 'job-', 7],
  entry_script: ['', 42],
  source_directory: ['', 3],
  runtime: ['java', 'node'],
  python: ['', 3],
  // One bad value for each key of an input (INPUT_KEYS), and for the list itself.
  inputs: [
    [],
    'data',
    [{ path: '' }],
    [{ path: './data', type: 'bogus' }],
    [{ path: './data', pattern: '' }],
    [{ path: './data', partition_format: '' }],
    [{ path: './data', format: 'xls' }],
    [{ path: './data', extra: 1 }],
  ],
  side_inputs: [[{ name: '1bad', path: './data' }], [{ name: 'ok' }], [{ name: 'ok', path: '' }], 'x'],
  mini_batch_size: ['abc', -1, 0, 1.5],
  partition_keys: [[], [''], 'store'],
  error_threshold: [-2, 1.5, 'many'],
  allowed_failed_count: [-2, 'x'],
  allowed_failed_percent: [101, -1, '50%'],
  output_action: ['append', 3],
  append_row_file_name: ['a/b.txt', '..', ''],
  node_count: [0, 1.5],
  process_count_per_node: [0, 'many', 2.5],
  gpus: ['all', [-1], [0.5]],
  run_invocation_timeout: [0, -5, 'long'],
  run_max_try: [0, 1.5],
  logging_level: ['VERBOSE', 'info'],
  arguments: ['--x', [{ a: 1 }], [null]],
  models: [['m'], { m: '' }, { m: 3 }],
  environment_variables: [{ 'BAD-NAME': 'x' }, ['A=1'], { A: { b: 1 } }],
  resource_monitor_interval: [-1, 'often'],
  profiling_module: ['', 5],
  allow_reuse: ['yes', 1],
};

function writeSpec(dir: string, name: string, spec: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

/** The problem lines of prs validate's report ("  key: what is wrong (what was expected)"). */
function problemLines(output: string): string[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('  '))
    .map((l) => l.trim());
}

/** Runs `fn` over `items`, `width` at a time (each starts a process), results in order. */
async function inBatches<T, R>(
  items: T[],
  width: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    results.push(...(await Promise.all(items.slice(i, i + width).map((item, j) => fn(item, i + j)))));
  }
  return results;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'prs-wizard-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('inspectScript', () => {
  it('finds init/run/shutdown in Python and Node scripts without running them', async () => {
    writeFileSync(
      path.join(dir, 's.py'),
      'import os\n\ndef init():\n    pass\n\ndef run(mini_batch):\n    return []\n',
    );
    writeFileSync(
      path.join(dir, 's.mjs'),
      'export async function run(b) { return b; }\nexport const shutdown = () => {};\n',
    );
    expect(await inspectScript(path.join(dir, 's.py'))).toMatchObject({
      exists: true,
      runtime: 'python',
      defines: { init: true, run: true, shutdown: false },
    });
    expect(await inspectScript(path.join(dir, 's.mjs'))).toMatchObject({
      runtime: 'node',
      defines: { init: false, run: true, shutdown: true },
    });
    expect((await inspectScript(path.join(dir, 'none.py'))).exists).toBe(false);
  });
});

describe('inspectInputs', () => {
  it('counts files, bytes and mini-batches, and previews a table', async () => {
    mkdirSync(path.join(dir, 'data'));
    for (let i = 0; i < 7; i++) writeFileSync(path.join(dir, 'data', `f${i}.txt`), 'abc');
    const files = await inspectInputs({ inputs: [{ path: './data' }], mini_batch_size: 3 }, dir);
    expect(files).toMatchObject({ files: 7, bytes: 21, miniBatches: 3, partial: false, problem: null });
    writeFileSync(path.join(dir, 't.csv'), 'store,brand,qty\ns1,b1,1\ns1,b2,2\ns2,b1,3\n');
    const table = await inspectInputs(
      { inputs: [{ path: 't.csv', type: 'tabular' }], partition_keys: ['store'] },
      dir,
    );
    expect(table.columns).toEqual(['store', 'brand', 'qty']);
    expect(table.rows[0]).toEqual(['s1', 'b1', '1']);
    expect(table.miniBatches).toBe(2);
    const missing = await inspectInputs({ inputs: [{ path: './nope' }] }, dir);
    expect(missing.problem).toMatch(/nope/);
  });
});

describe('spec files', () => {
  it('validates a draft as prs validate does: the same problems for a draft that has several', async () => {
    const draft = { name: 'Bad_Name', entry_script: 'missing.py', inputs: [{ path: './data' }] };
    const specPath = path.join(dir, 'job.json');
    writeFileSync(specPath, JSON.stringify(draft));
    const cli = await prs(['validate', specPath]);
    expect(cli.code).toBe(2);
    const ui = await validateDraft(draft, dir);
    expect(ui.ok).toBe(false);
    if (!ui.ok) expect(ui.problems).toEqual(problemLines(cli.stderr + cli.stdout));
  });

  it("shows, field by field, the very line prs validate prints for each key's bad value", async () => {
    writeFiles(dir, { 'src/score.py': 'def run(mini_batch):\n    return mini_batch\n', 'data/a.txt': 'a\n' });
    const good = await prs(['validate', writeSpec(dir, 'good', GOOD)]);
    expect(good.code, good.stderr).toBe(0);
    for (const key of SPEC_KEYS) {
      if (key in GOOD) expect(validateSpecField(key, GOOD[key], GOOD), key).toBeNull();
    }
    // Every key of the spec has bad values here: a key added to the schema needs its row.
    expect(Object.keys(BAD).sort()).toEqual([...SPEC_KEYS].sort());
    const cases = Object.entries(BAD).flatMap(([key, values]) => values.map((value) => ({ key, value })));
    const results = await inBatches(cases, 4, async ({ key, value }, i) => {
      const draft = { ...GOOD, [key]: value };
      const cli = await prs(['validate', writeSpec(dir, `bad-${i}`, draft)]);
      return { key, value, code: cli.code, lines: problemLines(cli.stderr + cli.stdout), draft };
    });
    // Every disagreement at once: the key, the value, what prs validate said, what the field shows.
    const disagreements = results.flatMap(({ key, value, code, lines, draft }) => {
      // A bad value can also trip a check of another key (partition_keys on files inputs need a
      // partition_format): the field shows the first problem about its own key.
      const own = lines.filter((l) => l.startsWith(`${key}:`) || l.startsWith(`${key}.`));
      const field = validateSpecField(key, value, draft);
      return code === 2 && own.length > 0 && field === own[0]
        ? []
        : [{ key, value, exit: code, cli: lines, field }];
    });
    expect(disagreements).toEqual([]);
  });

  it('saves YAML, refuses to overwrite unless told, reads it back, and imports Azure ML v2', async () => {
    const file = path.join(dir, 'job.yaml');
    const spec = {
      name: 'my-job',
      entry_script: 's.py',
      inputs: [{ path: './data', pattern: '' }],
      python: '',
    };
    expect(await saveSpec(file, spec, false, false)).toMatchObject({ saved: true });
    expect(readFileSync(file, 'utf8')).toBe('name: my-job\nentry_script: s.py\ninputs:\n  - path: ./data\n');
    expect(await saveSpec(file, { ...spec, name: 'other' }, false, false)).toEqual({
      saved: false,
      exists: true,
    });
    expect(readFileSync(file, 'utf8')).toContain('my-job');
    expect(await saveSpec(file, { ...spec, name: 'other' }, true, false)).toMatchObject({ saved: true });
    expect((await readSpecFile(file)).spec.name).toBe('other');

    const v2 = path.join(dir, 'v2.yaml');
    expect(await saveSpec(v2, spec, false, true)).toMatchObject({ saved: true });
    expect(readFileSync(v2, 'utf8')).toContain('type: parallel');
    const back = await readSpecFile(v2);
    expect(back.source).toBe('azureml-v2');
    expect(back.spec).toMatchObject({ name: 'my-job', entry_script: 's.py' });
  });
});

describe('saving over a YAML spec the user wrote', () => {
  const WRITTEN = `# Scores the images every night.
name: nightly   # keep short
entry_script: score.py
inputs:
  - path: ./data   # the mounted share
    pattern: '**/*.png'
mini_batch_size: 10
arguments: [--model, "small"]
# the end
`;

  it('changes nothing when the spec says what the file says', async () => {
    const file = path.join(dir, 'job.yaml');
    writeFileSync(file, WRITTEN);
    const { spec } = await readSpecFile(file);
    expect(await saveSpec(file, spec, true, false)).toMatchObject({ saved: true });
    expect(readFileSync(file, 'utf8')).toBe(WRITTEN);
  });

  it('edits only what changed: comments, order, quoting and flow style of the rest stay', async () => {
    const file = path.join(dir, 'job.yaml');
    writeFileSync(file, WRITTEN);
    const { spec } = await readSpecFile(file);
    const edited: Record<string, unknown> = { ...spec, mini_batch_size: 20, run_max_try: 1, node_count: 2 };
    edited.inputs = [{ ...(spec.inputs as object[])[0], path: './images' }, { path: './more' }];
    expect(await saveSpec(file, edited, true, false)).toMatchObject({ saved: true });
    expect(readFileSync(file, 'utf8')).toBe(`# Scores the images every night.
name: nightly   # keep short
entry_script: score.py
inputs:
  - path: ./images # the mounted share
    pattern: '**/*.png'
  - path: ./more
mini_batch_size: 20
node_count: 2
run_max_try: 1
arguments: [--model, "small"]
# the end
`);
    expect((await readSpecFile(file)).spec).toEqual(edited);
  });

  it('Save as… writes the new file over the spec it started from: its comments come along', async () => {
    const file = path.join(dir, 'job.yaml');
    writeFileSync(file, WRITTEN);
    const { spec } = await readSpecFile(file);
    const copy = path.join(dir, 'copy.yaml');
    expect(await saveSpec(copy, { ...spec, name: 'copy' }, false, false, file)).toMatchObject({
      saved: true,
    });
    expect(readFileSync(copy, 'utf8')).toBe(
      WRITTEN.replace('name: nightly   # keep short', 'name: copy # keep short'),
    );
    expect(readFileSync(file, 'utf8')).toBe(WRITTEN);
  });

  it('removes the lines of a key the form cleared, and only those', async () => {
    const file = path.join(dir, 'job.yaml');
    writeFileSync(file, WRITTEN);
    const { spec } = await readSpecFile(file);
    delete spec.arguments;
    expect(await saveSpec(file, spec, true, false)).toMatchObject({ saved: true });
    expect(readFileSync(file, 'utf8')).toBe(WRITTEN.replace('arguments: [--model, "small"]\n', ''));
  });

  it('puts keys new to the file in their place, also before the first key the file has', async () => {
    const file = path.join(dir, 'job.yaml');
    writeFileSync(file, '# header\ninputs:\n  - path: ./data\n');
    const spec = { name: 'first', entry_script: 's.py', inputs: [{ path: './other' }], run_max_try: 1 };
    expect(await saveSpec(file, spec, true, false)).toMatchObject({ saved: true });
    expect(readFileSync(file, 'utf8')).toBe(
      '# header\nname: first\nentry_script: s.py\ninputs:\n  - path: ./other\nrun_max_try: 1\n',
    );
  });
});

describe('the modules an entry script imports', () => {
  it('reads them from the text: top-level packages, not strings, comments or relative imports', () => {
    const script = [
      'import os, sys as system',
      'from PIL import Image',
      'import numpy.linalg as la',
      'from . import helpers',
      'from __future__ import annotations',
      '# import commented',
      '"""',
      'import in_a_docstring',
      '"""',
      'def init():',
      '    import torch',
      '    from azureml.core import Model',
    ].join('\n');
    expect(pythonImports(script).map((i) => i.name)).toEqual([
      'os',
      'sys',
      'PIL',
      'numpy',
      'torch',
      'azureml',
    ]);
    expect(pythonImports(script).some((i) => i.optional)).toBe(false);
  });

  it('counts an import inside a try block as optional, unless it is also imported outside one', () => {
    const script = [
      'try:',
      '    import ujson as json',
      'except ImportError:',
      '    import json',
      'try:',
      '    import yaml',
      'except ImportError:',
      '    yaml = None',
      'import yaml',
    ].join('\n');
    expect(pythonImports(script)).toEqual([
      { name: 'ujson', optional: true },
      { name: 'json', optional: false },
      { name: 'yaml', optional: false },
    ]);
  });

  it("says which the interpreter lacks, and which the job's folder or the app provides", async () => {
    writeFiles(dir, {
      'src/score.py': [
        'import json',
        'import pandas',
        'import helpers',
        'import no_such_module_xyz',
        'from azureml.core import Model',
      ].join('\n'),
      'src/helpers.py': 'X = 1\n',
    });
    const info = await checkInterpreter('/usr/bin/python3', undefined, dir, {
      path: path.join(dir, 'src', 'score.py'),
      sourceDir: path.join(dir, 'src'),
    });
    expect(info.error).toBeNull();
    expect(info.modules).toEqual([
      { name: 'json', found: 'installed' },
      { name: 'pandas', found: 'installed' },
      { name: 'helpers', found: 'source' },
      { name: 'no_such_module_xyz', found: 'missing' },
      { name: 'azureml', found: 'bundled' },
    ]);
  });
});

describe('interpreters', () => {
  it("tells whether pandas imports: Debian's python3 has it", async () => {
    const info = await checkInterpreter('/usr/bin/python3');
    expect(info.error).toBeNull();
    expect(info.pandas).toBe(true);
    expect(info.version).toMatch(/^3\./);
    const none = await checkInterpreter(path.join(dir, 'no-python'));
    expect(none.error).not.toBeNull();
  });

  it("lists the source folder's .venv by its executable without running it; checking it runs it", async () => {
    const mark = path.join(dir, 'venv-ran');
    const exe = path.join(dir, '.venv', 'bin', 'python3');
    mkdirSync(path.dirname(exe), { recursive: true });
    writeFileSync(exe, `#!/bin/sh\necho ran > '${mark}'\nexec /usr/bin/python3 "$@"\n`);
    chmodSync(exe, 0o755);
    const found = await findInterpreters(dir);
    // The well-known ones are checked; the one that came with the folder is not.
    expect(found.find((i) => i.path === '/usr/bin/python3')?.version).toMatch(/^3\./);
    expect(found.find((i) => i.label === '.venv in the source folder')).toEqual({
      path: exe,
      label: '.venv in the source folder',
      version: null,
      pandas: false,
      modules: [],
      error: null,
    });
    expect(existsSync(mark)).toBe(false);
    const checked = await checkInterpreter(path.join(dir, '.venv'), undefined, dir);
    expect(checked).toMatchObject({ label: exe, pandas: true, error: null });
    expect(existsSync(mark)).toBe(true);
  });
});
