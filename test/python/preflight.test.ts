// The interpreter check the leader runs before any worker starts.

import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { JobSpec } from '../../src/common/spec';
import { checkPython, resolvePython } from '../../src/engine/python/preflight';
import { startRun } from '../../src/engine/run';
import { makeSpec } from '../partition/helpers';
import { SYSTEM_PYTHON, pythonWithoutPandas, tempDir } from './helpers';

function spec(over: Partial<JobSpec> = {}): JobSpec {
  const dir = tempDir();
  return makeSpec([{ path: dir, type: 'files' }], {
    name: 'pre-flight',
    spec_path: path.join(dir, 'job.yaml'),
    entry_script: path.join(dir, 'score.py'),
    source_directory: dir,
    mini_batch_size: 1,
    allow_reuse: false,
    ...over,
  });
}

/** A stand-in "interpreter" that answers the probe as a given Python version would. */
function fakePython(version: number[]): string {
  const file = path.join(tempDir(), 'python3');
  writeFileSync(
    file,
    `#!/bin/sh\necho '{"version": ${JSON.stringify(version)}, "executable": "${file}", "missing": {}}'\n`,
  );
  chmodSync(file, 0o755);
  return file;
}

describe('resolvePython', () => {
  test('an executable, a venv folder, a command on PATH, and the default', async () => {
    expect(await resolvePython(spec({ python: SYSTEM_PYTHON }))).toBe(SYSTEM_PYTHON);
    const venv = tempDir();
    mkdirSync(path.join(venv, 'bin'));
    const inside = path.join(venv, 'bin', 'python3');
    writeFileSync(inside, '#!/bin/sh\n');
    chmodSync(inside, 0o755);
    expect(await resolvePython(spec({ python: venv }))).toBe(inside);
    // Relative to the spec file's folder.
    const s = spec({ python: './env' });
    mkdirSync(path.join(path.dirname(s.spec_path!), 'env', 'bin'), { recursive: true });
    const rel = path.join(path.dirname(s.spec_path!), 'env', 'bin', 'python');
    writeFileSync(rel, '#!/bin/sh\n');
    chmodSync(rel, 0o755);
    expect(await resolvePython(s)).toBe(rel);
    const found = await resolvePython(spec());
    expect(path.isAbsolute(found)).toBe(true);
    expect(path.basename(found)).toBe('python3');
  });
});

describe('checkPython', () => {
  test("Debian's python3 runs tabular jobs", async () => {
    const r = await checkPython(spec({ python: SYSTEM_PYTHON, input_type: 'tabular' }));
    expect(r).toMatchObject({ ok: true, python: SYSTEM_PYTHON });
    if (r.ok) expect(r.version).toMatch(/^3\.\d+\.\d+$/);
  });

  test('an interpreter without pandas is refused for tabular inputs, naming it and the remedy', async () => {
    // The python3 first on PATH here is a pyenv build without pandas (preamble); build a stand-in
    // when it is not, so the test holds anywhere: an interpreter whose pandas import fails.
    const broken = tempDir();
    writeFileSync(
      path.join(broken, 'pandas.py'),
      'raise ImportError("No module named pandas (test stand-in)")\n',
    );
    const r = await checkPython(
      spec({ python: SYSTEM_PYTHON, input_type: 'tabular', environment_variables: { PYTHONPATH: broken } }),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0]!;
    expect(f.kind).toBe('environment');
    expect(f.detail).toContain(
      `Interpreter ${SYSTEM_PYTHON} cannot import pandas, which tabular inputs need`,
    );
    expect(f.remedy).toMatch(/apt-get install python3-pandas .* -m pip install pandas.*`python:`/);
    // The same interpreter is fine for file inputs.
    expect(
      (await checkPython(spec({ python: SYSTEM_PYTHON, environment_variables: { PYTHONPATH: broken } }))).ok,
    ).toBe(true);
  });

  test('the python3 on PATH, when it has no pandas, is refused for tabular inputs', async () => {
    // A spec naming no interpreter gets python3 from PATH: make that one without pandas.
    const { python, binDir } = pythonWithoutPandas();
    const savedPath = process.env.PATH;
    process.env.PATH = `${binDir}${path.delimiter}${savedPath ?? ''}`;
    try {
      expect(await resolvePython(spec())).toBe(python);
      const r = await checkPython(spec({ input_type: 'tabular' }));
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.findings.map((f) => f.title)).toEqual([`pandas is missing from ${python}`]);
      expect(r.findings[0]!.detail).toContain(`Interpreter ${python} cannot import pandas`);
      // The same interpreter runs file inputs.
      expect(await checkPython(spec())).toMatchObject({ ok: true, python });
    } finally {
      process.env.PATH = savedPath;
    }
  });

  test('a missing interpreter and one older than 3.8 are reported', async () => {
    const missing = await checkPython(spec({ python: '/nonexistent/python3' }));
    expect(missing.ok).toBe(false);
    if (!missing.ok) {
      expect(missing.findings[0]!.title).toBe('Python interpreter not found: /nonexistent/python3');
      expect(missing.findings[0]!.detail).toContain('python: /nonexistent/python3');
    }
    const noCommand = await checkPython(spec({ python: 'python3-that-does-not-exist' }));
    expect(noCommand.ok).toBe(false);

    const old = await checkPython(spec({ python: fakePython([3, 7, 9]) }));
    expect(old.ok).toBe(false);
    if (!old.ok) {
      expect(old.findings[0]!.title).toBe('Python 3.7.9 is too old');
      expect(old.findings[0]!.detail).toContain('Python 3.8 or later');
    }
    expect((await checkPython(spec({ python: fakePython([3, 8, 0]) }))).ok).toBe(true);
  });
});

