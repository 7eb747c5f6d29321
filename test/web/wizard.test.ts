// The wizard's host requests on real files and real interpreters.

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateSpecField } from '../../src/common/specSchema';
import { loadSpec } from '../../src/engine/spec/load';
import {
  checkInterpreter,
  findInterpreters,
  inspectInputs,
  inspectScript,
  readSpecFile,
  saveSpec,
  validateDraft,
} from '../../src/server/web/wizard';

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
  it('validates a draft exactly as prs validate does, and field by field with the same text', async () => {
    const draft = { name: 'Bad_Name', entry_script: 'missing.py', inputs: [{ path: './data' }] };
    writeFileSync(path.join(dir, 'job.yaml'), JSON.stringify(draft));
    const cli = await loadSpec(path.join(dir, 'job.yaml'));
    const ui = await validateDraft(draft, dir);
    expect(ui.ok).toBe(false);
    expect(cli.ok).toBe(false);
    if (!ui.ok && !cli.ok) expect(ui.problems).toEqual(cli.problems);
    const field = validateSpecField('name', draft.name, draft);
    expect(cli.ok ? [] : cli.problems).toContain(field);
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
      error: null,
    });
    expect(existsSync(mark)).toBe(false);
    const checked = await checkInterpreter(path.join(dir, '.venv'), undefined, dir);
    expect(checked).toMatchObject({ label: exe, pandas: true, error: null });
    expect(existsSync(mark)).toBe(true);
  });
});
