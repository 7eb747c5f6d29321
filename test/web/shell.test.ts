// "Shell here": a real pseudo-terminal in a worker's environment.

import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../../src/common/spec';
import { ShellSessions } from '../../src/host/shell';
import { tempDir } from '../helpers';
import { makeSpec } from '../partition/helpers';

function spec(dir: string): JobSpec {
  return makeSpec([], {
    name: 'shell-job',
    entry_script: path.join(dir, 'score.py'),
    source_directory: dir,
    python: '/usr/bin/python3',
    environment_variables: { JOB_SETTING: 'from-the-spec' },
  });
}

describe('Shell here', () => {
  it('opens a shell in the worker environment: variables, GPU, working directory, interpreter, azureml package', async () => {
    const dir = tempDir();
    const shells = new ShellSessions();
    let out = '';
    let exited: (code: number | null) => void = () => undefined;
    const exit = new Promise<number | null>((r) => (exited = r));
    const id = shells.open(spec(dir), 1, 'process003', 120, 30, {
      data: (d) => (out += d),
      exit: (code) => exited(code),
    });
    shells.input(
      id,
      'echo "V=$JOB_SETTING G=$CUDA_VISIBLE_DEVICES P=$PRS_PROCESS_NAME D=$(pwd)"; ' +
        'which python3; python3 -c \'import azureml_user.parallel_run; print("AZ=" + "ok")\'; exit 3\n',
    );
    expect(await exit).toBe(3);
    expect(out).toContain(`V=from-the-spec G=1 P=process003 D=${dir}`);
    // The job's interpreter comes first, whatever ~/.bashrc puts on PATH.
    expect(out).toMatch(/^\/usr\/bin\/python3\r?$/m);
    expect(out).toContain('AZ=ok');
  });
});

describe('Shell here: python', () => {
  it("is the job's interpreter as `python` too, whatever else is on PATH", async () => {
    const dir = tempDir();
    const out = await runShell(
      new ShellSessions({ tmpDir: tempDir() }),
      spec(dir),
      'python -c \'import sys; print("EXE=" + sys.executable)\'; exit\n',
    );
    expect(out).toMatch(/^EXE=\/usr\/bin\/python3\r?$/m);
  });

  it("is python3 on the worker's PATH when the spec names no interpreter", async () => {
    const dir = tempDir();
    const { python: _omit, ...noPython } = spec(dir);
    void _omit;
    const out = await runShell(
      new ShellSessions({ tmpDir: tempDir() }),
      noPython,
      'echo "P3=$(command -v python3)"; python -c \'import sys, os; print("SAME=" + str(os.path.realpath(sys.executable)))\'; python3 -c \'import sys, os; print("SAME=" + str(os.path.realpath(sys.executable)))\'; exit\n',
    );
    const same = [...out.matchAll(/^SAME=(.*?)\r?$/gm)].map((m) => m[1]);
    expect(same).toHaveLength(2);
    expect(same[0]).toBe(same[1]);
  });
});

/** Runs a shell for `spec`, types `input`, and resolves with its output once it exits. */
function runShell(shells: ShellSessions, s: JobSpec, input: string): Promise<string> {
  let out = '';
  return new Promise((resolve) => {
    const id = shells.open(s, null, 'process000', 200, 30, {
      data: (d) => (out += d),
      exit: () => resolve(out),
    });
    shells.input(id, input);
  });
}

describe('Shell here with hostile values', () => {
  it('pastes no spec value into the rc file: a $(...) in the interpreter path stays text', async () => {
    const dir = tempDir();
    // A real interpreter behind a path that is also a command substitution.
    const evilBin = path.join(dir, 'x$(touch pwned)', 'bin');
    mkdirSync(evilBin, { recursive: true });
    symlinkSync('/usr/bin/python3', path.join(evilBin, 'python3'));
    const rcTmp = tempDir();
    const shells = new ShellSessions({ tmpDir: rcTmp });
    const out = await runShell(
      shells,
      { ...spec(dir), python: path.join(evilBin, 'python3') },
      'echo "FIRST=$(command -v python3)"; exit\n',
    );
    expect(existsSync(path.join(dir, 'pwned'))).toBe(false);
    expect(out).toContain(`(python: ${path.join(evilBin, 'python3')})`);
    expect(out).toContain(`FIRST=${path.join(evilBin, 'python3')}`);
    // The rc file's folder went with the shell.
    expect(readdirSync(rcTmp)).toEqual([]);
  });

  it('removes the rc folder when the host closes the shell', async () => {
    const dir = tempDir();
    const rcTmp = tempDir();
    const shells = new ShellSessions({ tmpDir: rcTmp });
    let out = '';
    let sawBanner: () => void = () => undefined;
    const banner = new Promise<void>((r) => (sawBanner = r));
    const id = shells.open(spec(dir), null, 'process000', 120, 30, {
      data: (d) => {
        out += d;
        if (out.includes('Parallel Run Studio: the environment of process000')) sawBanner();
      },
      exit: () => undefined,
    });
    expect(readdirSync(rcTmp)).toHaveLength(1);
    await banner;
    shells.close(id);
    expect(readdirSync(rcTmp)).toEqual([]);
  });

  it("does not pass on the host's LD_PRELOAD, PYTHONSTARTUP or BASH_ENV", async () => {
    const dir = tempDir();
    const mark = path.join(dir, 'startup-ran');
    writeFileSync(path.join(dir, 'startup.py'), `open(${JSON.stringify(mark)}, "w").write("x")\n`);
    const hostile: Record<string, string> = {
      LD_PRELOAD: '/nonexistent/prs-test-preload.so',
      PYTHONSTARTUP: path.join(dir, 'startup.py'),
      BASH_ENV: path.join(dir, 'startup.py'),
    };
    const saved = Object.fromEntries(Object.keys(hostile).map((k) => [k, process.env[k]]));
    Object.assign(process.env, hostile);
    try {
      const out = await runShell(
        new ShellSessions({ tmpDir: tempDir() }),
        spec(dir),
        'echo "LD=${LD_PRELOAD-unset} PS=${PYTHONSTARTUP-unset} BE=${BASH_ENV-unset}"; python3 -i < /dev/null; exit\n',
      );
      expect(out).toContain('LD=unset PS=unset BE=unset');
      expect(existsSync(mark)).toBe(false);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
