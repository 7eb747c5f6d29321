// One interpreter resolver (src/runtime/interpreter.ts) on real files and a real PATH, and its four
// users agreeing: the spec loader, the run's pre-flight check, the wizard and the Python runtime
// used to answer the same `python:` differently (`~`, a bare name beside the spec, the order inside
// a venv folder).

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { resolvePython } from '../../src/engine/python/preflight';
import { resolveSpec } from '../../src/engine/spec/load';
import {
  probeInterpreter,
  resolveInterpreter,
  resolveInterpreterSync,
  type InterpreterLookup,
} from '../../src/runtime/interpreter';
import { checkInterpreter } from '../../src/host/wizard';
import { PythonRuntime } from '../../src/runtime/python/runtime';
import { makeSpec } from '../partition/helpers';
import { SYSTEM_PYTHON, captureOutput, makeJob, tempDir, workerConfig } from './helpers';

const EXPECTED = '(expected an interpreter, a venv folder or a conda env folder)';

function executable(file: string, text = '#!/bin/sh\n'): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  chmodSync(file, 0o755);
  return file;
}

/** A stand-in interpreter that runs Debian's python3: what each user of the resolver can start. */
function realPython(file: string): string {
  return executable(file, `#!/bin/sh\nexec ${SYSTEM_PYTHON} "$@"\n`);
}

/** Both resolvers, which must agree on every case. */
async function both(setting: string | undefined, lookup: InterpreterLookup) {
  const sync = resolveInterpreterSync(setting, lookup);
  expect(await resolveInterpreter(setting, lookup)).toEqual(sync);
  return sync;
}

describe('resolveInterpreter', () => {
  test('an absolute path to an executable is itself', async () => {
    const dir = tempDir();
    expect(await both(SYSTEM_PYTHON, { baseDir: dir })).toEqual({ ok: true, executable: SYSTEM_PYTHON });
  });

  test('a relative path is relative to the spec folder, not the working folder', async () => {
    const dir = tempDir();
    const exe = executable(path.join(dir, 'env', 'bin', 'python3'));
    expect(await both('./env/bin/python3', { baseDir: dir })).toEqual({ ok: true, executable: exe });
    expect(await both('env/bin/python3', { baseDir: dir })).toEqual({ ok: true, executable: exe });
  });

  test('~ is the home folder', async () => {
    const home = tempDir();
    const exe = executable(path.join(home, 'venvs', 'a', 'bin', 'python'));
    expect(await both('~/venvs/a', { baseDir: tempDir(), home })).toEqual({ ok: true, executable: exe });
    expect(await both('~/venvs/a/bin/python', { baseDir: tempDir(), home })).toEqual({
      ok: true,
      executable: exe,
    });
  });

  test('a venv or conda folder: bin/python first, then bin/python3', async () => {
    const dir = tempDir();
    const python3 = executable(path.join(dir, 'env', 'bin', 'python3'));
    expect(await both('env', { baseDir: dir })).toEqual({ ok: true, executable: python3 });
    const python = executable(path.join(dir, 'env', 'bin', 'python'));
    expect(await both('env', { baseDir: dir })).toEqual({ ok: true, executable: python });
  });

  test('a bare name is looked up on PATH, in PATH order, skipping what is not executable', async () => {
    const first = tempDir();
    const second = tempDir();
    writeFileSync(path.join(first, 'python3.99'), '');
    chmodSync(path.join(first, 'python3.99'), 0o644);
    const exe = executable(path.join(second, 'python3.99'));
    const pathVar = ['', first, second].join(path.delimiter);
    expect(await both('python3.99', { baseDir: tempDir(), pathVar })).toEqual({ ok: true, executable: exe });
  });

  test('a bare name that is a file or folder beside the spec is that, not a command', async () => {
    const dir = tempDir();
    const inside = executable(path.join(dir, 'venv', 'bin', 'python'));
    const onPath = tempDir();
    executable(path.join(onPath, 'venv'));
    expect(await both('venv', { baseDir: dir, pathVar: onPath })).toEqual({ ok: true, executable: inside });
  });

  test('no setting: python3 on PATH, never a python3 beside the spec', async () => {
    const dir = tempDir();
    executable(path.join(dir, 'python3'));
    const bin = tempDir();
    const exe = executable(path.join(bin, 'python3'));
    expect(await both(undefined, { baseDir: dir, pathVar: bin })).toEqual({ ok: true, executable: exe });
    expect(await both('', { baseDir: dir, pathVar: bin })).toEqual({ ok: true, executable: exe });
    expect(await both(undefined, { baseDir: dir, pathVar: tempDir() })).toEqual({
      ok: false,
      lookedFor: 'python3',
      problem: `no python3 on PATH, and the job spec names no interpreter ${EXPECTED}`,
    });
  });

  test('what is wrong, naming the setting and where it was looked for', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'empty'));
    writeFileSync(path.join(dir, 'plain'), '');
    chmodSync(path.join(dir, 'plain'), 0o644);
    const lookup = { baseDir: dir, pathVar: tempDir() };
    expect(await both('no-such-python-9.99', lookup)).toEqual({
      ok: false,
      lookedFor: 'no-such-python-9.99',
      problem: `"no-such-python-9.99" is not on PATH ${EXPECTED}`,
    });
    expect(await both('./missing', lookup)).toEqual({
      ok: false,
      lookedFor: path.join(dir, 'missing'),
      problem: `"./missing" does not exist at ${path.join(dir, 'missing')} ${EXPECTED}`,
    });
    expect(await both('/nonexistent/python3', lookup)).toMatchObject({
      problem: `"/nonexistent/python3" does not exist ${EXPECTED}`,
    });
    expect(await both('./empty', lookup)).toMatchObject({
      lookedFor: path.join(dir, 'empty'),
      problem: `"./empty" is a folder without bin/python or bin/python3 ${EXPECTED}`,
    });
    expect(await both('./plain', lookup)).toMatchObject({
      problem: `"./plain" is not executable ${EXPECTED}`,
    });
  });
});