describe('a run whose interpreter fails the check', () => {
  // Specs straight to the engine: `prs run` refuses a missing interpreter while loading the spec.
  test('none at the path: no worker starts, the finding names it', async () => {
    const s = spec({ runtime: 'python', python: '/nonexistent/python3' });
    const handle = await startRun(s, { runsDir: tempDir() });
    const summary = await handle.done;
    expect(summary).toMatchObject({ status: 'failed', exit_code: 42 });
    expect(summary.findings[0]!.title).toBe('Python interpreter not found: /nonexistent/python3');
    const sysLogs = path.join(handle.runDir, 'logs', 'sys', 'node', '0');
    expect(readdirSync(sysLogs).filter((f) => f.startsWith('process'))).toEqual([]);
  });

  test('too old: the interpreters that started are stopped, none replaced, the finding says why', async () => {
    const s = spec({ runtime: 'python', python: fakePython([3, 7, 9]), process_count_per_node: 2 });
    const handle = await startRun(s, { runsDir: tempDir() });
    const summary = await handle.done;
    expect(summary).toMatchObject({ status: 'failed', exit_code: 42 });
    expect(summary.reason).toMatch(/^Python 3\.7\.9 is too old\./);
    expect(summary.mini_batches.total).toBe(0);
    const sysLogs = path.join(handle.runDir, 'logs', 'sys', 'node', '0');
    expect(
      readdirSync(sysLogs)
        .filter((f) => f.startsWith('process'))
        .sort(),
    ).toEqual(['process000.txt', 'process001.txt']);
  });
});

describe("a tabular run's check of pandas", () => {
  /** Debian's python3 behind a wrapper that logs what each interpreter check's probe was asked. */
  function loggingPython(): { python: string; log: string } {
    const dir = tempDir();
    const log = path.join(dir, 'probes.log');
    const python = path.join(dir, 'python3');
    // The probe is `-c PROBE <imports> --find <finds>`: the words after the program are logged.
    writeFileSync(
      python,
      `#!/bin/sh\nif [ "$1" = "-c" ]; then program="$2"; shift 2; echo "probe: $*" >> '${log}'; exec ${SYSTEM_PYTHON} -c "$program" "$@"; fi\nexec ${SYSTEM_PYTHON} "$@"\n`,
    );
    chmodSync(python, 0o755);
    return { python, log };
  }

  test("is the fork server's own import of it, not a second one; without a server the check imports it", async () => {
    for (const fork of ['1', '0']) {
      const { python, log } = loggingPython();
      const s = spec({ runtime: 'python', python, input_type: 'tabular', process_count_per_node: 1 });
      const dir = path.dirname(s.spec_path!);
      writeFileSync(path.join(dir, 'score.py'), 'def run(frame):\n    return [str(len(frame))]\n');
      writeFileSync(path.join(dir, 't.csv'), 'a,b\n1,2\n3,4\n');
      s.inputs = [{ path: path.join(dir, 't.csv'), type: 'tabular' }];
      const saved = process.env.PRS_PYTHON_FORK;
      process.env.PRS_PYTHON_FORK = fork;
      try {
        const handle = await startRun(s, { runsDir: tempDir() });
        expect(await handle.done).toMatchObject({ status: 'completed' });
      } finally {
        if (saved === undefined) delete process.env.PRS_PYTHON_FORK;
        else process.env.PRS_PYTHON_FORK = saved;
      }
      const probes = readFileSync(log, 'utf8').trim().split('\n');
      expect(probes).toEqual([fork === '1' ? 'probe: --find' : 'probe: pandas --find']);
    }
  });

  test("a pandas that fails in the fork server fails the check with the server's words, before any user code", async () => {
    const { python, log } = loggingPython();
    const broken = tempDir();
    writeFileSync(
      path.join(broken, 'pandas.py'),
      'raise ImportError("No module named pandas (test stand-in)")\n',
    );
    const s = spec({
      runtime: 'python',
      python,
      input_type: 'tabular',
      environment_variables: { PYTHONPATH: broken },
    });
    const dir = path.dirname(s.spec_path!);
    writeFileSync(path.join(dir, 'score.py'), 'def run(frame):\n    return [str(len(frame))]\n');
    writeFileSync(path.join(dir, 't.csv'), 'a\n1\n');
    s.inputs = [{ path: path.join(dir, 't.csv'), type: 'tabular' }];
    const summary = await (await startRun(s, { runsDir: tempDir() })).done;
    expect(summary).toMatchObject({ status: 'failed', exit_code: 42 });
    expect(summary.findings.map((f) => f.title)).toEqual([`pandas is missing from ${python}`]);
    expect(summary.findings[0]!.detail).toContain('ImportError: No module named pandas (test stand-in)');
    expect(summary.mini_batches.total).toBe(0);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['probe: --find']);
  });
});