describe('probeInterpreter', () => {
  test("Debian's python3: its version, what it imports and what it would find without running it", async () => {
    const dir = tempDir();
    // A module that would leave a mark if the probe ran it: `finds` must not.
    const mark = path.join(dir, 'ran');
    writeFileSync(path.join(dir, 'noisy.py'), `open(${JSON.stringify(mark)}, "w").write("ran")\n`);
    const r = await probeInterpreter(SYSTEM_PYTHON, {
      imports: ['pandas', 'no_such_module_xyz'],
      finds: ['json', 'noisy', 'no_such_module_xyz'],
      env: { ...process.env, PYTHONPATH: dir },
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.version[0]).toBe(3);
    expect(Object.keys(r.cannotImport)).toEqual(['no_such_module_xyz']);
    expect(r.cannotImport.no_such_module_xyz).toMatch(/^ModuleNotFoundError: /);
    expect(r.found).toEqual([true, true, false]);
    const { existsSync } = await import('node:fs');
    expect(existsSync(mark)).toBe(false);
  });

  test('nothing there, and something that is not Python', async () => {
    const missing = await probeInterpreter('/nonexistent/python3', { env: process.env });
    expect(missing).toMatchObject({ ok: false, notFound: true });
    const notPython = executable(path.join(tempDir(), 'python3'), '#!/bin/sh\necho hello\n');
    expect(await probeInterpreter(notPython, { env: process.env })).toMatchObject({
      ok: false,
      notFound: false,
      error: 'it printed "hello" instead of its version',
    });
  });
});

// ---- the four users agree -----------------------------------------------------------------------

/** A spec folder with score.py and an input folder, as the loader wants one. */
function specFolder(): string {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'score.py'), 'def run(mb):\n    return mb\n');
  mkdirSync(path.join(dir, 'd'));
  writeFileSync(path.join(dir, 'd', 'x'), '');
  return dir;
}

/** What each of the four makes of `python:` in a spec in `dir`. */
async function fourAnswers(setting: string, dir: string) {
  const loaded = await resolveSpec(
    { name: 'abc', entry_script: 'score.py', inputs: [{ path: 'd' }], python: setting },
    dir,
  );
  const spec = makeSpec([{ path: path.join(dir, 'd'), type: 'files' }], {
    spec_path: path.join(dir, 'job.yaml'),
    python: setting,
  });
  return {
    loader: loaded.ok ? loaded.spec.python : loaded.problems,
    preflight: await resolvePython(spec),
    wizard: (await checkInterpreter(setting, undefined, dir)).label,
  };
}

describe('the loader, the pre-flight check, the wizard and the runtime agree', () => {
  let restoreHome: (() => void) | undefined;
  afterEach(() => restoreHome?.());

  test('a venv folder with both bin/python and bin/python3: bin/python, everywhere', async () => {
    const dir = specFolder();
    const python = realPython(path.join(dir, 'venv', 'bin', 'python'));
    // Before: the pre-flight check, the wizard and the runtime took this one, the loader the other.
    executable(path.join(dir, 'venv', 'bin', 'python3'), '#!/bin/sh\nexit 3\n');
    expect(await fourAnswers('./venv', dir)).toEqual({ loader: python, preflight: python, wizard: python });
  });

  test('the runtime, given that venv folder, starts bin/python', async () => {
    const dir = specFolder();
    realPython(path.join(dir, 'venv', 'bin', 'python'));
    // Before: it started bin/python3, and init() failed with its exit 3.
    executable(path.join(dir, 'venv', 'bin', 'python3'), '#!/bin/sh\nexit 3\n');
    const job = makeJob('def init():\n    pass\n\ndef run(mb):\n    return mb\n');
    const cap = captureOutput();
    const rt = new PythonRuntime(workerConfig(job, { python: path.join(dir, 'venv') }), {
      onInterpreterExit: () => undefined,
    });
    try {
      await rt.init();
    } finally {
      await rt.shutdown().catch(() => undefined);
      cap.restore();
    }
  });

  test('python: venv (a bare name) with a venv folder beside the spec: that folder, everywhere', async () => {
    const dir = specFolder();
    const python = realPython(path.join(dir, 'venv', 'bin', 'python'));
    // Before: the pre-flight check looked for a command "venv" on PATH; the wizard ran "venv".
    expect(await fourAnswers('venv', dir)).toEqual({ loader: python, preflight: python, wizard: python });
  });

  test('python: ~/…: the home folder, everywhere', async () => {
    const dir = specFolder();
    const home = tempDir();
    const saved = process.env.HOME;
    process.env.HOME = home;
    restoreHome = () => {
      process.env.HOME = saved;
      restoreHome = undefined;
    };
    const python = realPython(path.join(home, 'envs', 'job', 'bin', 'python'));
    // Before: only the loader expanded `~`; the others looked for a folder named "~" in the spec's.
    expect(await fourAnswers('~/envs/job', dir)).toEqual({
      loader: python,
      preflight: python,
      wizard: python,
    });
  });
});
